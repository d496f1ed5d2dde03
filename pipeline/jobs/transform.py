"""HDFS raw -> clean Parquet + quarantine Parquet, through the pure rule set in pipeline.clean."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.adapters.raw_store import read_raw
from pipeline.clean import DEFAULT_AGE_MEDIAN, CleanStats, clean_batch, parse_lines, stat_inputs
from pipeline.schema import CLEAN_COLUMNS, CLEAN_TYPES, FIELDS
from pipeline.settings import Settings

QUARANTINE_FIELDS = tuple(f"q_{name}" for name in FIELDS)
STAGED_DDL = ", ".join(
    ["`kind` STRING"]
    + [f"`{c}` {t}" for c, t in CLEAN_TYPES.items()]
    + [f"`{c}` STRING" for c in (*QUARANTINE_FIELDS, "raw", "reason")]
)
STAGED_COLUMNS = ("kind", *CLEAN_COLUMNS, *QUARANTINE_FIELDS, "raw", "reason")


ROWS_PER_PARTITION = 250_000  # one partition is one pandas batch: bound its memory


@dataclass(frozen=True)
class TransformCounts:
    raw: int
    clean: int
    quarantined: int
    duplicates: int
    stats: CleanStats
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)


def compute_stats(raw: DataFrame) -> tuple[CleanStats, int]:
    """The cleaner's global statistics, from the same parsing rules, plus the row count."""

    def inputs(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield stat_inputs(parse_lines(batch["value"]))[["Age", "TotalAmount"]].astype("float64")

    row = (
        raw.mapInPandas(inputs, "Age DOUBLE, TotalAmount DOUBLE")
        .agg(
            F.median("Age").alias("age"),
            F.min("TotalAmount").alias("lo"),
            F.max("TotalAmount").alias("hi"),
            F.count(F.lit(1)).alias("rows"),
        )
        .first()
    )
    stats = CleanStats(
        age_median=float(row["age"]) if row["age"] is not None else DEFAULT_AGE_MEDIAN,
        total_min=float(row["lo"]) if row["lo"] is not None else 0.0,
        total_max=float(row["hi"]) if row["hi"] is not None else 0.0,
    )
    return stats, int(row["rows"])


def _blank(columns: tuple[str, ...], rows: int) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([None] * rows, dtype="object") for c in columns})


def staged_batches(stats: CleanStats) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """Each partition -> clean, quarantine and duplicate rows in one shape (STAGED_DDL)."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            result = clean_batch(parse_lines(batch["value"]), stats)
            clean = result.clean.reset_index(drop=True)
            clean = pd.concat(
                [clean, _blank((*QUARANTINE_FIELDS, "raw", "reason"), len(clean))], axis=1
            )
            clean.insert(0, "kind", "clean")
            quarantine = result.quarantine.reset_index(drop=True).rename(
                columns=dict(zip(FIELDS, QUARANTINE_FIELDS, strict=True))
            )
            quarantine = pd.concat([_blank(CLEAN_COLUMNS, len(quarantine)), quarantine], axis=1)
            quarantine.insert(0, "kind", "quarantine")
            duplicates = _blank(STAGED_COLUMNS, result.duplicates)
            duplicates["kind"] = "duplicate"
            for frame in (clean, quarantine, duplicates):
                if len(frame):
                    yield frame[list(STAGED_COLUMNS)]

    return run


def run_transform(spark: SparkSession, settings: Settings) -> TransformCounts:
    raw = read_raw(spark, settings)
    stats, rows = compute_stats(raw)
    partitions = max(settings.shuffle_partitions, math.ceil(rows / ROWS_PER_PARTITION))
    # All copies of a row_key meet in one partition, and a partition is one Arrow batch, so the
    # cleaner's own duplicate rule sees them together.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "0")
    by_key = raw.repartition(partitions, F.get_json_object("value", "$.row_key"))
    staged = by_key.mapInPandas(staged_batches(stats), STAGED_DDL).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        tally = staged.groupBy("kind", "reason").count().collect()
        clean = staged.filter("kind = 'clean'").select(*CLEAN_COLUMNS)
        (
            clean.withColumn("order_month", F.date_format("OrderDate", "yyyy-MM"))
            .repartition("order_month")  # one file per month, not one per task and month
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "static")  # a run replaces the whole output
            .partitionBy("order_month")
            .parquet(settings.clean)
        )
        quarantine = staged.filter("kind = 'quarantine'").select(
            *[F.col(q).alias(f) for q, f in zip(QUARANTINE_FIELDS, FIELDS, strict=True)],
            "raw",
            "reason",
        )
        quarantine.write.mode("overwrite").parquet(settings.quarantine)
    finally:
        staged.unpersist()
    kinds: dict[str, int] = {}
    for row in tally:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + row["count"]
    return TransformCounts(
        raw=sum(kinds.values()),
        clean=kinds.get("clean", 0),
        quarantined=kinds.get("quarantine", 0),
        duplicates=kinds.get("duplicate", 0),
        stats=stats,
        quarantined_by_reason={r["reason"]: r["count"] for r in tally if r["kind"] == "quarantine"},
    )
