"""The bulk load on a real HBase: the same keys, cells and timestamps as the Thrift path, byte for
byte, across region boundaries, and a re-load that changes nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_hbase_load import clean_row, table_keys, write_three_runs

from pipeline import hbase_codec
from pipeline.adapters import hbase_bulk, hbase_table
from pipeline.adapters.container import run_in
from pipeline.jobs.load_hbase import run_bulk_load, run_load
from pipeline.schema import CLEAN_COLUMNS, CLEAN_DDL, FAMILIES
from pipeline.settings import Settings

pytestmark = pytest.mark.integration
RUN, STAMP = "run-bulk", 1_700_000_000_000
# What a line escapes or HBase keys hold: tab, newline, CR, backslash, separators, non-ASCII.
TRICKY = ["a\tb", "line\nbreak", "cr\r", "back\\slash\\", "\\t literal", "|%7C|", "Zürich 東京", ""]


def rows(n: int) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        row = clean_row(i) | {"CustomerID": f"C{i % 613}"}
        if i % 50 == 3:
            tricky = TRICKY[i % len(TRICKY)]
            row |= {"ShippingAddress": tricky, "ProductName": tricky or "x"}
            row |= {"row_key": f"r{i}{tricky}", "CustomerID": f"C{tricky}{i % 5}"}
        out.append(row)
    return out


def scan_all(settings: Settings) -> dict[bytes, dict[bytes, tuple[bytes, int]]]:
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        table = connection.table(settings.hbase_table)
        return dict(table.scan(include_timestamp=True, batch_size=5_000))
    finally:
        connection.close()


@pytest.fixture
def bulk_settings(hbase_service, tmp_path: Path) -> Settings:
    name = f"bulk_{tmp_path.name[-8:]}"
    return Settings(
        data_root=f"{hbase_service.hdfs_url}/{name}",
        output_dir=tmp_path,
        thrift_host=hbase_service.thrift_host,
        thrift_port=hbase_service.thrift_port,
        hbase_table=name,
        hbase_container=hbase_service.containers["hbase"],
        load_path="bulk",
    )


def test_bulk_and_thrift_loads_leave_the_same_cells_and_a_reload_changes_nothing(
    spark, bulk_settings: Settings
) -> None:
    settings = bulk_settings
    data = rows(4_000)
    frame = spark.createDataFrame([tuple(r[c] for c in CLEAN_COLUMNS) for r in data], CLEAN_DDL)
    frame.write.mode("overwrite").parquet(settings.clean)
    # Pre-split on the salt as the stack's customer_orders is: HFiles cut at region starts.
    code, output = run_in(
        settings.hbase_container,
        ["/opt/service/start.sh", "presplit", settings.hbase_table, "16", ":".join(FAMILIES)],
    )
    assert code == 0, output[-2000:]

    loaded = run_bulk_load(spark, settings, timestamp=STAMP, run_id=RUN)
    assert (loaded.rows, loaded.duplicates) == (len(data), 0)
    assert loaded.counted == len(data), "the tool counts the run's rows after its handoff"
    assert loaded.hfiles >= 16 * len(FAMILIES) - len(FAMILIES)  # every region but, say, one
    bulk = scan_all(settings)

    via_thrift = replace(settings, hbase_table=f"{settings.hbase_table}_thrift")
    assert run_load(spark, via_thrift, timestamp=STAMP, run_id=RUN) == len(data)
    assert bulk == scan_all(via_thrift)
    assert len(bulk) == len(data)
    assert {stamp for cells in bulk.values() for _, stamp in cells.values()} == {STAMP}
    counted = hbase_table.count_rows_of_run(
        settings.thrift_host, settings.thrift_port, settings.hbase_table, RUN
    )
    assert counted == len(data)
    # HBase's own client in the container counts the same rows (of the run, and all).
    assert hbase_bulk.count_rows(settings.hbase_container, settings.hbase_table, RUN) == len(data)
    assert hbase_bulk.count_rows(settings.hbase_container, settings.hbase_table) == len(data)
    assert hbase_bulk.count_rows(settings.hbase_container, settings.hbase_table, "other") == 0

    again = run_bulk_load(spark, settings, timestamp=STAMP, run_id=RUN)
    assert again.rows == len(data)
    assert scan_all(settings) == bulk


def test_a_bulk_load_into_a_table_it_creates_and_without_a_run(
    spark, bulk_settings: Settings
) -> None:
    settings = replace(bulk_settings, hbase_table=f"{bulk_settings.hbase_table}_new")
    data = rows(300)
    frame = spark.createDataFrame([tuple(r[c] for c in CLEAN_COLUMNS) for r in data], CLEAN_DDL)
    frame.write.mode("overwrite").parquet(settings.clean)

    loaded = run_bulk_load(spark, settings)
    assert (loaded.rows, loaded.counted) == (len(data), None)  # no run: nothing to count
    stored = scan_all(settings)
    assert len(stored) == len(data)
    assert all(len(cells) == len(CLEAN_COLUMNS) for cells in stored.values())


def test_retiring_in_the_container_keeps_exactly_one_runs_rows_and_counts_them(
    bulk_settings: Settings,
) -> None:
    """Rows of two runs, rows without a run, and a foreign row with no run cell: one scan
    deletes all but the kept run's and counts those; a second retire deletes nothing."""
    settings = bulk_settings
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    connection = write_three_runs(settings)()
    try:
        connection.table(table).put(
            b"0|foreign", {b"customer:Name": b"not ours", b"order:Quantity": b"1"}
        )
    finally:
        connection.close()
    kept_keys = {hbase_codec.row_key_of(clean_row(i)) for i in range(200, 500)}
    assert len(table_keys(host, port, table)) == 501

    container = settings.hbase_container
    # 40 rows without a run (0..39), 160 of run-1 (40..199) and the foreign row go.
    assert hbase_bulk.retire_rows_not_of_run(container, table, "run-2") == (300, 201)
    assert table_keys(host, port, table) == kept_keys
    assert hbase_bulk.retire_rows_not_of_run(container, table, "run-2") == (300, 0)
    assert hbase_bulk.retire_rows_not_of_run(container, table, "run-9") == (0, 300)
    assert table_keys(host, port, table) == set()
