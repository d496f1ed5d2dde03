"""The DAG's shape, parsed by Airflow itself: one task per step in pipeline.steps.ORDER between
ingest and the manifest, in a chain; retries with backoff only where a step may run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.steps import GATE_OF, ORDER, RETRYABLE

pytestmark = pytest.mark.unit
ORCHESTRATION = Path(__file__).resolve().parents[2] / "orchestration"


@pytest.fixture(scope="module")
def dag(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - airflow imported lazily
    # Airflow writes its config into AIRFLOW_HOME when first imported: not into ~/airflow.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow")))
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ORCHESTRATION))
    assert bag.import_errors == {}
    return bag.dags["ecommerce_pipeline"]


def test_every_step_is_a_task_in_the_path_s_order(dag) -> None:
    chain, task = [], dag.get_task("ingest")
    while True:
        chain.append(task.task_id)
        following = list(task.downstream_list)
        if not following:
            break
        assert len(following) == 1, (task.task_id, following)
        task = following[0]
    assert chain == ["ingest", *ORDER, "manifest"]
    assert {t.task_id for t in dag.tasks} == set(chain)
    for stage, gate in GATE_OF.items():
        assert chain.index(gate) == chain.index(stage) + 1


def test_stages_that_may_run_again_retry_with_backoff_and_gates_do_not(dag) -> None:
    for task in dag.tasks:
        if task.task_id in RETRYABLE:
            assert task.retries == 2 and task.retry_exponential_backoff, task.task_id
        else:
            assert task.retries == 0, task.task_id
    assert set(ORDER) >= RETRYABLE and not set(GATE_OF.values()) & RETRYABLE


def test_the_dag_waits_to_be_triggered_with_validated_parameters(dag) -> None:
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: run when triggered
    assert dag.params["rows"] == 20_000
    with pytest.raises(ValueError):  # Airflow's ParamValidationError: a run is refused
        dag.params.get_param("rows").resolve(0)
    with pytest.raises(ValueError):
        dag.params.get_param("error_rate").resolve(1.5)
    assert dag.params.get_param("error_rate").resolve(None) is None
    assert dag.max_active_runs == 1
