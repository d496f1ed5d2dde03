"""Clean rows survive the trip to HBase cells and back; keys group a customer's orders."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import hbase_codec
from pipeline.adapters import thrift_puts
from pipeline.schema import AGE_GROUPS, CLEAN_COLUMNS, FAMILIES

pytestmark = pytest.mark.unit

TEXT = st.text(min_size=1, max_size=30).filter(lambda s: "|" not in s)
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
MONEY = st.floats(min_value=0.01, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))
CLEAN_ROWS = st.fixed_dictionaries(
    {
        "row_key": TEXT,
        "CustomerID": TEXT,
        "Name": TEXT,
        "Age": st.integers(18, 100),
        "AgeGroup": st.sampled_from(AGE_GROUPS),
        "Country": TEXT,
        "RegistrationDate": DATES,
        "OrderDate": DATES,
        "Quantity": st.integers(1, 1000),
        "TotalAmount": MONEY,
        "TotalAmountNormalized": st.floats(0, 1),
        "ProductID": TEXT,
        "ProductName": TEXT,
        "Category": TEXT,
        "Price": MONEY,
        "ShippingAddress": TEXT,
        "ShippingDate": DATES,
    }
)


@given(CLEAN_ROWS)
def test_decode_inverts_encode(row: dict) -> None:
    key, cells = hbase_codec.encode(row)
    assert hbase_codec.decode(cells) == row
    assert key.startswith(hbase_codec.customer_prefix(row["CustomerID"]))


@given(CLEAN_ROWS)
def test_every_cell_is_in_one_of_the_four_families(row: dict) -> None:
    _, cells = hbase_codec.encode(row)
    families = {column.split(b":")[0].decode() for column in cells}
    assert families <= set(FAMILIES) and len(cells) == len(CLEAN_COLUMNS)


def test_salt_spreads_customers_over_every_bucket() -> None:
    buckets = {hbase_codec.salt(f"C{i}") for i in range(2_000)}
    assert len(buckets) == hbase_codec.SALT_BUCKETS
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
    from Hbase_thrift import BatchMutation, Hbase, Mutation  # loaded by happybase's import
    from thriftpy2.protocol import TBinaryProtocol
    from thriftpy2.transport import TMemoryBuffer

    encoded = [hbase_codec.encode(row) for row in rows]
    batches = [
        BatchMutation(
            row=key,
            mutations=[
                Mutation(isDelete=False, column=c, value=v, writeToWAL=wal)
                for c, v in cells.items()
            ],
        )
        for key, cells in encoded
    ]
    expected = TMemoryBuffer()
    Hbase.mutateRows_args(tableName=b"t", rowBatches=batches, attributes={}).write(
        TBinaryProtocol(expected)
    )
    keys = [key for key, _ in encoded]
    columns = {c: [cells[c] for _, cells in encoded] for c in (encoded[0][1] if encoded else {})}
    assert thrift_puts.mutate_rows_args(b"t", keys, columns, wal=wal) == expected.getvalue()
