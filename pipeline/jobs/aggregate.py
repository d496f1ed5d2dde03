"""Clean Parquet -> the dashboard's aggregates as Parquet, with the pure partials of
``pipeline.aggregate`` run per Spark partition and summed by their keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline import aggregate
from pipeline.adapters.hadoop_fs import exists
from pipeline.jobs.segment import customers_path
from pipeline.settings import Settings
from pipeline.spark_session import ARROW_BATCH_ROWS, scoped_conf

# Rows per batch of the partials: a batch of 100k rows collapses to far fewer aggregate rows than
# Spark's default 10k, and pays pandas' fixed cost per group-by a tenth as often (1M clean rows,
# local[2]: 47 -> 33 CPU seconds).
PARTIAL_BATCH_ROWS = 100_000


def aggregate_path(settings: Settings, name: str) -> str:
    return f"{settings.aggregates}/{name}"


# Every additive partial of a batch in one frame: the union of their keys (null where a key is not
# the aggregate's), the measures, and which aggregate a row belongs to. One pass over the clean rows
# feeds all of them.
UNION_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(k for spec in aggregate.ADDITIVE.values() for k in spec.keys)
)
UNION_DDL = ", ".join(
    ["`aggregate` STRING"]
    + [f"`{c}` {aggregate.column_types('ages').get(c, 'STRING')}" for c in UNION_KEYS]
    + [f"`{m}` BIGINT" for m in aggregate.MEASURES]
)


def union_partials(batch: pd.DataFrame) -> pd.DataFrame:
    """All additive partials of one batch, stacked in the union layout."""
    parts = []
    for name, part in aggregate.partials(batch).items():
        wide = part.reindex(columns=[*UNION_KEYS, *aggregate.MEASURES])
        wide["Age"] = wide["Age"].astype("Int32")
        for m in aggregate.MEASURES:
            wide[m] = wide[m].fillna(0).astype("int64")
        parts.append(wide.assign(aggregate=name))
    return pd.concat(parts, ignore_index=True)[["aggregate", *UNION_KEYS, *aggregate.MEASURES]]


def _union_partials(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        yield union_partials(batch)


def _packed(
    layout: aggregate.Layout,
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    # A customer's cells may straddle Arrow batches: pack the whole partition at once.
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = list(batches)
        if frames:
            yield aggregate.pack_customers(pd.concat(frames, ignore_index=True), layout)

    return run


def additive(clean: DataFrame) -> DataFrame:
    """``partial`` per batch for every additive aggregate, then the partials summed by the keys.

    Only the columns the partials read cross to Python, in batches of ``PARTIAL_BATCH_ROWS``."""
    partials = clean.select(*aggregate.input_columns(), aggregate.SEGMENT).mapInPandas(
        _union_partials, UNION_DDL
    )
    sums = [F.sum(m).cast("bigint").alias(m) for m in aggregate.MEASURES]
    return partials.groupBy("aggregate", *UNION_KEYS).agg(*sums)


def one(summed: DataFrame, name: str) -> DataFrame:
    """One aggregate's rows and columns out of ``additive``."""
    spec = aggregate.ADDITIVE[name]
    return summed.filter(F.col("aggregate") == name).select(*spec.columns)


def with_segments(spark: SparkSession, settings: Settings, clean: DataFrame) -> DataFrame:
    """Clean rows with their customer's segment (NO_SEGMENT when the run has none)."""
    path = customers_path(settings)
    if not exists(spark, path):
        return clean.withColumn(aggregate.SEGMENT, F.lit(aggregate.NO_SEGMENT))
    segments = spark.read.parquet(path).select(
        "CustomerID", F.col("segment").alias(aggregate.SEGMENT)
    )
    return clean.join(segments, "CustomerID", "left").fillna(
        aggregate.NO_SEGMENT, subset=[aggregate.SEGMENT]
    )


def run_aggregate(spark: SparkSession, settings: Settings) -> dict[str, int]:
    """Writes every published aggregate under ``<run_root>/aggregates/<name>`` (overwrite);
    returns the rows of each."""
    clean = with_segments(spark, settings, spark.read.parquet(settings.clean))
    counts: dict[str, int] = {}

    def write(name: str, frame: DataFrame) -> None:
        frame.write.mode("overwrite").parquet(aggregate_path(settings, name))
        counts[name] = spark.read.parquet(aggregate_path(settings, name)).count()

    summed = additive(clean).cache()
    try:
        with scoped_conf(spark, ARROW_BATCH_ROWS, PARTIAL_BATCH_ROWS):
            for name in ("cube", "ages", "products"):
                write(name, one(summed, name).coalesce(1))
            cells = one(summed, "customer_cells")
            months = sorted(r[0] for r in cells.select("month").distinct().collect())
            categories = sorted(r[0] for r in cells.select("Category").distinct().collect())
            layout = aggregate.Layout(tuple(months), tuple(categories))
            customers = cells.repartition(settings.shuffle_partitions, "CustomerID").mapInPandas(
                _packed(layout), aggregate.ddl("customers")
            )
            write("customers", customers)
    finally:
        summed.unpersist()
    layout_rows = aggregate.layout_frame(layout)
    write("layout", spark.createDataFrame(layout_rows, aggregate.ddl("layout")).coalesce(1))
    return counts
