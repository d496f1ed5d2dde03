"""What should be stored, and what is: the clean rows the one rule set makes of the input lines,
against HBase read key by key."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from pipeline import hbase_codec
from pipeline.adapters import hbase_table
from pipeline.clean import clean_lines
from pipeline.schema import CLEAN_COLUMNS

KAFKA_MAX_MESSAGE = 2 * 2**20 - 1024  # lines larger than this cannot be streamed


def expected_clean(orders: Path, bulk_lines: int) -> pd.DataFrame:
    """Clean rows of the text lines that reach the cleaner (poison lines never do)."""
    lines = []
    with orders.open("rb") as handle:
        for number, line in enumerate(handle):
            raw = line.rstrip(b"\n")
            if number >= bulk_lines and len(raw) > KAFKA_MAX_MESSAGE:
                continue  # rejected at produce
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                continue  # poison: quarantined as base64
    return clean_lines(pd.Series(lines, dtype=object)).clean


def stored(host: str, port: int, table: str) -> dict[bytes, dict]:
    """Every row of the table, decoded; the newest version of each cell."""
    connection = hbase_table.connect(host, port)
    try:
        return {
            key: hbase_codec.decode(cells)
            for key, cells in connection.table(table).scan(batch_size=5_000)
        }
    finally:
        connection.close()


def assert_stored_exactly(expected: pd.DataFrame, rows: dict[bytes, dict]) -> None:
    """Same keys (nothing lost, nothing doubled, nothing stale) and the same values."""
    want = {hbase_codec.row_key_of(r): r for r in expected[list(CLEAN_COLUMNS)].to_dict("records")}
    missing, extra = want.keys() - rows.keys(), rows.keys() - want.keys()
    assert not missing and not extra, (
        f"{len(missing)} expected rows missing (e.g. {sorted(missing)[:2]}), "
        f"{len(extra)} unexpected rows (e.g. {sorted(extra)[:2]})"
    )
    for key, record in want.items():
        got = rows[key]
        for column in CLEAN_COLUMNS:
            a, b = got[column], record[column]
            b = b.date() if hasattr(b, "date") and callable(b.date) else b
            if isinstance(a, float):
                assert math.isclose(a, float(b), abs_tol=1e-9), (key, column, a, b)
            else:
                assert a == b, f"{key!r} {column}: HBase has {a!r}, expected {b!r}"
