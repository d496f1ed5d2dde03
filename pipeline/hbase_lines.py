"""Clean rows -> the bulk loader's cell lines. Pure: the bulk load job and the tests share it.

A line is one row: the row key, then every cell value in HBase's column order (`line_columns`),
tab-separated, with ``\\``, tab, newline and carriage return escaped as ``\\\\``, ``\\t``, ``\\n``,
``\\r`` (stack/hbase/BulkLoad.java reads them back); a field that is exactly ``\\N`` (ABSENT) is no
cell. The same key and cells as the Thrift path (`hbase_codec.encode_frame`), so either load
leaves the same table.

The work stays in Arrow, column by column: a value that needs Python's own text (a salt, a
float's repr, a date's ISO form) is made once per distinct value and taken back by index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import hbase_codec
from pipeline.schema import CLEAN_COLUMNS, CLEAN_TYPES, arrow_schema

# Order matters: the backslash first, so the escapes added after it stay single.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NEEDS_ESCAPE = r"[\\\t\n\r]"
ABSENT = "\\N"  # a null left out of the row (an escaped value never reads \N: "\\" doubles)
LINE_SCHEMA = "region STRING, key STRING, line STRING"
CLEAN_ARROW_SCHEMA = arrow_schema(CLEAN_TYPES)
_CELL_OF = dict(zip(hbase_codec.CELL_COLUMNS, CLEAN_COLUMNS, strict=True))


def line_columns(with_run: bool) -> list[bytes]:
    """``family:qualifier`` of each value after the key, sorted as HBase orders cells."""
    cells = set(hbase_codec.CELL_COLUMNS)
    if with_run:
        cells.add(hbase_codec.RUN_COLUMN)
    return sorted(cells)


def escape(values: pa.Array) -> pa.Array:
    """The line format's escapes (a column without any of those characters is kept as it is)."""
    if not pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return values
    for plain, escaped in _ESCAPES:
        values = pc.replace_substring(values, plain, escaped)
    return values


_ESCAPE_TABLE = str.maketrans(dict(_ESCAPES))


def escape_text(text: str) -> str:
    """`escape` of one value."""
    return text.translate(_ESCAPE_TABLE)


def _per_distinct(values: pa.Array, text: Callable[[Any], str]) -> pa.Array:
    """`text` of each value, called once per distinct value; a null gives ""."""
    encoded = pc.dictionary_encode(values)
    texts = pa.array([text(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return pc.fill_null(pc.take(texts, encoded.indices), "")


def _cell_text(value: Any) -> str:
    return hbase_codec.cell_bytes(value).decode()


def _cell_texts(values: pa.Array) -> pa.Array:
    """What hbase_codec gives for each value, as text: strings as they are, "" for null."""
    if pa.types.is_string(values.type):
        return pc.fill_null(values, "")
    if pa.types.is_integer(values.type):
        return pc.fill_null(pc.cast(values, pa.string()), "")
    return _per_distinct(values, _cell_text)  # floats and dates: Python's repr and ISO form


def _key_part(values: pa.Array) -> pa.Array:
    """hbase_codec.escape: ``%`` -> ``%25``, then ``|`` -> ``%7C``."""
    return pc.replace_substring(pc.replace_substring(values, "%", "%25"), "|", "%7C")


def row_keys(batch: pa.RecordBatch) -> pa.Array:
    """hbase_codec.row_key_of of every row: salt|CustomerID|OrderDate|row_key, parts escaped."""
    customers = pc.cast(batch.column("CustomerID"), pa.string())
    salts = _per_distinct(customers, hbase_codec.salt)
    days = _per_distinct(batch.column("OrderDate"), _cell_text)
    parts = [
        salts,
        _key_part(customers),
        days,
        _key_part(pc.cast(batch.column("row_key"), pa.string())),
    ]
    return pc.binary_join_element_wise(*parts, "|")


def _plain(kind: pa.DataType) -> bool:
    """A type whose cell texts (digits, signs, '.', 'e', "inf", "nan", ISO dates) never hold a
    character the line format escapes."""
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_date(kind))


def cell_lines(batch: pa.RecordBatch, run_id: str | None) -> pa.RecordBatch:
    """One line per row, with the row's region (the key's salt digit) and its key, by which the
    job partitions and sorts."""
    keys = row_keys(batch)
    fields = [escape(keys)]
    for column in line_columns(run_id is not None):
        if column == hbase_codec.RUN_COLUMN:
            fields.append(pa.array([escape_text(str(run_id))] * len(keys), type=pa.string()))
            continue
        values = batch.column(_CELL_OF[column])
        texts = _cell_texts(values)
        # Numbers' and dates' texts hold no character to escape: only the others are scanned.
        fields.append(texts if _plain(values.type) else escape(texts))
    lines = pc.binary_join_element_wise(*fields, "\t")
    return pa.RecordBatch.from_arrays(
        [pc.utf8_slice_codeunits(keys, 0, 1), keys, lines], names=["region", "key", "line"]
    )
