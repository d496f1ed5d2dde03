"""Shared fixtures: the tier's output folder, local Spark, and the real services (session-scoped).

A service that cannot start fails the tests that need it; nothing is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs every property 200 times on the same examples every run (derandomize), so a red build
# is reproducible rather than a lucky seed, and a failure prints its @reproduce_failure blob.
# 200, not more: the whole CI must fit in 90 minutes on a slow day (the unit tier took 19 of them
# at 1,000 examples).
# "dev" stays quick and random: that is where new edge cases turn up (pin them with @example).
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

OUTPUT = Path(os.environ.get("PIPELINE_TEST_OUTPUT", "build/test-output/local")).resolve()


@pytest.fixture(scope="session")
def test_output() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def spark(test_output: Path):  # noqa: ANN201 - pyspark imported lazily: unit tier has no JVM
    from pipeline.settings import Settings
    from pipeline.spark_session import build_spark
    from stack.jars import spark_connector_jars

    settings = Settings(
        output_dir=test_output,
        shuffle_partitions=4,
        spark_driver_memory="2g",
        spark_jars=tuple(str(p) for p in spark_connector_jars()),
    )
    session = build_spark(settings, kafka=True)  # its JVM's output: test_output/logs/spark.log
    yield session
    session.stop()


def _stack(
    test_output: Path, name: str, services: tuple[str, ...], topology: str = "single"
) -> Iterator[object]:
    from stack.services import running_stack

    with running_stack(
        test_output / "stack-logs" / name,
        services=services,
        progress=lambda line: print(f"[stack] {line}"),
        topology=topology,
    ) as endpoints:
        yield endpoints


@pytest.fixture(scope="session")
def kafka_service(test_output: Path) -> Iterator[object]:
    yield from _stack(test_output, "kafka", ("kafka",))


@pytest.fixture(scope="session")
def hdfs_service(test_output: Path) -> Iterator[object]:
    yield from _stack(test_output, "hdfs", ("hdfs",))


@pytest.fixture(scope="session")
def hbase_service(test_output: Path) -> Iterator[object]:
    """HBase standalone on its own HDFS, with the Thrift server."""
    yield from _stack(test_output, "hbase", ("hbase",))


@pytest.fixture(scope="session")
def full_stack(test_output: Path) -> Iterator[object]:
    yield from _stack(test_output, "full", ("kafka", "hdfs", "hbase"))


# The two clusters serve one test each: down after it, so that the tests after it do not share
# the two cores with a dozen idle JVMs.
@pytest.fixture
def kafka_cluster(test_output: Path) -> Iterator[object]:
    """Kafka as three KRaft brokers (containers kafka, kafka-2, kafka-3)."""
    yield from _stack(test_output, "kafka-cluster", ("kafka",), topology="cluster")


@pytest.fixture
def cluster_stack(test_output: Path) -> Iterator[object]:
    """The cluster topology: three Kafka brokers, HDFS, HBase + Thrift, a Spark master and two
    workers."""
    yield from _stack(
        test_output, "cluster", ("kafka", "hdfs", "hbase", "spark"), topology="cluster"
    )
