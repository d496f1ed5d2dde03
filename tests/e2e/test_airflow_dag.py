"""The Airflow DAG runs the pipeline on the stack: `airflow dags test` (SQLite metadata), every
task succeeds, and the run it leaves reconciles exactly as `pipeline run`'s does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.manifest import Manifest
from pipeline.run import rows_in_table
from pipeline.settings import Settings
from pipeline.steps import ORDER

pytestmark = pytest.mark.e2e
ROWS = 5_000
DAG_SECONDS = 1_200  # bound on the whole DAG run
AIRFLOW = Path(sys.executable).with_name("airflow")
ORCHESTRATION = Path(__file__).resolve().parents[2] / "orchestration"


def airflow_env(home: Path, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **settings.as_env(),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ORCHESTRATION),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }


def test_the_dag_runs_every_step_as_a_task_and_the_run_reconciles(
    full_stack, test_output: Path
) -> None:
    settings = Settings.from_env(
        full_stack.as_env(),
        data_root=f"{full_stack.hdfs_url}/airflow",
        output_dir=test_output / "airflow-run",
        topic="customer_orders_airflow",
        hbase_table="customer_orders_airflow",
        shuffle_partitions=4,
        spark_driver_memory="2g",
    )
    home = test_output / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env, log = airflow_env(home, settings), test_output / "airflow-dags-test.log"
    subprocess.run(
        [AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    conf = json.dumps({"rows": ROWS, "seed": 12, "error_rate": 0.05})
    with log.open("wb") as out:
        done = subprocess.run(
            [AIRFLOW, "dags", "test", "ecommerce_pipeline", "-c", conf],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=DAG_SECONDS,
        )
    text = log.read_text(errors="replace")
    assert done.returncode == 0, text[-4000:]

    manifest = Manifest.read(settings.output_dir / "manifest.json")
    assert manifest.status == "succeeded", (manifest.status, manifest.problem)
    assert manifest.reconciliation and all(c["ok"] for c in manifest.reconciliation.values())
    assert [g["dataset"] for g in manifest.gates] == [
        "raw", "clean", "quarantine", "load", "segments",
    ]  # fmt: skip
    assert all(g["success"] for g in manifest.gates)
    assert [s.name for s in manifest.stages] == [
        "generate", "bulk_load", "produce", "stream_ingest", "gate_raw", "transform",
        "gate_clean", "load_hbase", "segment", "aggregate", "publish", "retire_previous",
    ]  # fmt: skip
    assert manifest.stage("generate").rows_in == ROWS
    clean = manifest.stage("transform").rows_out
    assert 0 < clean <= manifest.stage("transform").rows_in
    assert rows_in_table(settings, manifest.run_id) == clean
    # Each step ran as its own task, in order, and succeeded (the DAG test's own log lines).
    for task in ("ingest", *ORDER, "manifest"):
        assert f"ecommerce_pipeline.{task} " in text, task
    assert "state=success" in text or "DagRun Finished" in text
