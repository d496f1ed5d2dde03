"""The loader's hand-written `mutateRowsTs` call is byte for byte what thriftpy2 would send."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from thrift_reference import reference_bytes

from pipeline.adapters import thrift_puts

pytestmark = pytest.mark.unit

CELLS = st.dictionaries(
    st.sampled_from([b"order:_run", b"customer:Name", b"order:row_key"]),
    st.binary(max_size=20),
    min_size=1,
)


@given(
    st.lists(st.tuples(st.binary(min_size=1, max_size=30), CELLS), max_size=6),
    st.integers(0, 2**62),
    st.booleans(),
)
def test_timestamped_mutate_rows_bytes_are_what_thriftpy2_would_send(
    rows: list[tuple[bytes, dict[bytes, bytes]]], timestamp: int, wal: bool
) -> None:
    columns = sorted({c for _, cells in rows for c in cells})
    rows = [(key, {c: cells.get(c, b"") for c in columns}) for key, cells in rows]
    expected = reference_bytes(rows, wal, timestamp)
    keys = [key for key, _ in rows]
    cells = {c: [row[c] for _, row in rows] for c in columns}
    args = thrift_puts.mutate_rows_args(b"t", keys, cells, wal=wal, timestamp=timestamp)
    assert args == expected
    assert thrift_puts.method(timestamp) == "mutateRowsTs"
