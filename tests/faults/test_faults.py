"""Runs that are repeated, killed, cut off from their services or fed poison: each test starts a
run, breaks something at a chosen moment, and checks HBase key by key against the clean rows the
rule set makes of the same input (nothing lost, nothing doubled, nothing stale)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import checker
import nemesis
import pytest
from command_process import kill_group
from kafka import KafkaAdminClient

from dashboard.app import create_app
from dashboard.sources import AggregateSource
from pipeline.adapters import hadoop_fs
from pipeline.adapters.hbase_bulk import BulkLoadFailed
from pipeline.adapters.kafka_topic import end_offsets
from pipeline.manifest import Manifest
from pipeline.orders_files import write_orders
from pipeline.run import BULK_SHARE, run_pipeline, run_stage
from pipeline.settings import Settings

pytestmark = pytest.mark.faults
RUN_SECONDS = 600  # bound on any one run in this tier


def stack_settings(stack, test_output: Path, name: str, **extra: object) -> Settings:
    """A fresh output folder: the nemesis watches its manifest, which must be this test's."""
    shutil.rmtree(test_output / name, ignore_errors=True)
    return Settings(
        data_root=f"{stack.hdfs_url}/faults-{name}",
        output_dir=test_output / name,
        kafka_bootstrap=stack.kafka_bootstrap,
        topic=f"orders_{name}",
        thrift_host=stack.thrift_host,
        thrift_port=stack.thrift_port,
        hbase_table=f"orders_{name}",
        shuffle_partitions=4,
        spark_driver_memory="2g",
        spark_jars=stack.spark_jars,
        **extra,  # type: ignore[arg-type]
    )


def orders_of(settings: Settings, manifest: Manifest) -> Path:
    return Path(manifest.stage("generate").detail["orders"])


