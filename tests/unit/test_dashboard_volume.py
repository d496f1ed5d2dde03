"""The dashboard-at-volume bench (pipeline.synthetic_aggregates): its synthetic aggregates are what
a run publishes, and the dashboard serves them from memory."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.snapshot import Snapshot
from dashboard.sources import DashboardSource, MemoryAggregateSource
from pipeline import aggregate, segments
from pipeline.bench import to_markdown
from pipeline.synthetic_aggregates import QUARTILE_SEGMENTS, bench_dashboard, build

pytestmark = pytest.mark.unit

ORDERS = 20_000


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return build(ORDERS)


def test_the_aggregates_count_every_order_and_pass_the_publish_check(
    frames: dict[str, pd.DataFrame],
) -> None:
    assert aggregate.check(frames)["orders"] == ORDERS
    assert int(frames["cube"]["orders"].sum()) == ORDERS
    assert frames["customers"]["CustomerID"].is_unique


def test_every_customer_is_in_one_of_four_named_segments(
    frames: dict[str, pd.DataFrame],
) -> None:
    assert set(QUARTILE_SEGMENTS) <= set(segments.SEGMENT_NAMES)
    sizes = segments.check_tables(
        {name: frames[name] for name in segments.TABLES}, frames["customers"]["CustomerID"]
    )
    assert set(sizes) == set(QUARTILE_SEGMENTS)
    assert set(frames["cube"][aggregate.SEGMENT]) == set(QUARTILE_SEGMENTS)
    centroids = frames["segment_centroids"].sort_values("cluster")
    revenue = centroids["mean_monetary_cents"].tolist()
    assert revenue == sorted(revenue)  # quartiles, lowest first
    assert (frames["segments"][list(segments.MEASURES)] >= 1).all().all()


def test_the_dashboard_serves_them_from_memory(frames: dict[str, pd.DataFrame]) -> None:
    source = MemoryAggregateSource(frames, run_id="synthetic")
    assert isinstance(source, DashboardSource)
    snapshot = source.aggregates()
    assert isinstance(snapshot, Snapshot)
    assert snapshot is source.aggregates()
    assert snapshot.orders == ORDERS
    assert set(snapshot.vocabulary.segments) == set(QUARTILE_SEGMENTS)
    assert source.customer_orders("C5-000001").empty


def test_the_bench_measures_the_page_and_the_summary_without_errors() -> None:
    result = bench_dashboard(5_000, requests=20)
    assert result["orders"] == 5_000
    assert result["cube_rows"] > 0 and result["customers"] > 0
    assert sum(result["segments"].values()) == result["customers"]
    for name in ("page", "api_summary"):
        measured = result[name]
        assert measured["errors"] == 0
        assert measured["orders"] == 5_000
        assert 0 < measured["p50_ms"] <= measured["p95_ms"] <= measured["p99_ms"]
    report = to_markdown(
        {
            "command": "nox -s bench -- --no-stack",
            "machine": {"cores": 2},
            "generator": {"generator_rows_per_s": 1, "naive_faker_rows_per_s": 1, "ratio": 1.0},
            "cleaner": {"rows_per_s": 1},
            "dashboard_volume": result,
        }
    )
    assert "dashboard at 5,000 synthetic orders" in report
    assert f"dashboard api_summary: p50 {result['api_summary']['p50_ms']} ms" in report
