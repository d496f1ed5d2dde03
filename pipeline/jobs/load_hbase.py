"""Clean Parquet -> HBase customer_orders, by one of two paths.

- thrift: Spark partitions send `mutateRows` batches through the region server's write path
  (WAL, memstore, flushes): any size, and the path for small or incremental loads.
- bulk: Spark writes the rows as sorted cell lines, HBase's own tool turns them into HFiles and
  hands those to the region servers, past the write path: the path for big loads.

Both write the same keys and cells (pipeline.hbase_codec), at the run's timestamp when given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession

from pipeline import hbase_lines
from pipeline.adapters import hadoop_fs, hbase_bulk, hbase_table
from pipeline.hbase_codec import SALT_BUCKETS
from pipeline.settings import LOAD_PATHS, Settings
from pipeline.spark_session import ARROW_BATCH_ROWS, scoped_conf

LOAD_SPLIT_BYTES = 8 * 2**20


def bulk_unavailable(settings: Settings) -> str | None:
    """Why the bulk load cannot run with these settings, or None."""
    if not settings.hbase_container:
        return (
            "the bulk load runs in the HBase container: set PIPELINE_HBASE_CONTAINER "
            "(`pipeline stack up` prints it)"
        )
    if settings.data_root.startswith("file:"):
        return "the bulk load reads the run's files from HBase's side: put the data on HDFS"
    return None


def choose_path(settings: Settings, rows: int) -> str:
    """`settings.load_path`; "auto" bulk-loads from `bulk_load_min_rows` rows on, where it can."""
    if settings.load_path not in LOAD_PATHS:
        raise ValueError(f"load path must be one of {LOAD_PATHS}, got {settings.load_path!r}")
    why_not = bulk_unavailable(settings)
    if settings.load_path == "bulk" and why_not:
        raise ValueError(f"{why_not}, or load through Thrift (--load-path thrift)")
    if settings.load_path == "auto":
        return "bulk" if rows >= settings.bulk_load_min_rows and not why_not else "thrift"
    return settings.load_path


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
    # Smaller read splits: more, shorter tasks, so the progress display moves.
    with scoped_conf(spark, "spark.sql.files.maxPartitionBytes", LOAD_SPLIT_BYTES):
        total = clean.mapInPandas(writer, "written LONG").groupBy().sum("written").first()[0]
    return int(total or 0)


# Rows per Arrow batch of cell_lines: its cost per batch (distinct values, escaping) made a
# fifth of the lines job at Spark's default 10k (1M clean rows, local[2]: 17.8 -> 14.7 CPU s).
LINE_BATCH_ROWS = 100_000


def _cell_lines(
    run_id: str | None,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield hbase_lines.cell_lines(batch, run_id)

    return run


def run_bulk_load(
    spark: SparkSession,
    settings: Settings,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> hbase_bulk.BulkLoaded:
    """Clean rows -> cell lines, one sorted file per salt region -> HBase's bulk load. Loading
    twice with the run's timestamp leaves the same cells. With a run id, the tool then counts
    the table's rows of that run (`BulkLoaded.counted`)."""
    hbase_table.ensure_table(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    clean = spark.read.parquet(settings.clean).drop("order_month")
    lines = clean.mapInArrow(_cell_lines(run_id), hbase_lines.LINE_SCHEMA)
    with scoped_conf(spark, ARROW_BATCH_ROWS, LINE_BATCH_ROWS):
        (
            lines.repartition(SALT_BUCKETS, "region")
            .sortWithinPartitions("key")
            .select("line")
            .write.mode("overwrite")
            .text(settings.bulk_lines)
        )
    try:
        return hbase_bulk.bulk_load(
            settings.hbase_container,
            settings.hbase_table,
            settings.bulk_lines,
            settings.bulk_hfiles,
            timestamp if timestamp is not None else int(time.time() * 1000),
            hbase_lines.line_columns(run_id is not None),
            settings.log_dir / "hbase-bulk-load.log",
            count_run=run_id,
        )
    finally:
        hadoop_fs.delete(spark, settings.bulk_staging)
