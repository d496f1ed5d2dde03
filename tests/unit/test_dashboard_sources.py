"""AggregateSource against an in-memory stand-in for happybase: it serves the published run from
memory, checks the manifest at most every N seconds, reloads on a new run_id, and looks customers
up by row-key prefix. The same against real HBase: tests/integration/test_aggregates_hbase.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pandas as pd
import pytest
from dashboard_data import clean_orders
from hbase_fake import FakeConnection, FakeHBase, FakeTable

from dashboard import AggregateSource, SourceError, create_app
from pipeline import aggregate, hbase_codec
from pipeline.adapters import hbase_aggregates
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

ORDERS_TABLE = "customer_orders"
AGGREGATES_TABLE = "customer_orders_aggregates"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def publish(hbase: FakeHBase, frame: pd.DataFrame, run_id: str) -> dict[str, pd.DataFrame]:
    """publish_aggregates itself, into the fake (creating the table is tested on real HBase)."""
    frames = aggregate.build_aggregates(frame)
    manifest = {"run_id": run_id, "stages": [{"name": "transform", "rows_out": len(frame)}]}
    with (
        patch.object(hbase_aggregates, "connect", lambda host, port: FakeConnection(hbase)),
        patch.object(hbase_aggregates, "ensure_table", lambda host, port, table: None),
    ):
        published = hbase_aggregates.publish_aggregates(
            frames, Settings(hbase_table=ORDERS_TABLE), manifest=manifest, run_id=run_id
        )
    assert published.table == AGGREGATES_TABLE
    return frames


@pytest.fixture
def orders() -> pd.DataFrame:
    return clean_orders(rows=600)


@pytest.fixture
def hbase(orders: pd.DataFrame) -> FakeHBase:
    store = FakeHBase()
    rows = FakeTable(store, ORDERS_TABLE)
    for record in orders.to_dict("records"):
        rows.put(*hbase_codec.encode(record))
    publish(store, orders, "run-1")
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(hbase: FakeHBase, clock: Clock) -> AggregateSource:
    return AggregateSource(
        "hbase", 9090, check_seconds=5, connect=lambda: FakeConnection(hbase), clock=clock
    )


def test_the_published_run_is_served_with_exact_totals(source, orders) -> None:
    snapshot = source.aggregates()
    assert snapshot.run_id == "run-1"
    assert snapshot.orders == len(orders)
    client = create_app(source, {"TESTING": True}).test_client()
    kpis = client.get("/api/summary").get_json()["kpis"]
    assert kpis["revenue"] == round(float(orders["TotalAmount"].sum()), 2)
    assert kpis["customers"] == orders["CustomerID"].nunique()
    assert source.describe() == f"hbase://hbase:9090/{AGGREGATES_TABLE}"
    assert source.label() == f"HBase table {AGGREGATES_TABLE}"


def test_pages_name_the_aggregates_table_but_never_the_thrift_endpoint(
    hbase, clock, orders
) -> None:
    source = AggregateSource(
        "thrift.internal.example", 47123, connect=lambda: FakeConnection(hbase), clock=clock
    )
    client = create_app(source, {"TESTING": True}).test_client()
    customer = orders["CustomerID"].iloc[0]
    urls = ("/", "/health/pipeline", "/customer", f"/customer?id={customer}", "/no-such-page")
    for url in (*urls, "/health", "/api/summary"):
        text = client.get(url).get_data(as_text=True)
        assert "thrift.internal.example" not in text and "47123" not in text, url
        assert source.describe() not in text and "hbase://" not in text, url
    footer = f"Data source: <code>HBase table {AGGREGATES_TABLE}</code>"
    assert footer in client.get("/").get_data(as_text=True)
    assert footer in client.get("/health/pipeline").get_data(as_text=True)


def test_requests_between_checks_touch_no_hbase(source, hbase, clock) -> None:
    first = source.aggregates()
    calls = len(hbase.calls)
    for _ in range(50):
        clock.now += 0.05
        assert source.aggregates() is first
    assert len(hbase.calls) == calls


def test_a_check_reads_only_the_manifest_while_the_run_is_unchanged(source, hbase, clock) -> None:
    first = source.aggregates()
    hbase.calls.clear()
    clock.now += 6
    assert source.aggregates() is first
    assert hbase.calls == [("row", AGGREGATES_TABLE, hbase_aggregates.MANIFEST_KEY)]
    assert source.loads == 1


def test_a_new_run_is_picked_up_at_the_next_check(source, hbase, clock, orders) -> None:
    assert source.aggregates().orders == len(orders)
    publish(hbase, orders.head(100), "run-2")
    assert source.aggregates().run_id == "run-1", "not before the check is due"
    clock.now += 5
    fresh = source.aggregates()
    assert (fresh.run_id, fresh.orders) == ("run-2", 100)
    assert source.manifest()["run_id"] == "run-2"


def test_a_publish_in_progress_keeps_the_previous_run(source, hbase, clock, orders) -> None:
    source.aggregates()
    table = FakeTable(hbase, AGGREGATES_TABLE)
    half = aggregate.build_aggregates(orders.head(100))
    hbase_aggregates.write_aggregate(table, "cube", half["cube"], "run-2")
    manifest = {"run_id": "run-2"}  # as if the manifest had been written too early
    table.put(
        hbase_aggregates.MANIFEST_KEY,
        {hbase_aggregates.MANIFEST_COLUMN: json.dumps(manifest).encode()},
    )
    clock.now += 5
    assert source.aggregates().run_id == "run-1"
    publish(hbase, orders.head(100), "run-2")
    clock.now += 1  # a mixed read is retried after retry_seconds, not check_seconds
    assert source.aggregates().run_id == "run-2"


def test_hbase_down_after_the_first_load_keeps_serving_the_run(source, hbase, clock) -> None:
    first = source.aggregates()
    hbase.fail = True
    clock.now += 5
    assert source.aggregates() is first
    with pytest.raises(SourceError, match=r"prefix scan of table 'customer_orders'.*Hint"):
        source.customer_orders("C0001")
    hbase.fail = False
    clock.now += 5
    assert source.aggregates() is first
    assert len(source.customer_orders("C0001")) > 0, "reconnects"


def test_hbase_down_at_start_is_a_source_error_and_503(hbase) -> None:
    hbase.fail = True
    source = AggregateSource("hbase", 9090, connect=lambda: FakeConnection(hbase))
    with pytest.raises(SourceError, match=r"customer_orders_aggregates.*hbase:9090.*Hint"):
        source.aggregates()
    client = create_app(source, {"TESTING": True}).test_client()
    assert client.get("/").status_code == 503
    assert client.get("/health").get_json()["status"] == "unavailable"


def test_no_manifest_yet_says_what_to_run() -> None:
    empty = FakeHBase()
    source = AggregateSource("hbase", 9090, connect=lambda: FakeConnection(empty))
    with pytest.raises(SourceError, match=r"no 'manifest\|latest' row.*aggregate and publish"):
        source.aggregates()


def test_customer_drill_down_is_a_prefix_scan_of_the_orders_table(source, hbase, orders) -> None:
    source.aggregates()
    hbase.calls.clear()
    frame = source.customer_orders("C0007")
    assert hbase.calls == [("scan", ORDERS_TABLE, hbase_codec.customer_prefix("C0007"), 1000)]
    theirs = orders[orders["CustomerID"] == "C0007"].sort_values(["OrderDate", "row_key"])
    assert list(frame["row_key"]) == list(theirs["row_key"])
    client = create_app(source, {"TESTING": True}).test_client()
    assert client.get("/customer?id=C0007").status_code == 200
    assert client.get("/customer?id=NOBODY").status_code == 404


def test_publishing_again_is_idempotent_and_removes_rows_of_the_old_run(hbase, orders) -> None:
    table = hbase.tables[AGGREGATES_TABLE]

    def published() -> tuple[dict[bytes, dict[bytes, bytes]], dict[str, object]]:
        """The table, and the manifest but for when it was published."""
        rows = {k: v for k, v in table.items() if k != hbase_aggregates.MANIFEST_KEY}
        manifest = json.loads(
            table[hbase_aggregates.MANIFEST_KEY][hbase_aggregates.MANIFEST_COLUMN]
        )
        manifest.pop("published_at")
        return rows, manifest

    before = published()
    publish(hbase, orders, "run-1")
    assert published() == before
    publish(hbase, orders.head(10), "run-2")
    customers = [k for k in table if k.startswith(b"customers|")]
    assert len(customers) == orders.head(10)["CustomerID"].nunique()
    assert {
        cells[hbase_aggregates.RUN_COLUMN]
        for k, cells in table.items()
        if b"|" in k and not k.startswith(b"manifest")
    } == {b"run-2"}


def background_source(hbase: FakeHBase, clock: Clock) -> AggregateSource:
    return AggregateSource(
        "hbase",
        9090,
        check_seconds=5,
        connect=lambda: FakeConnection(hbase),
        clock=clock,
        reload_in_background=True,
    )


def wait_until(done: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.01)


def test_in_background_no_request_waits_for_a_reload(hbase, clock, orders) -> None:
    source = background_source(hbase, clock)
    first = source.aggregates()  # the first load: nothing to serve before it
    publish(hbase, orders.head(100), "run-2")
    clock.now += 5
    reading, go_on = threading.Event(), threading.Event()
    scan = hbase_aggregates.scan_aggregate

    def slow_scan(*args: Any, **kwargs: Any) -> Any:
        reading.set()
        assert go_on.wait(10), "the test never let the reload go on"
        return scan(*args, **kwargs)

    with patch.object(hbase_aggregates, "scan_aggregate", slow_scan):
        assert source.aggregates() is first, "the request that finds the check due"
        assert reading.wait(10), "the reload started"
        assert source.aggregates() is first, "a request while the reload reads"
        go_on.set()
        wait_until(lambda: source.aggregates().run_id == "run-2", "the reload")
    assert source.aggregates().orders == 100
    assert source.manifest()["run_id"] == "run-2"
    assert source.loads == 2


def test_in_background_a_failed_check_is_logged_and_the_run_kept(
    hbase, clock, caplog: pytest.LogCaptureFixture
) -> None:
    source = background_source(hbase, clock)
    first = source.aggregates()
    hbase.fail = True
    clock.now += 5
    assert source.aggregates() is first
    wait_until(lambda: "keeping run run-1" in caplog.text, "the warning")
    hbase.fail = False
    caplog.clear()
    clock.now += 5
    with patch.object(hbase_aggregates, "get_manifest", side_effect=ValueError("bad manifest")):
        assert source.aggregates() is first
        wait_until(lambda: "bad manifest" in caplog.text, "the logged error")
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    hbase.calls.clear()
    clock.now += 5
    assert source.aggregates() is first
    manifest_get = ("row", AGGREGATES_TABLE, hbase_aggregates.MANIFEST_KEY)
    wait_until(lambda: hbase.calls == [manifest_get], "the next check, after both errors")
    assert source.loads == 1