def assert_exact(settings: Settings, manifest: Manifest) -> None:
    """The run succeeded, its counts reconcile, and HBase holds exactly its clean rows."""
    assert manifest.status == "succeeded", (manifest.status, manifest.problem)
    assert manifest.reconciliation and all(c["ok"] for c in manifest.reconciliation.values())
    bulk = manifest.stage("bulk_load").rows_in
    expected = checker.expected_clean(orders_of(settings, manifest), bulk)
    assert manifest.stage("transform").rows_out == len(expected)
    rows = checker.stored(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    checker.assert_stored_exactly(expected, rows)


def finish(settings: Settings, run_id: str, *stages: str) -> Manifest:
    manifest = None
    for stage in stages:
        manifest = run_stage(stage, settings, run_id, report=print)
    assert manifest is not None
    return manifest


def test_second_and_third_runs_replace_the_first_exactly(full_stack, test_output: Path) -> None:
    settings = stack_settings(full_stack, test_output, "reruns")
    first = run_pipeline(settings, 6_000, seed=5, error_rate=0.05, report=print)
    assert_exact(settings, first)
    before = checker.stored(settings.thrift_host, settings.thrift_port, settings.hbase_table)

    second = run_pipeline(settings, 6_000, seed=5, error_rate=0.05, report=print)
    assert_exact(settings, second)
    again = checker.stored(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    assert again == before, "the same seed must give the same HBase content"

    third = run_pipeline(settings, 5_000, seed=6, error_rate=0.05, report=print)
    assert_exact(settings, third)
    assert third.stage("retire_previous").detail["removed_rows"] > 0

    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    summary = create_app(source).test_client().get("/api/summary").get_json()
    assert summary["run_id"] == third.run_id
    assert summary["kpis"]["orders"] == third.stage("transform").rows_out


def test_stream_killed_mid_stream_then_resumed(full_stack, test_output: Path, spark) -> None:
    settings = stack_settings(full_stack, test_output, "streamkill", stream_max_offsets=1_500)
    log = test_output / "streamkill" / "run.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = nemesis.pipeline_process(
        ["run", "--rows", "40000", "--seed", "8"], settings.as_env(), log
    )
    try:
        nemesis.wait_for(lambda: nemesis.produce_done(settings.output_dir), 300, "produce")
        run_id = nemesis.manifest_of(settings.output_dir)["run_id"]
        commits = f"{settings.for_run(run_id).stream_checkpoint}/commits"
        nemesis.wait_for(
            lambda: hadoop_fs.exists(spark, f"{commits}/2"), 300, "three committed micro-batches"
        )
        kill_group(process)
    finally:
        kill_group(process)
    assert not nemesis.has_stage(settings.output_dir, "stream_ingest"), "killed too late"

    manifest = finish(
        settings, run_id, "stream", "transform", "load", "segment", "aggregate", "publish"
    )
    assert manifest.stage("stream_ingest").rows_out == manifest.stage("produce").rows_out
    assert_exact(settings, manifest)


def test_kafka_restarted_while_producing(full_stack, test_output: Path) -> None:
    settings = stack_settings(full_stack, test_output, "kafkarestart")
    run = nemesis.InThread(
        lambda: run_pipeline(settings, 150_000, seed=9, error_rate=0.0, report=print)
    )
    nemesis.wait_for(
        lambda: nemesis.has_stage(settings.output_dir, "produce"), RUN_SECONDS, "produce starts"
    )
    time.sleep(0.5)
    nemesis.restart_container(full_stack.containers["kafka"])
    manifest = run.result(RUN_SECONDS)
    assert manifest.stage("produce").detail["send_errors"] == 0
    assert_exact(settings, manifest)


def test_a_broker_killed_while_producing_loses_nothing(
    full_stack, kafka_cluster, test_output: Path
) -> None:
    """Three brokers, three copies of each partition, two in sync: SIGKILL the leader of a
    partition while the run produces, and the run still lands every order exactly once."""
    settings = replace(
        stack_settings(full_stack, test_output, "brokerkill"),
        kafka_bootstrap=kafka_cluster.kafka_bootstrap,
    )
    run = nemesis.InThread(
        lambda: run_pipeline(settings, 200_000, seed=10, error_rate=0.0, report=print)
    )
    nemesis.wait_for(
        lambda: nemesis.has_stage(settings.output_dir, "produce"), RUN_SECONDS, "produce starts"
    )
    nemesis.wait_for(
        lambda: sum(end_offsets(settings.kafka_bootstrap, settings.topic).values()) > 20_000,
        RUN_SECONDS,
        "20,000 messages in the topic",
    )
    replicas, leader = topic_layout(settings.kafka_bootstrap, settings.topic)
    nemesis.kill_container(kafka_cluster.containers[broker_container(leader)])
    assert not nemesis.produce_done(settings.output_dir), "killed too late"
    manifest = run.result(RUN_SECONDS)

    assert replicas == [3, 3]
    assert manifest.stage("produce").detail["send_errors"] == 0
    assert manifest.stage("stream_ingest").rows_out == manifest.stage("produce").rows_in
    assert_exact(settings, manifest)


def topic_layout(bootstrap: str, topic: str) -> tuple[list[int], int]:
    """The number of replicas of each partition, and the broker leading partition 0."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
    finally:
        admin.close()
    partitions = sorted(described["partitions"], key=lambda p: p["partition_index"])
    return [len(p["replica_nodes"]) for p in partitions], partitions[0]["leader_id"]


def broker_container(node_id: int) -> str:
    return "kafka" if node_id == 1 else f"kafka-{node_id}"


@pytest.mark.parametrize("service", ["thrift", "hbase"])
def test_hbase_side_restarted_mid_load(full_stack, test_output: Path, service: str) -> None:
    settings = stack_settings(full_stack, test_output, f"{service}restart")
    run = nemesis.InThread(
        lambda: run_pipeline(settings, 120_000, seed=10, error_rate=0.02, report=print)
    )
    nemesis.wait_for(
        lambda: nemesis.has_stage(settings.output_dir, "gate_clean"), RUN_SECONDS, "load starts"
    )
    time.sleep(1.0)
    nemesis.restart_container(full_stack.containers[service])
    manifest = run.result(RUN_SECONDS)
    assert_exact(settings, manifest)


def test_hbase_restarted_mid_bulk_load_then_the_load_rerun(
    full_stack, test_output: Path, spark
) -> None:
    hbase = full_stack.containers["hbase"]
    settings = stack_settings(
        full_stack, test_output, "bulkrestart", load_path="bulk", hbase_container=hbase
    )
    run = nemesis.InThread(
        lambda: run_pipeline(settings, 60_000, seed=13, error_rate=0.02, report=print)
    )
    nemesis.wait_for(
        lambda: nemesis.has_stage(settings.output_dir, "gate_clean"), RUN_SECONDS, "the load"
    )
    scoped = settings.for_run(nemesis.manifest_of(settings.output_dir)["run_id"])
    # The tool's first HFile: it is writing HFiles, and hands them over seconds later.
    nemesis.wait_for(
        lambda: hadoop_fs.exists(spark, scoped.bulk_hfiles), RUN_SECONDS, "the first HFile"
    )
    nemesis.restart_container(hbase)
    with pytest.raises(BulkLoadFailed, match="exited"):
        run.result(RUN_SECONDS)
    run_id = nemesis.manifest_of(settings.output_dir)["run_id"]

    manifest = finish(settings, run_id, "load", "segment", "aggregate", "publish")
    assert manifest.stage("load_hbase").detail["path"] == "bulk"
    assert_exact(settings, manifest)


def test_transform_killed_mid_write_keeps_the_last_output(
    full_stack, test_output: Path, spark
) -> None:
    settings = stack_settings(full_stack, test_output, "transformkill")
    first = run_pipeline(settings, 30_000, seed=12, error_rate=0.05, report=print)
    assert_exact(settings, first)
    scoped = settings.for_run(first.run_id)
    clean_before = spark.read.parquet(scoped.clean).count()

    log = test_output / "transformkill" / "transform.log"
    process = nemesis.pipeline_process(["transform", "--run", first.run_id], settings.as_env(), log)
    try:
        nemesis.wait_for(
            lambda: hadoop_fs.exists(spark, f"{scoped.transform_staging}/clean"),
            300,
            "the transform writing its staging output",
        )
        kill_group(process)
    finally:
        kill_group(process)

    assert spark.read.parquet(scoped.clean).count() == clean_before
    manifest = finish(
        settings, first.run_id, "transform", "load", "segment", "aggregate", "publish"
    )
    assert_exact(settings, manifest)


POISON_ROW_KEY = "k" * 40_000


def test_poison_is_quarantined_and_the_next_run_is_green(full_stack, test_output: Path) -> None:
    settings = stack_settings(full_stack, test_output, "poison")
    generated = write_orders(4_000, seed=13, error_rate=0.05, output=test_output / "poison-in")
    orders = generated.orders_path
    lines = orders.read_bytes().splitlines()
    record = json.loads(lines[0])
    poison = [
        b"\xff\xfe not utf-8 \xc3\x28",
        json.dumps({**record, "ShippingAddress": "x" * 3_000_000, "row_key": "huge"}).encode(),
        json.dumps({**record, "row_key": POISON_ROW_KEY}).encode(),
    ]
    mixed = test_output / "poison-in" / "mixed.jsonl"
    # The poison goes last: in the streamed part (the bulk part is the first 40 % of lines).
    mixed.write_bytes(b"\n".join([*lines, *poison]) + b"\n")
    assert round((len(lines) + 3) * BULK_SHARE) < len(lines)

    manifest = run_pipeline(settings, 4_000, seed=13, error_rate=0.05, input_path=mixed)
    reasons = manifest.stage("transform").detail["quarantined_by_reason"]
    assert reasons["invalid_utf8"] == 1
    assert reasons["message_too_large"] == 1
    assert reasons["row_key_too_long"] == 1
    assert manifest.stage("produce").detail["rejected"] == 1
    assert_exact(settings, manifest)

    following = run_pipeline(settings, 3_000, seed=14, error_rate=0.05)
    assert_exact(settings, following)
