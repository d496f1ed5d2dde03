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


def frame_of(rows: list[dict[str, object]]):  # noqa: ANN201 - pandas frame
    import pandas as pd

    return pd.DataFrame.from_records(rows, columns=list(CLEAN_COLUMNS))


def test_a_run_stamps_its_cells_and_retiring_leaves_exactly_its_rows(settings: Settings) -> None:
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    hbase_table.ensure_table(host, port, table)
    link = hbase_table.Retrying(lambda: hbase_table.connect(host, port), hbase_table.RetryPolicy())
    try:
        hbase_table.put_frame(link, table, frame_of([clean_row(i) for i in range(50)]))
        hbase_table.put_frame(
            link, table, frame_of([clean_row(i) for i in range(40, 300)]), 100, 1_000, "run-1"
        )
        hbase_table.put_frame(
            link, table, frame_of([clean_row(i) for i in range(200, 500)]), 100, 2_000, "run-2"
        )
    finally:
        link.close()

    assert hbase_table.count_rows_of_run(host, port, table, "run-1") == 160  # 40..199
    assert hbase_table.count_rows_of_run(host, port, table, "run-2") == 300
    connection = hbase_table.connect(host, port)
    try:
        cells = connection.table(table).row(
            hbase_codec.row_key_of(clean_row(250)), include_timestamp=True
        )
    finally:
        connection.close()
    assert cells[hbase_codec.RUN_COLUMN] == (b"run-2", 2_000)
    assert {stamp for _, stamp in cells.values()} == {2_000}

    # 40 rows without a run (0..39) and 160 of run-1: all of them go.
    assert hbase_table.delete_rows_not_of_run(host, port, table, "run-2") == 200
    assert hbase_table.count_rows(host, port, table) == 300
    assert hbase_table.count_rows_of_run(host, port, table, "run-2") == 300


def test_a_load_survives_a_thrift_restart(settings: Settings, hbase_service) -> None:
    import threading

    import docker

    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    hbase_table.ensure_table(host, port, table)
    rows = frame_of([clean_row(i) for i in range(30_000)])
    client = docker.from_env()
    thrift = client.containers.get(hbase_service.containers["thrift"])
    restarted = threading.Event()

    def restart() -> None:
        thrift.restart(timeout=2)
        restarted.set()

    link = hbase_table.Retrying(lambda: hbase_table.connect(host, port), hbase_table.RetryPolicy())
    nemesis = threading.Timer(1.0, restart)
    try:
        nemesis.start()
        written = hbase_table.put_frame(link, table, rows, 500, 5_000, "run-r")
    finally:
        link.close()
        nemesis.join(120)
        client.close()
    assert restarted.is_set(), "the Thrift server was not restarted during the load"
    assert written == 30_000
    assert hbase_table.count_rows_of_run(host, port, table, "run-r") == 30_000
