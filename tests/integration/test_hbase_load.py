"""Loading clean rows into a real HBase through its Thrift server, and reading them back."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import happybase
import pytest
from hbase_rows import put_records, read_record

from dashboard.sources import HBaseSource
from pipeline import hbase_codec
from pipeline.adapters import hbase_table
from pipeline.jobs.load_hbase import run_load
from pipeline.schema import CLEAN_COLUMNS, CLEAN_DDL, FAMILIES
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
        "Region": "Europe",
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
        "quality_flags": "",
        **({"Name": None, "quality_flags": "missing_name"} if i % 97 == 5 else {}),
        **({"ShippingDate": None, "quality_flags": "shipped_before_order"} if i % 89 == 7 else {}),
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
        got = read_record(settings.thrift_host, settings.thrift_port, settings.hbase_table, key)
        assert got == row


def test_a_load_from_spark_carries_its_run_and_timestamp(spark, settings: Settings) -> None:
    rows = [clean_row(i) for i in range(1_000)]
    spark.createDataFrame([tuple(r[c] for c in CLEAN_COLUMNS) for r in rows], CLEAN_DDL).write.mode(
        "overwrite"
    ).parquet(settings.clean)

    assert run_load(spark, settings, timestamp=1_234, run_id="run-s") == len(rows)
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    assert hbase_table.count_rows_of_run(host, port, table, "run-s") == len(rows)
    connection = hbase_table.connect(host, port)
    try:
        cells = connection.table(table).row(
            hbase_codec.row_key_of(rows[567]), include_timestamp=True
        )
    finally:
        connection.close()
    assert cells[hbase_codec.RUN_COLUMN] == (b"run-s", 1_234)
    assert {stamp for _, stamp in cells.values()} == {1_234}


def test_dashboard_source_reads_the_table_and_a_customer_by_prefix(
    spark, settings: Settings
) -> None:
    rows = [clean_row(i) for i in range(700)]
    hbase_table.ensure_table(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    put_records(settings.thrift_host, settings.thrift_port, settings.hbase_table, rows)

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


def test_the_stack_presplits_customer_orders_with_three_versions_per_family(
    hbase_service,
) -> None:
    connection = hbase_table.connect(hbase_service.thrift_host, hbase_service.thrift_port)
    try:
        table = connection.table("customer_orders")
        families, regions = table.families(), table.regions()
    finally:
        connection.close()
    assert {f.decode(): d["max_versions"] for f, d in families.items()} == dict.fromkeys(
        FAMILIES, hbase_table.VERSIONS
    )
    assert [r["start_key"] for r in regions] == [b""] + [
        f"{i:x}0000000".encode() for i in range(1, 16)
    ]


def write_three_runs(settings: Settings) -> Callable[[], happybase.Connection]:
    """Rows 0..39 without a run, 40..199 of run-1 (timestamp 1,000), 200..499 of run-2 (2,000,
    over run-1's 200..299); returns the connection factory."""
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    hbase_table.ensure_table(host, port, table)

    def connect() -> happybase.Connection:
        return hbase_table.connect(host, port)

    hbase_table.put_frame(connect, table, frame_of([clean_row(i) for i in range(50)]))
    hbase_table.put_frame(
        connect, table, frame_of([clean_row(i) for i in range(40, 300)]), 100, 1_000, "run-1"
    )
    hbase_table.put_frame(
        connect, table, frame_of([clean_row(i) for i in range(200, 500)]), 100, 2_000, "run-2"
    )
    return connect


def test_a_run_stamps_its_cells_and_retiring_leaves_exactly_its_rows(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    connect = write_three_runs(settings)

    assert hbase_table.count_rows_of_run(host, port, table, "run-1") == 160  # 40..199
    assert hbase_table.count_rows_of_run(host, port, table, "run-2") == 300
    assert hbase_table.count_rows_of_run(host, port, table, "run-3") == 0
    rewritten = hbase_codec.row_key_of(clean_row(250))
    connection = connect()
    try:
        newest = connection.table(table).row(rewritten, include_timestamp=True)
        # A reader bounded by run-1's timestamp still sees run-1's version of the row.
        older = connection.table(table).row(rewritten, timestamp=1_001, include_timestamp=True)
    finally:
        connection.close()
    assert newest[hbase_codec.RUN_COLUMN] == (b"run-2", 2_000)
    assert {stamp for _, stamp in newest.values()} == {2_000}
    assert older[hbase_codec.RUN_COLUMN] == (b"run-1", 1_000)
    assert {stamp for _, stamp in older.values()} == {1_000}

    # 40 rows without a run (0..39) and 160 of run-1 go, in chunks that resume after each other.
    monkeypatch.setattr(hbase_table, "DELETE_CHUNK", 7)
    assert hbase_table.delete_rows_not_of_run(host, port, table, "run-2") == 200
    assert hbase_table.count_rows(host, port, table) == 300
    assert hbase_table.count_rows_of_run(host, port, table, "run-2") == 300
    assert hbase_table.delete_rows_not_of_run(host, port, table, "run-2") == 0


def test_a_row_key_hbase_refuses_fails_at_once(settings: Settings) -> None:
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    hbase_table.ensure_table(host, port, table)
    row = clean_row(1) | {"row_key": "k" * 40_000}
    started = time.monotonic()
    # HBase 2.6 checks the length outside mutateRows' IllegalArgument handler: the reply is
    # Thrift's "Internal error processing mutateRows", the server log has the reason.
    with pytest.raises(hbase_table.RequestRefused, match="kkk': refused by HBase: TApplication"):
        hbase_table.put_frame(lambda: hbase_table.connect(host, port), table, frame_of([row]), 1)
    assert time.monotonic() - started < 30


def table_keys(host: str, port: int, table: str) -> set[bytes]:
    connection = hbase_table.connect(host, port)
    try:
        scan = connection.table(table).scan(
            filter=b"FirstKeyOnlyFilter() AND KeyOnlyFilter()", batch_size=10_000
        )
        return {key for key, _ in scan}
    finally:
        connection.close()


def test_a_load_survives_a_thrift_restart(settings: Settings, hbase_service) -> None:
    import docker

    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    hbase_table.ensure_table(host, port, table)
    rows = [clean_row(i) for i in range(30_000)]
    client = docker.from_env()
    thrift = client.containers.get(hbase_service.containers["thrift"])
    opened: list[happybase.Connection] = []
    loading = threading.Event()

    def restart() -> None:
        if loading.wait(60):
            thrift.restart(timeout=2)  # the load has begun: restart the server under it

    def connect() -> happybase.Connection:
        opened.append(hbase_table.connect(host, port))
        loading.set()
        return opened[-1]

    nemesis = threading.Thread(target=restart, daemon=True)
    nemesis.start()
    try:
        written = hbase_table.put_frame(connect, table, frame_of(rows), 100, 5_000, "run-r")
    finally:
        nemesis.join(120)
        client.close()
    assert not nemesis.is_alive(), "the Thrift container did not restart within 120 s"
    assert len(opened) > 1, "the load ended before the restart cut its connection"
    assert written == len(rows)
    # The same port answers again (host network, same command) and holds exactly the rows.
    assert hbase_table.count_rows_of_run(host, port, table, "run-r") == len(rows)
    assert table_keys(host, port, table) == {hbase_codec.row_key_of(r) for r in rows}
