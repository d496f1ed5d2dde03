"""A customer's drill-down against a real HBase: escaped keys keep customers apart whatever their
ids hold, and the page shows the published run's version of each row even while a later run is
rewriting them."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import happybase
import pandas as pd
import pytest

from dashboard.sources import AggregateSource, HBaseSource, normalize
from pipeline import aggregate, hbase_codec
from pipeline.adapters import hbase_aggregates, hbase_table
from pipeline.schema import CLEAN_COLUMNS, FAMILIES
from pipeline.settings import Settings

pytestmark = pytest.mark.integration

# "A" and "A|q" share a salt, as do "A|b" and "A%7Cb": unescaped, one's prefix scan read the other.
CUSTOMERS = ("A", "A|q", "A|x", "A%7Cx", "A|b", "A%7Cb", "Zoë 顧客 🛒", "L" * 1_000)


def order(customer_id: str, row_key: str, day: int, quantity: int = 1) -> dict[str, Any]:
    """One clean row (every CLEAN_COLUMN)."""
    return {
        "row_key": row_key,
        "CustomerID": customer_id,
        "Name": "Ann Lee",
        "Age": 30,
        "AgeGroup": "25-34",
        "Country": "Germany",
        "Region": "Europe",
        "RegistrationDate": dt.date(2023, 1, 1),
        "OrderDate": dt.date(2024, 2, day),
        "Quantity": quantity,
        "TotalAmount": round(quantity * 9.99, 2),
        "TotalAmountNormalized": quantity / 10,
        "ProductID": "P1",
        "ProductName": "Wireless Mouse",
        "Category": "Electronics",
        "Price": 9.99,
        "ShippingAddress": "1 Main St, Zürich",
        "ShippingDate": dt.date(2024, 3, day),
        "quality_flags": "",
    }


def frame_of(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=list(CLEAN_COLUMNS))


def as_shown(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """What a drill-down returns for these rows: normalized, oldest first."""
    frame = normalize(frame_of(rows))
    return frame.sort_values(["OrderDate", "row_key"], kind="stable").reset_index(drop=True)


def put_run(table: Any, rows: Sequence[dict[str, Any]], run_id: str, timestamp: int) -> None:
    """What a run's load writes: every cell at the run's timestamp, with ``order:_run``."""
    with table.batch(timestamp=timestamp) as batch:
        for row in rows:
            key, cells = hbase_codec.encode(row)
            batch.put(key, {**cells, hbase_codec.RUN_COLUMN: run_id.encode()})


def publish(settings: Settings, rows: Sequence[dict[str, Any]], run_id: str, stamp: int) -> None:
    manifest = {"run_id": run_id, "cell_timestamp": stamp}
    frames = aggregate.build_aggregates(frame_of(rows))
    hbase_aggregates.publish_aggregates(frames, settings, manifest=manifest, run_id=run_id)


@pytest.fixture
def settings(hbase_service) -> Settings:
    return Settings(
        thrift_host=hbase_service.thrift_host,
        thrift_port=hbase_service.thrift_port,
        hbase_table=f"drill_{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def orders(settings: Settings) -> Iterator[Any]:
    """The orders table as the run model has it: three versions per family."""
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        families = {family: {"max_versions": 3} for family in FAMILIES}
        connection.create_table(settings.hbase_table, families)
        yield connection.table(settings.hbase_table)
    finally:
        connection.close()


def sources(settings: Settings) -> tuple[AggregateSource, HBaseSource]:
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    return AggregateSource(host, port, table), HBaseSource(host, port, table)


def test_each_customer_drill_down_holds_exactly_their_orders(
    settings: Settings, orders: happybase.Table
) -> None:
    rows = [
        order(customer_id, f"{n}|r%{i}", day=1 + n + i)
        for n, customer_id in enumerate(CUSTOMERS)
        for i in range(3)
    ]
    stamp = int(time.time() * 1000)
    put_run(orders, rows, "run-1", stamp)
    publish(settings, rows, "run-1", stamp)

    published, plain = sources(settings)  # the run-bounded scan and the plain one
    try:
        for customer_id in CUSTOMERS:
            theirs = as_shown([r for r in rows if r["CustomerID"] == customer_id])
            for source in (published, plain):
                pd.testing.assert_frame_equal(
                    source.customer_orders(customer_id), theirs, obj=f"{customer_id[:20]!r}"
                )
        assert published.customer_orders("A|").empty and plain.customer_orders("A%").empty
    finally:
        published.close()
        plain.close()


def test_drill_down_shows_the_published_run_while_the_next_one_rewrites_its_rows(
    settings: Settings, orders: happybase.Table
) -> None:
    run_1 = [order("C1", "r1", day=1), order("C1", "r2", day=2), order("C2", "r3", day=3)]
    stale = order("C1", "r0", day=4)  # left by an older run, not deleted yet
    run_2 = [order(r["CustomerID"], r["row_key"], day=5, quantity=7) for r in run_1]
    run_2.append(order("C1", "r4", day=6, quantity=7))  # new in run 2
    t1 = int(time.time() * 1000)
    put_run(orders, [stale], "run-0", t1 - 1_000)
    put_run(orders, run_1, "run-1", t1)
    publish(settings, run_1, "run-1", t1)
    served, _ = sources(settings)
    served.aggregates()
    put_run(orders, run_2, "run-2", t1 + 1_000)  # loaded, not published

    fresh, plain = sources(settings)  # one that reads the manifest at its first drill-down
    try:
        everything = plain.customer_orders("C1")  # every row, newest versions
        assert dict(zip(everything["row_key"], everything["Quantity"], strict=True)) == {
            "r0": 1,
            "r1": 7,
            "r2": 7,
            "r4": 7,
        }
        for source in (served, fresh):
            pd.testing.assert_frame_equal(source.customer_orders("C1"), as_shown(run_1[:2]))
            pd.testing.assert_frame_equal(source.customer_orders("C2"), as_shown(run_1[2:]))
    finally:
        for source in (served, fresh, plain):
            source.close()
