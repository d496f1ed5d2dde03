"""The cluster topology (three Kafka brokers, a Spark master and two workers) runs the same jobs
unchanged: the same input gives the same exact counts and the same HBase rows as local[2] on the
single-node stack."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline import hbase_codec
from pipeline.adapters import hbase_table
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


def stored(settings: Settings) -> dict[bytes, dict]:
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        table = connection.table(settings.hbase_table)
        return {key: hbase_codec.decode(cells) for key, cells in table.scan(batch_size=5_000)}
    finally:
        connection.close()


def same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-12)
    return a == b


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


def test_the_cluster_gives_the_single_node_run_s_counts_and_rows(
    cluster_stack, full_stack, test_output: Path
) -> None:
    assert cluster_stack.spark_master.startswith("spark://127.0.0.1:")
    assert len(cluster_stack.kafka_bootstrap.split(",")) == 3
    local = settings_on(full_stack, test_output, "single")
    cluster = settings_on(cluster_stack, test_output, "cluster")

    single_run = pipeline_run(local, test_output / "single" / "run.log")
    cluster_run = pipeline_run(cluster, test_output / "cluster" / "run.log")

    for manifest in (single_run, cluster_run):
        assert manifest.status == "succeeded", (manifest.status, manifest.problem)
        assert all(check["ok"] for check in manifest.reconciliation.values())
    counts = {s.name: (s.rows_in, s.rows_out) for s in single_run.stages}
    assert {s.name: (s.rows_in, s.rows_out) for s in cluster_run.stages} == counts
    assert (
        cluster_run.stage("transform").detail["quarantined_by_reason"]
        == (single_run.stage("transform").detail["quarantined_by_reason"])
    )
    # The cluster run's jobs ran on the master's workers, not in a local-mode driver.
    assert completed_apps(cluster_stack.spark_web_url) >= 1

    here, there = stored(local), stored(cluster)
    assert len(here) == single_run.stage("load_hbase").rows_out
    assert here.keys() == there.keys()
    for key, row in here.items():
        other = there[key]
        assert row.keys() == other.keys(), key
        assert all(same_value(row[c], other[c]) for c in row), (key, row, other)
