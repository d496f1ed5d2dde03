"""Clean Parquet -> HBase customer_orders, written from Spark partitions in happybase batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import SparkSession

from pipeline.adapters import hbase_table
from pipeline.settings import Settings


def write_partitions(
    host: str, port: int, table: str
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            written = hbase_table.put_records(host, port, table, batch.to_dict("records"))
            yield pd.DataFrame({"written": [written]})

    return run


def run_load(spark: SparkSession, settings: Settings) -> int:
    """Returns rows written; keys come from the data, so loading twice leaves the same rows."""
    hbase_table.ensure_table(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    clean = spark.read.parquet(settings.clean)
    writer = write_partitions(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    total = clean.mapInPandas(writer, "written LONG").groupBy().sum("written").first()[0]
    return int(total or 0)
