"""The segments page, /api/segments and the customer page's segment, over segment tables published
into the fake HBase (the clustering itself runs in the integration tier; here the segments are
assigned by a fixed rule)."""

from __future__ import annotations

from unittest.mock import patch

import pandas as pd
import plotly.graph_objects as go
import pytest
from dashboard_data import clean_orders
from hbase_fake import FakeConnection, FakeHBase, FakeTable

from dashboard import AggregateSource, LocalSource, create_app
from dashboard.segment_figures import segment_figures, segment_summary
from pipeline import aggregate, hbase_codec, segments
from pipeline.adapters import hbase_aggregates
from pipeline.settings import Settings

pytestmark = pytest.mark.unit


def segment_tables(orders: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Segment tables as the job writes them, with segments by a fixed rule on frequency."""
    latest = max(orders["OrderDate"])
    rfm = segments.customer_rfm(orders, segments.reference_day(latest))
    rank = rfm["frequency"].rank(method="first", pct=True)
    names = ["hibernating", "loyal", "champions"]
    cluster = (rank * 3).clip(upper=2.999).astype(int)
    customers = rfm.assign(cluster=cluster.astype("int32"), segment=cluster.map(names.__getitem__))
    stats = customers.groupby(["cluster", "segment"], as_index=False).agg(
        customers=("CustomerID", "size"), revenue_cents=("monetary_cents", "sum"),
        **{f"mean_{m}": (m, "mean") for m in segments.MEASURES},
    )  # fmt: skip
    for i, feature in enumerate(segments.FEATURES):
        stats[f"centre_{feature}"] = stats["cluster"] * 0.5 - i
    return {
        "segments": customers[list(segments.TABLES["segments"])],
        "segment_centroids": stats[list(segments.TABLES["segment_centroids"])],
    }


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return clean_orders(rows=800)


@pytest.fixture(scope="module")
def tables(orders: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return segment_tables(orders)


@pytest.fixture
def client(orders: pd.DataFrame, tables: dict[str, pd.DataFrame]):
    store = FakeHBase()
    rows = FakeTable(store, "customer_orders")
    for record in orders.to_dict("records"):
        rows.put(*hbase_codec.encode(record))
    frames = {**aggregate.build_aggregates(segmented(orders, tables)), **tables}
    with (
        patch.object(hbase_aggregates, "connect", lambda host, port: FakeConnection(store)),
        patch.object(hbase_aggregates, "ensure_table", lambda host, port, table: None),
    ):
        hbase_aggregates.publish_aggregates(frames, Settings(), manifest={}, run_id="run-1")
    source = AggregateSource("hbase", 9090, connect=lambda: FakeConnection(store))
    return create_app(source, {"TESTING": True}).test_client()


def segmented(orders: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The orders with their customer's segment, as the aggregate job joins them."""
    names = tables["segments"].set_index("CustomerID")["segment"]
    return orders.assign(Segment=orders["CustomerID"].map(names))


def test_the_segment_filters_every_chart_and_the_kpis(client, orders, tables) -> None:
    rows = segmented(orders, tables)
    theirs = rows[rows["Segment"] == "champions"]
    body = client.get("/api/summary?segment=champions").get_json()
    assert body["kpis"]["orders"] == len(theirs)
    assert body["kpis"]["customers"] == theirs["CustomerID"].nunique()
    assert body["kpis"]["revenue"] == round(float(theirs["TotalAmount"].sum()), 2)
    assert body["ignored_filters"] == {}
    trend = body["charts"]["monthly_by_segment"]["series"]
    assert [s["segment"] for s in trend] == ["champions"]
    everyone = client.get("/api/summary").get_json()["charts"]["monthly_by_segment"]["series"]
    assert {s["segment"] for s in everyone} == {"champions", "hibernating", "loyal"}
    page = client.get("/?segment=champions").get_data(as_text=True)
    assert '<option value="champions" selected>' in page
    refused = client.get("/api/summary?segment=whales")
    assert refused.status_code == 400 and "whales" not in refused.get_data(as_text=True)


def test_the_api_accounts_for_every_customer_and_cent(client, orders: pd.DataFrame) -> None:
    body = client.get("/api/segments").get_json()
    assert body["run_id"] == "run-1"
    listed = body["segments"]
    assert {s["segment"] for s in listed} == {"hibernating", "loyal", "champions"}
    assert sum(s["customers"] for s in listed) == orders["CustomerID"].nunique()
    cents = aggregate.revenue_cents(orders["TotalAmount"]).sum()
    assert round(sum(s["revenue"] for s in listed) * 100) == cents
    assert sum(s["customer_share"] for s in listed) == pytest.approx(1, abs=1e-3)
    assert [s["revenue"] for s in listed] == sorted((s["revenue"] for s in listed), reverse=True)
    for s in listed:
        for measure, qs in s["quantiles"].items():
            assert qs == sorted(qs), measure
            assert qs[0] <= s["means"][measure] <= qs[-1] or qs[0] == qs[-1]


def test_the_page_lists_each_segment_and_draws_its_charts(client) -> None:
    page = client.get("/segments")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("hibernating", "loyal", "champions"):
        assert f'data-segment="{name}"' in html
    for chart in ("shares", "recency_days", "frequency", "monetary", "tenure_days"):
        assert f'id="chart-{chart}"' in html


def test_the_customer_page_names_the_customers_segment(client, tables) -> None:
    row = tables["segments"].iloc[0]
    html = client.get(f"/customer?id={row['CustomerID']}").get_data(as_text=True)
    assert f">{row['segment']}</a>" in html
    assert f"{row['recency_days']} days" in html


def test_a_run_without_segments_says_so(orders: pd.DataFrame) -> None:
    client = create_app(LocalSource(orders), {"TESTING": True}).test_client()
    page = client.get("/segments")
    assert page.status_code == 200 and b'id="no-segments"' in page.data
    assert client.get("/api/segments").get_json()["segments"] == []
    customer = orders["CustomerID"].iloc[0]
    assert b'id="customer-segment"' not in client.get(f"/customer?id={customer}").data
    assert b'name="segment"' not in client.get("/").data, "no segment filter without segments"


def test_the_figures_are_valid_plotly(tables) -> None:
    summary = segment_summary(tables["segments"], tables["segment_centroids"])
    for name, figure in segment_figures(summary).items():
        go.Figure(figure)  # raises on an invalid property
        assert figure["data"], name
        if name != "shares":  # one box per segment, each at its own place on the axis
            assert [t["x"] for t in figure["data"]] == [[s["segment"]] for s in summary]


def test_a_snapshot_refuses_segments_that_miss_a_customer(orders, tables) -> None:
    from dashboard.snapshot import Snapshot, SnapshotError

    frames = {**aggregate.build_aggregates(orders), **tables}
    frames["segments"] = tables["segments"].iloc[1:]
    with pytest.raises(SnapshotError, match="not segmented"):
        Snapshot.from_aggregates(frames, "run-x")


def test_segment_of_finds_a_customer_or_none(orders, tables) -> None:
    from dashboard.snapshot import Snapshot

    snapshot = Snapshot.from_aggregates({**aggregate.build_aggregates(orders), **tables}, "r")
    first = tables["segments"].sort_values("CustomerID").iloc[0]
    assert snapshot.segment_of(first["CustomerID"])["segment"] == first["segment"]
    assert snapshot.segment_of("nobody") is None
