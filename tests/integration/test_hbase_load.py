"""Loading clean rows into a real HBase through its Thrift server, and reading them back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard.sources import HBaseSource
from pipeline import hbase_codec
from pipeline.adapters import hbase_table
from pipeline.jobs.load_hbase import run_load
from pipeline.schema import CLEAN_COLUMNS, CLEAN_DDL
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def clean_row(i: int) -> dict[str, object]:
    return {
        "row_key": f"r{i:05d}",
        "CustomerID": f"C{i % 7}",
        "Name": f"Name {i % 7}",
        "Age": 30 + i % 7,
        "AgeGroup": "25-34" if i % 7 < 5 else "35-44",
        "Country": "Germany",
        "RegistrationDate": dt.date(2023, 1, 1 + i % 28),
        "OrderDate": dt.date(2024, 2, 1 + i % 28),
        "Quantity": 1 + i % 3,
        "TotalAmount": round((1 + i % 3) * 9.99, 2),
        "TotalAmountNormalized": (i % 3) / 2,
        "ProductID": f"P{i % 5}",
        "ProductName": "Wireless Mouse",
        "Category": "Electronics",
        "Price": 9.99,
        "ShippingAddress": f"{i} Main St, Zürich",
        "ShippingDate": dt.date(2024, 3, 1 + i % 28),
    }


@pytest.fixture
def settings(hbase_service, tmp_path: Path) -> Settings:
    return Settings(
        data_root=tmp_path.as_uri(),
        thrift_host=hbase_service.thrift_host,
        thrift_port=hbase_service.thrift_port,
        hbase_table=f"orders_{tmp_path.name[-8:]}",
    )


def test_load_writes_every_row_and_a_rerun_changes_nothing(spark, settings: Settings) -> None:
    rows = [clean_row(i) for i in range(3_000)]
    spark.createDataFrame([tuple(r[c] for c in CLEAN_COLUMNS) for r in rows], CLEAN_DDL).write.mode(
        "overwrite"
    ).parquet(settings.clean)

    assert run_load(spark, settings) == len(rows)
    assert run_load(spark, settings) == len(rows)
    assert hbase_table.count_rows(
        settings.thrift_host, settings.thrift_port, settings.hbase_table
    ) == len(rows)

    for row in (rows[0], rows[1_234], rows[-1]):
        key = hbase_codec.row_key_of(row)
        got = hbase_table.read_record(
            settings.thrift_host, settings.thrift_port, settings.hbase_table, key
        )
        assert got == row


def test_dashboard_source_reads_the_table_and_a_customer_by_prefix(
    spark, settings: Settings
) -> None:
    rows = [clean_row(i) for i in range(700)]
    hbase_table.ensure_table(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    hbase_table.put_records(settings.thrift_host, settings.thrift_port, settings.hbase_table, rows)

    source = HBaseSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    frame = source.orders()
    assert len(frame) == len(rows)
    assert frame["TotalAmount"].sum() == pytest.approx(sum(r["TotalAmount"] for r in rows))
    customer = source.customer_orders("C3")
    assert sorted(customer["row_key"]) == sorted(
        r["row_key"] for r in rows if r["CustomerID"] == "C3"
    )
