"""The cluster topology (three Kafka brokers, a Spark master and two workers) runs the same jobs
unchanged: HBase holds exactly the clean rows the one rule set makes of the run's input, as the
single-node runs of the e2e and faults tiers do (checked the same way, key by key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import checker
import pytest

from pipeline.manifest import Manifest
from pipeline.settings import Settings

pytestmark = pytest.mark.e2e
ROWS = 10_000
RUN_SECONDS = 900  # bound on each run


def settings_on(stack, test_output: Path, name: str) -> Settings:
    """The stack's endpoints (its PIPELINE_* variables, the Spark master with them), this test's
    own paths, topic and table."""
    return Settings.from_env(
        stack.as_env(),
        data_root=f"{stack.hdfs_url}/{name}",
        output_dir=test_output / name,
        topic=f"customer_orders_{name}",
        hbase_table=f"customer_orders_{name}",
        shuffle_partitions=4,
        spark_driver_memory="2g",
        load_path="bulk",
    )


def pipeline_run(settings: Settings, log: Path) -> Manifest:
    """`pipeline run` in its own process: its own SparkContext, on the settings' master."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "run", "--rows", str(ROWS), "--seed", "21"],
            env={**os.environ, **settings.as_env()},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=RUN_SECONDS,
        )
    assert done.returncode == 0, log.read_text(errors="replace")[-4000:]
    return Manifest.read(settings.output_dir / "manifest.json")


def completed_apps(web_url: str, timeout: float = 60) -> int:
    """Applications the master has seen finish; waits (bounded) for the master to notice that a
    driver which exited without stopping Spark is gone."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{web_url}/json/", timeout=10) as response:
            done = len(json.load(response).get("completedapps", []))
        if done or time.monotonic() > deadline:
            return done
        time.sleep(1)


def test_the_cluster_run_stores_exactly_the_clean_rows_of_its_input(
    cluster_stack, test_output: Path
) -> None:
    assert cluster_stack.spark_master.startswith("spark://127.0.0.1:")
    assert len(cluster_stack.kafka_bootstrap.split(",")) == 3
    cluster = settings_on(cluster_stack, test_output, "cluster")
    manifest = pipeline_run(cluster, test_output / "cluster" / "run.log")

    assert manifest.status == "succeeded", (manifest.status, manifest.problem)
    assert manifest.reconciliation and all(c["ok"] for c in manifest.reconciliation.values())
    assert manifest.stage("produce").rows_out == manifest.stage("stream_ingest").rows_out > 0
    # The run's jobs ran on the master's workers, not in a local-mode driver.
    assert completed_apps(cluster_stack.spark_web_url) >= 1

    orders = Path(manifest.stage("generate").detail["orders"])
    expected = checker.expected_clean(orders, manifest.stage("bulk_load").rows_in)
    assert manifest.stage("transform").rows_out == len(expected)
    assert manifest.stage("load_hbase").rows_out == len(expected)
    rows = checker.stored(cluster.thrift_host, cluster.thrift_port, cluster.hbase_table)
    checker.assert_stored_exactly(expected, rows)
