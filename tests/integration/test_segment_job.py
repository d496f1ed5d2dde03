"""The segmentation job on local Spark: planted groups of customers are found again, the same
orders give the same segments, and a handful of customers still gets one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import comb

from pipeline import segments
from pipeline.jobs import segment as segment_job
from pipeline.jobs.segment import centroids_path, customers_path, run_segment, scaler_path
from pipeline.settings import Settings

pytestmark = pytest.mark.integration
LATEST = dt.date(2025, 6, 30)

# Planted groups: (days since the last order, orders, amount per order, days of tenure), ranges.
GROUPS = {
    "champions": ((1, 10), (25, 40), (200, 400), (900, 1100)),
    "hibernating": ((300, 420), (1, 3), (10, 30), (900, 1200)),
    "new": ((1, 12), (1, 2), (20, 60), (15, 45)),
    "at risk": ((180, 260), (15, 25), (150, 300), (900, 1100)),
}


def planted(customers_per_group: int, seed: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """Clean-like orders of customers in GROUPS, and each customer's planted group."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for group, (recency, count, amount, tenure) in GROUPS.items():
        for i in range(customers_per_group):
            customer = f"{group[:3]}-{i}"
            truth[customer] = group
            last = LATEST - dt.timedelta(days=int(rng.integers(*recency)))
            registered = LATEST - dt.timedelta(days=int(rng.integers(*tenure)))
            orders = int(rng.integers(*count))
            for n in range(orders):
                back = 0 if n == 0 else int(rng.integers(0, max(1, (last - registered).days)))
                total = round(float(rng.uniform(*amount)), 2)
                rows.append((customer, last - dt.timedelta(days=back), registered, total))
    frame = pd.DataFrame(
        rows, columns=["CustomerID", "OrderDate", "RegistrationDate", "TotalAmount"]
    )
    return frame, truth


def adjusted_rand_index(a: list[str], b: list[str]) -> float:
    """How far two labelings of the same items agree beyond chance (1: the same partition)."""
    table = pd.crosstab(pd.Series(a), pd.Series(b)).to_numpy()
    pairs = comb(table, 2).sum()
    rows, cols = comb(table.sum(axis=1), 2).sum(), comb(table.sum(axis=0), 2).sum()
    expected = rows * cols / comb(table.sum(), 2)
    return float((pairs - expected) / ((rows + cols) / 2 - expected))


def settings_at(tmp_path: Path) -> Settings:
    return Settings(data_root=tmp_path.as_uri(), output_dir=tmp_path, shuffle_partitions=3)


def write_clean(spark, frame: pd.DataFrame, settings: Settings) -> None:
    ddl = "CustomerID STRING, OrderDate DATE, RegistrationDate DATE, TotalAmount DOUBLE"
    spark.createDataFrame(frame, ddl).repartition(4).write.parquet(settings.clean)


def test_planted_groups_are_found_and_named_the_same_twice(spark, tmp_path: Path) -> None:
    frame, truth = planted(120, seed=11)
    settings = settings_at(tmp_path / "a")
    write_clean(spark, frame, settings)
    result = run_segment(spark, settings)
    found = spark.read.parquet(customers_path(settings)).toPandas().sort_values("CustomerID")

    assert result.k == len(GROUPS) and result.customers == result.clean_customers == len(truth)
    ari = adjusted_rand_index([truth[c] for c in found["CustomerID"]], list(found["segment"]))
    assert ari >= 0.9, (ari, result)
    assert result.silhouette == max(s for s in result.silhouettes.values() if s is not None)
    assert sum(result.sizes.values()) == len(truth)
    # The planted champions, new and hibernating customers get those names.
    named = found.assign(truth=found["CustomerID"].map(truth))
    for group in ("champions", "new", "hibernating"):
        assert named.loc[named["truth"] == group, "segment"].mode()[0] == group
    centroids = spark.read.parquet(centroids_path(settings)).toPandas()
    assert dict(zip(centroids["segment"], centroids["customers"], strict=True)) == result.sizes
    assert (tmp_path / "a" / "runs").exists() is False  # flat layout: no run id
    # The scaler and the published centres place every customer: each is in its nearest centre.
    scaler = spark.read.parquet(scaler_path(settings)).toPandas().set_index("feature")
    assert list(scaler.index) == list(segments.FEATURES)
    centres = centroids.sort_values("cluster")[[f"centre_{f}" for f in segments.FEATURES]]
    placed = segments.assign(
        found, scaler["mean"].to_numpy(), scaler["spread"].to_numpy(), centres.to_numpy()
    )
    assert placed.tolist() == found["cluster"].tolist()

    again = settings_at(tmp_path / "b")
    write_clean(spark, frame.sample(frac=1, random_state=3), again)
    second = run_segment(spark, again)
    repeat = spark.read.parquet(customers_path(again)).toPandas().sort_values("CustomerID")
    assert (second.k, second.sizes) == (result.k, result.sizes)
    assert list(repeat["segment"]) == list(found["segment"])


def test_two_customers_are_one_segment(spark, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "CustomerID": ["a", "b", "a"],
            "OrderDate": [dt.date(2025, 1, 2), dt.date(2025, 1, 3), dt.date(2024, 5, 1)],
            "RegistrationDate": [dt.date(2024, 1, 1)] * 3,
            "TotalAmount": [10.0, 20.0, 5.5],
        }
    )
    settings = settings_at(tmp_path)
    write_clean(spark, frame, settings)
    result = run_segment(spark, settings)
    assert (result.k, result.silhouette, result.sizes) == (1, None, {"all customers": 2})
    rows = spark.read.parquet(customers_path(settings)).toPandas().sort_values("CustomerID")
    assert rows[["CustomerID", "recency_days", "frequency", "monetary_cents"]].values.tolist() == [
        ["a", 2, 2, 1550],
        ["b", 1, 1, 2000],
    ]


def test_beyond_the_fit_size_a_hashed_sample_is_fitted_and_every_customer_labelled(
    spark, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(segment_job, "FIT_CUSTOMERS", 200)
    frame, truth = planted(120, seed=11)  # 480 customers
    settings = settings_at(tmp_path)
    write_clean(spark, frame, settings)
    sample = segment_job.fit_sample(segment_job.customer_rfm(spark, settings)[0], len(truth))
    assert 100 < len(sample) < 300 and sample["CustomerID"].is_monotonic_increasing
    result = run_segment(spark, settings)
    found = spark.read.parquet(customers_path(settings)).toPandas()
    assert result.k == len(GROUPS) and result.customers == len(truth) == len(found)
    ari = adjusted_rand_index([truth[c] for c in found["CustomerID"]], list(found["segment"]))
    assert ari >= 0.9, (ari, result)
