"""Clean rows -> the bulk loader's cell lines. Pure: the bulk load job and the tests share it.

A line is one row: the row key, then every cell value in HBase's column order (`line_columns`),
tab-separated, with ``\\``, tab, newline and carriage return escaped as ``\\\\``, ``\\t``, ``\\n``,
``\\r`` (stack/hbase/BulkLoad.java reads them back). The same key and cells as the Thrift path
(`hbase_codec.encode_frame`), so either load leaves the same table.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import hbase_codec

# Order matters: the backslash first, so the escapes added after it stay single.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
LINE_SCHEMA = "region STRING, key STRING, line STRING"


def line_columns(with_run: bool) -> list[bytes]:
    """``family:qualifier`` of each value after the key, sorted as HBase orders cells."""
    cells = set(hbase_codec.CELL_COLUMNS)
    if with_run:
        cells.add(hbase_codec.RUN_COLUMN)
    return sorted(cells)


def escape(values: pa.Array) -> pa.Array:
    for plain, escaped in _ESCAPES:
        values = pc.replace_substring(values, plain, escaped)
    return values


def _texts(values: list[bytes]) -> pa.Array:
    """UTF-8 bytes as text: every key and value is a ``str`` encoded by the codec."""
    return pa.array(values, type=pa.binary()).cast(pa.string())


def cell_lines(frame: pd.DataFrame, run_id: str | None) -> pd.DataFrame:
    """One line per row, with the row's region (the key's salt digit) and its key, by which the
    job partitions and sorts."""
    keys, cells = hbase_codec.encode_frame(frame)
    if run_id is not None:
        cells[hbase_codec.RUN_COLUMN] = [run_id.encode()] * len(keys)
    key_texts = _texts(keys)
    fields = [escape(key_texts)]
    fields += [escape(_texts(cells[column])) for column in line_columns(run_id is not None)]
    lines = pc.binary_join_element_wise(*fields, "\t")
    return pd.DataFrame(
        {
            "region": pc.utf8_slice_codeunits(key_texts, 0, 1).to_pandas(),
            "key": key_texts.to_pandas(),
            "line": lines.to_pandas(),
        }
    )
