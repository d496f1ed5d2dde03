"""Clean Parquet -> customer segments, with the pure rules of ``pipeline.segments``: RFM + tenure
per customer (whole customers per partition) in Spark; the scaler and k-means for each k of
K_RANGE (seeded) fitted on the driver, on the customers' four features; the k with the best
silhouette kept, its clusters named, and every customer labelled in Spark.

On the driver because the features are tiny (four numbers a customer) and MLlib's KMeans spends
its time scheduling: some 430 Spark jobs for the 12 fits, 26-41 s at 2M orders of 50,000
customers and 20-50 s at any size in the tests, against well under a second for numpy.

Writes ``<run>/segments/customers`` (one row per customer: RFM, cluster, segment),
``<run>/segments/centroids`` (one row per segment, with its centre in the scaled space) and
``<run>/segments/scaler`` (each feature's mean and spread): the centres and the scaler are all it
takes to place another customer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline import segments
from pipeline.settings import Settings

SEED = 20_240_601  # the clustering is seeded: the same orders give the same segments
STARTS = 3
# The fit sees every customer up to this many (about 10 MB on the driver), beyond it a sample of
# this size chosen by a hash of the customer id, so the same customers whatever the input order.
FIT_CUSTOMERS = 250_000
RFM_DDL = ", ".join(f"`{c}` {t}" for c, t in segments.RFM_TYPES.items())
CUSTOMERS_COLUMNS: tuple[str, ...] = tuple(segments.TABLES["segments"])
CENTROID_COLUMNS: tuple[str, ...] = tuple(segments.TABLES["segment_centroids"])


@dataclass(frozen=True)
class SegmentResult:
    k: int
    silhouette: float | None
    silhouettes: dict[int, float | None]
    sizes: dict[str, int]
    customers: int
    clean_customers: int
    reference_day: str


def customers_path(settings: Settings) -> str:
    return f"{settings.segments}/customers"


def centroids_path(settings: Settings) -> str:
    return f"{settings.segments}/centroids"


def scaler_path(settings: Settings) -> str:
    return f"{settings.segments}/scaler"


def _rfm(as_of: dt.date) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    # A customer's orders may straddle Arrow batches: the whole partition at once.
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        frames = list(batches)
        if frames:
            yield segments.customer_rfm(pd.concat(frames, ignore_index=True), as_of)

    return run


def customer_rfm(spark: SparkSession, settings: Settings) -> tuple[DataFrame, dt.date]:
    """Per customer: RFM_COLUMNS; and the reference day."""
    clean = spark.read.parquet(settings.clean).select(
        "CustomerID", "OrderDate", "RegistrationDate", "TotalAmount"
    )
    latest = clean.agg(F.max("OrderDate")).first()[0]
    if latest is None:
        raise segments.SegmentError(f"no clean orders to segment in {settings.clean}")
    as_of = segments.reference_day(latest)
    rfm = clean.repartition(settings.shuffle_partitions, "CustomerID").mapInPandas(
        _rfm(as_of), RFM_DDL
    )
    return rfm, as_of


def fit_sample(rfm: DataFrame, customers: int) -> pd.DataFrame:
    """The customers the fit sees, sorted by id (k-means++ draws by position)."""
    if customers > FIT_CUSTOMERS:
        share = int(FIT_CUSTOMERS / customers * 1_000_000)
        rfm = rfm.where(F.pmod(F.xxhash64("CustomerID"), F.lit(1_000_000)) < share)
    return rfm.toPandas().sort_values("CustomerID", ignore_index=True)


def _label(
    mean: np.ndarray, spread: np.ndarray, centres: np.ndarray
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield batch.assign(
                cluster=segments.assign(batch, mean, spread, centres).astype("int32")
            )

    return run


def run_segment(spark: SparkSession, settings: Settings) -> SegmentResult:
    rfm, as_of = customer_rfm(spark, settings)
    rfm = rfm.cache()
    try:
        customers = rfm.count()
        sample = fit_sample(rfm, customers)
        logs = segments.log_features(sample)
        mean, spread = segments.scaling(logs)
        points = segments.scale(logs, mean, spread)
        ks = [k for k in segments.K_RANGE if k < len(points)]
        fits = segments.fit_clusterings(points, ks, SEED, STARTS)
        silhouettes = {k: s for k, (_, s) in fits.items()}
        k = segments.choose_k(silhouettes)
        # Too few distinct customers to cluster: one segment, around the mean customer.
        centres = fits[k][0].centres if k else np.zeros((1, len(segments.FEATURES)))
        names = segments.name_clusters(centres.tolist())
        labelled = rfm.mapInPandas(_label(mean, spread, centres), f"{RFM_DDL}, `cluster` INT")
        named = labelled.withColumn(
            "segment", F.element_at(F.array(*map(F.lit, names)), F.col("cluster") + 1)
        )
        named.select(*CUSTOMERS_COLUMNS).write.mode("overwrite").parquet(customers_path(settings))
    finally:
        rfm.unpersist()
    scaler = [
        (f, float(m), float(s)) for f, m, s in zip(segments.FEATURES, mean, spread, strict=True)
    ]
    spark.createDataFrame(scaler, "feature STRING, mean DOUBLE, spread DOUBLE").coalesce(
        1
    ).write.mode("overwrite").parquet(scaler_path(settings))
    written = spark.read.parquet(customers_path(settings))
    _centroids(spark, written, names, centres.tolist()).write.mode("overwrite").parquet(
        centroids_path(settings)
    )
    sizes = {r["segment"]: r["n"] for r in written.groupBy("segment").agg(
        F.count(F.lit(1)).alias("n")).collect()}  # fmt: skip
    clean_customers = spark.read.parquet(settings.clean).select("CustomerID").distinct().count()
    return SegmentResult(
        k=k or 1,
        silhouette=silhouettes.get(k) if k else None,
        silhouettes=silhouettes,
        sizes=dict(sorted(sizes.items())),
        customers=written.count(),
        clean_customers=clean_customers,
        reference_day=as_of.isoformat(),
    )


def _centroids(
    spark: SparkSession, customers: DataFrame, names: list[str], centres: list[list[float]]
) -> DataFrame:
    """One row per segment: its size, revenue, mean RFM values and its centre (features)."""
    stats = customers.groupBy("cluster").agg(
        F.count(F.lit(1)).alias("customers"),
        F.sum("monetary_cents").alias("revenue_cents"),
        *[F.avg(m).alias(f"mean_{m}") for m in segments.MEASURES],
    )
    centre_rows = [(i, names[i], *map(float, centre)) for i, centre in enumerate(centres)]
    centre_frame = spark.createDataFrame(
        centre_rows,
        "cluster INT, segment STRING, "
        + ", ".join(f"centre_{f} DOUBLE" for f in segments.FEATURES),
    )
    return centre_frame.join(stats, "cluster", "left").select(*CENTROID_COLUMNS).coalesce(1)
