"""Airflow DAG `ecommerce_pipeline`: the run of `pipeline run`, one task per step — ingest, each
stage, the gate on what it wrote, publish — then the manifest as the result. The run id goes
from task to task (XCom); stages that can run again retry with backoff, gates and ingest do not.
Every task calls the project's own commands (orchestration.commands); nothing else lives here.

Endpoints come from the PIPELINE_* variables of the Airflow process, as for `pipeline run`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from orchestration import commands
from pipeline.steps import ORDER, RETRYABLE

RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=10), "retry_exponential_backoff": 2.0}

with DAG(
    dag_id="ecommerce_pipeline",
    description="Faker orders -> Kafka + HDFS -> Spark -> gates -> HBase -> dashboard",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "rows": Param(20_000, type="integer", minimum=1),
        "seed": Param(42, type="integer"),
        "error_rate": Param(None, type=["null", "number"], minimum=0, maximum=1),
    },
    tags=["ecommerce"],
) as dag:

    @task(task_id="ingest", retries=0)
    def ingest(params: dict | None = None) -> str:
        assert params is not None
        return commands.ingest(params["rows"], params["seed"], params["error_rate"])

    run = ingest()
    for name in ORDER:
        retries = RETRIES if name in RETRYABLE else {"retries": 0}
        run = task(task_id=name, **retries)(commands.step)(name, run)
    task(task_id="manifest", retries=0)(commands.manifest)(run)
