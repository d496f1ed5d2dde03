"""Clean Parquet -> HBase customer_orders, written from Spark partitions in Thrift batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import SparkSession

from pipeline.adapters import hbase_table
from pipeline.settings import Settings

LOAD_SPLIT_BYTES = 8 * 2**20


def write_partitions(
    host: str, port: int, table: str, timestamp: int | None = None, run_id: str | None = None
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        link = hbase_table.Retrying(
            lambda: hbase_table.connect(host, port), hbase_table.RetryPolicy()
        )
        try:
            written = sum(
                hbase_table.put_frame(link, table, batch, timestamp=timestamp, run_id=run_id)
                for batch in batches
            )
        finally:
            link.close()
        yield pd.DataFrame({"written": [written]})

    return run


def run_load(
    spark: SparkSession,
    settings: Settings,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> int:
    """Returns rows written; keys come from the data, so loading twice leaves the same rows
    (and with a run's timestamp, the same cells)."""
    hbase_table.ensure_table(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    clean = spark.read.parquet(settings.clean).drop("order_month")
    writer = write_partitions(
        settings.thrift_host, settings.thrift_port, settings.hbase_table, timestamp, run_id
    )
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    # Smaller read splits: more, shorter tasks, so the progress display moves.
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(LOAD_SPLIT_BYTES))
    try:
        total = clean.mapInPandas(writer, "written LONG").groupBy().sum("written").first()[0]
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    return int(total or 0)
