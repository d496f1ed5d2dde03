"""Clean rows survive the trip to HBase cells and back; keys are injective and one customer's keys
are exactly those under their prefix."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from thrift_reference import reference_bytes

from pipeline import hbase_codec, hbase_lines
from pipeline.adapters import thrift_puts
from pipeline.schema import AGE_GROUPS, CLEAN_COLUMNS, FAMILIES

pytestmark = pytest.mark.unit

TEXT = st.text(min_size=1, max_size=30)
# Texts made of the separator, the escape character and what an escape spells, so that "A|x" and
# "A%7Cx" (or "A" and "A|q", which share a salt) meet often.
TRICKY_TEXT = st.text(alphabet="A|%7Cqx", max_size=8)
LONG_TEXT = st.builds(lambda part, times: part * times, TEXT, st.integers(50, 1_500))
# CustomerID and row_key: anything, with `|`, `%`, non-ASCII and text of thousands of characters.
KEY_TEXT = st.one_of(TEXT, TRICKY_TEXT, LONG_TEXT)
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
KEY_PARTS = st.tuples(KEY_TEXT, DATES, KEY_TEXT)  # (CustomerID, OrderDate, row_key)
MONEY = st.floats(min_value=0.01, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))
CLEAN_ROWS = st.fixed_dictionaries(
    {
        "row_key": KEY_TEXT,
        "CustomerID": KEY_TEXT,
        "Name": st.none() | TEXT,
        "Age": st.integers(18, 100),
        "AgeGroup": st.sampled_from(AGE_GROUPS),
        "Country": TEXT,
        "Region": TEXT,
        "RegistrationDate": DATES,
        "OrderDate": DATES,
        "Quantity": st.integers(1, 1000),
        "TotalAmount": MONEY,
        "TotalAmountNormalized": st.floats(0, 1),
        "ProductID": TEXT,
        "ProductName": TEXT,
        "Category": TEXT,
        "Price": MONEY,
        "ShippingAddress": st.none() | TEXT,
        "ShippingDate": st.none() | DATES,
        "quality_flags": st.sampled_from(("", "missing_name", "shipped_before_order")),
    }
)


CLEAN_ROW_EXAMPLE = {
    "row_key": "r1", "CustomerID": "C1", "Name": "Ann", "Age": 30, "AgeGroup": AGE_GROUPS[1],
    "Country": "Germany", "Region": "Europe", "RegistrationDate": dt.date(2023, 1, 1),
    "OrderDate": dt.date(2024, 2, 1), "Quantity": 2, "TotalAmount": 19.98,
    "TotalAmountNormalized": 0.5, "ProductID": "P1", "ProductName": "Mouse",
    "Category": "Electronics", "Price": 9.99, "ShippingAddress": "1 Main St",
    "ShippingDate": None, "quality_flags": "",
}  # fmt: skip


def key_of(parts: tuple[str, dt.date, str]) -> bytes:
    customer_id, order_date, row_key = parts
    return hbase_codec.row_key_of(
        {"CustomerID": customer_id, "OrderDate": order_date, "row_key": row_key}
    )


@given(CLEAN_ROWS)
def test_decode_inverts_encode_and_skips_the_run_cell(row: dict) -> None:
    key, cells = hbase_codec.encode(row)
    assert hbase_codec.decode(cells) == row
    assert hbase_codec.decode({**cells, hbase_codec.RUN_COLUMN: b"run-1"}) == row
    assert key.startswith(hbase_codec.customer_prefix(row["CustomerID"]))


@given(st.lists(KEY_PARTS, min_size=2, max_size=10, unique=True))
@example([("A|b", dt.date(2024, 1, 1), "r"), ("A%7Cb", dt.date(2024, 1, 1), "r")])  # one salt
# Unescaped, both were "2|A|2024-01-28|2024-01-02|r" ("A" and "A|2024-01-28" share a salt).
@example([("A", dt.date(2024, 1, 28), "2024-01-02|r"), ("A|2024-01-28", dt.date(2024, 1, 2), "r")])
def test_distinct_customer_date_and_row_key_give_distinct_keys(parts: list[tuple]) -> None:
    assert len({key_of(p) for p in parts}) == len(parts)


@given(KEY_TEXT, KEY_TEXT, DATES, KEY_TEXT)
@example("A", "A|q", dt.date(2024, 1, 1), "r")  # same salt: the unescaped prefix scan mixed them
@example("A|b", "A%7Cb", dt.date(2024, 1, 1), "r")  # one salt: "%" must be escaped too
def test_no_key_of_another_customer_starts_with_a_customers_prefix(
    customer: str, other: str, order_date: dt.date, row_key: str
) -> None:
    prefix = hbase_codec.customer_prefix(customer)
    for someone in {other, customer + other} - {customer}:  # any id, and one that extends it
        assert not key_of((someone, order_date, row_key)).startswith(prefix)


@given(KEY_PARTS)
def test_every_key_of_a_customer_starts_with_its_prefix(parts: tuple) -> None:
    customer_id = parts[0]
    assert key_of(parts).startswith(hbase_codec.customer_prefix(customer_id))
    assert hbase_codec.customer_prefix(customer_id)[:1] == hbase_codec.salt(customer_id).encode()


@given(st.lists(KEY_PARTS, max_size=12))
def test_row_key_lengths_are_the_bytes_of_each_key(parts: list[tuple]) -> None:
    customer_ids, order_dates, row_keys = zip(*parts, strict=True) if parts else ((), (), ())
    lengths = hbase_codec.row_key_lengths(list(customer_ids), list(order_dates), list(row_keys))
    assert lengths.tolist() == [len(key_of(p)) for p in parts]


def test_a_key_over_hbase_limit_is_measured_as_such() -> None:
    customer_id = "é" * (hbase_codec.MAX_ROW_KEY_BYTES // 2)  # two bytes each in UTF-8
    lengths = hbase_codec.row_key_lengths(
        [customer_id, "C1"], [dt.date(2024, 1, 1)] * 2, ["r", "r"]
    )
    assert lengths[0] > hbase_codec.MAX_ROW_KEY_BYTES >= lengths[1]


@given(CLEAN_ROWS)
def test_every_cell_is_in_one_of_the_four_families(row: dict) -> None:
    _, cells = hbase_codec.encode(row)
    families = {column.split(b":")[0].decode() for column in cells}
    assert families <= set(FAMILIES) and len(cells) == len(CLEAN_COLUMNS)


def test_salt_spreads_customers_over_every_bucket() -> None:
    buckets = {hbase_codec.salt(f"C{i}") for i in range(2_000)}
    assert len(buckets) == hbase_codec.SALT_BUCKETS
    # Existing tables are split on these digits: the salt must not change.
    assert "".join(hbase_codec.salt(f"C{i}") for i in range(16)) == "fd0ff2cc4503482b"
    assert hbase_codec.split_points()[0] == b"1" and len(hbase_codec.split_points()) == 15


@given(st.lists(CLEAN_ROWS, min_size=1, max_size=12))
def test_encode_frame_gives_the_bytes_encode_gives_row_by_row(rows: list[dict]) -> None:
    keys, cells = hbase_codec.encode_frame(pd.DataFrame.from_records(rows))
    for i, row in enumerate(rows):
        key, row_cells = hbase_codec.encode(row)
        assert keys[i] == key
        assert {column: values[i] for column, values in cells.items()} == row_cells


@given(st.lists(CLEAN_ROWS, min_size=0, max_size=8), st.booleans())
def test_mutate_rows_bytes_are_what_thriftpy2_would_send(rows: list[dict], wal: bool) -> None:
    encoded = [hbase_codec.encode(row) for row in rows]
    expected = reference_bytes(encoded, wal)
    keys = [key for key, _ in encoded]
    columns = {c: [cells[c] for _, cells in encoded] for c in (encoded[0][1] if encoded else {})}
    assert thrift_puts.mutate_rows_args(b"t", keys, columns, wal=wal) == expected


def parse_line(line: str) -> list[bytes | None]:
    """What stack/hbase/BulkLoad.java reads from a line: the key, then each value (None: a field
    that is exactly \\N, no cell)."""
    unescape = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
    fields: list[bytes | None] = []
    for field in line.split("\t"):  # a value's own tabs are escaped
        if field == hbase_lines.ABSENT:
            fields.append(None)
            continue
        text, chars = [], iter(field)
        for char in chars:
            text.append(unescape[next(chars)] if char == "\\" else char)
        fields.append("".join(text).encode())
    return fields


# Values made of what a line escapes, beside text a line keeps as it is.
ESCAPED_TEXT = st.text(alphabet="\\\t\n\rtnr|%é", max_size=8)
LINE_ROWS = CLEAN_ROWS.flatmap(
    lambda row: st.fixed_dictionaries(
        {**{c: st.just(v) for c, v in row.items()}, "row_key": ESCAPED_TEXT, "Name": ESCAPED_TEXT}
    )
)


@given(st.lists(LINE_ROWS, min_size=0, max_size=8), st.none() | ESCAPED_TEXT)
@example([], None)
@example([{**CLEAN_ROW_EXAMPLE, "Name": "a\\tb\\", "row_key": "\t\\n"}], "run\n1")
def test_a_cell_line_reads_back_as_the_key_and_cells_thrift_would_write(
    rows: list[dict], run_id: str | None
) -> None:
    frame = pd.DataFrame.from_records(rows, columns=list(CLEAN_COLUMNS))
    batch = pa.RecordBatch.from_pandas(
        frame, schema=hbase_lines.CLEAN_ARROW_SCHEMA, preserve_index=False
    )
    lines = hbase_lines.cell_lines(batch, run_id).to_pydict()
    keys, cells = hbase_codec.encode_frame(frame)
    if run_id is not None:
        cells[hbase_codec.RUN_COLUMN] = [run_id.encode()] * len(keys)
    columns = hbase_lines.line_columns(run_id is not None)
    assert columns == sorted(cells) and len(lines["line"]) == len(rows)
    for i, line in enumerate(lines["line"]):
        assert "\n" not in line and "\r" not in line
        assert parse_line(line) == [keys[i], *(cells[c][i] for c in columns)]
        assert lines["key"][i].encode() == keys[i]
        assert (
            lines["region"][i]
            == keys[i][:1].decode()
            == hbase_codec.salt(str(rows[i]["CustomerID"]))
        )
