"""The one place that builds the SparkSession: master, memory, jars, loopback-only driver, and
the JVM's own output kept in the log folder (pipeline.engine_logs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

from pipeline import engine_logs
from pipeline.adapters.hadoop_fs import CLIENT_CONF
from pipeline.settings import Settings

JVM_OPTIONS = "-XX:+UseParallelGC"


def build_spark(
    settings: Settings, app_name: str = "ecommerce-pipeline", kafka: bool = False
) -> SparkSession:
    # Python workers must run the interpreter that has pandas, not whatever python3 is on PATH;
    # pyspark reads PYSPARK_PYTHON when it creates the context (the conf alone is not enough).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    # Else Spark looks up this host's first interface address, and says so on the console.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.executor.memory", "1g")  # on spark://: each worker of the stack offers 2g
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # The throughput collector: on two cores G1's concurrent work and barriers cost more than
        # its pauses save. 1M rows, local[2], fresh processes taking turns: transform, clean gate,
        # segment and aggregate 77.6-79.8 s against 80.0-87.6 s with G1, Java 17's default; the
        # 6M bench: those four 218.8 -> 205.8 s.
        .config("spark.driver.extraJavaOptions", JVM_OPTIONS)
        .config("spark.executor.extraJavaOptions", JVM_OPTIONS)
    )
    for key, value in CLIENT_CONF.items():
        builder = builder.config(f"spark.hadoop.{key}", value)
    if kafka:
        if not settings.spark_jars:
            raise RuntimeError(
                "Spark's Kafka connector jars are not set: `pipeline stack up` exports "
                "PIPELINE_SPARK_JARS, `pipeline stack prepare` prints it"
            )
        builder = builder.config("spark.jars", ",".join(settings.spark_jars))
    with engine_logs.child_output(settings.log_dir / "spark.log"):
        spark = builder.getOrCreate()
    # The Kafka source's V1 implementation: the V2 one in Spark 4.1.1 fails with a
    # NullPointerException in KafkaMicroBatchStream.metrics when a query restarts and replays an
    # uncommitted micro-batch (SPARK-55271), i.e. exactly when a killed stream is resumed.
    spark.conf.set(
        "spark.sql.streaming.disabledV2MicroBatchReaders",
        "org.apache.spark.sql.kafka010.KafkaSourceProvider",
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


# Rows per Arrow batch handed to Python (Spark's default is 10,000): larger for a batch function
# with a fixed cost per call, such as a pandas group-by.
ARROW_BATCH_ROWS = "spark.sql.execution.arrow.maxRecordsPerBatch"


@contextmanager
def scoped_conf(spark: SparkSession, key: str, value: object) -> Iterator[None]:
    """`key` set to `value` for the jobs run inside, then back to what it was."""
    before = spark.conf.get(key, None)
    spark.conf.set(key, str(value))
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)
