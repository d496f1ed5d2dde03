"""Clean rows <-> HBase cells. Pure: the loader, the readers and the tests share it.

Row key: ``{salt}|{CustomerID}|{OrderDate}|{row_key}``, with ``%`` and ``|`` percent-escaped
(``%25``, ``%7C``) inside the parts: no part holds the separator, so distinct rows get distinct keys
and ``customer_prefix`` matches one customer's keys and no other's. The salt, one hex digit, is a
hash of the (unescaped) CustomerID, so writes spread over SALT_BUCKETS regions (the table is
pre-split on it, matching HBase's HexStringSplit) while one customer's orders stay together for a
prefix scan.

A null (a field set aside, schema.NULLABLE_COLUMNS) is an empty cell: every row has every cell
of its run, so no older run's value can show through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.schema import CLEAN_COLUMNS, CLEAN_TYPES, FAMILY_OF, NULLABLE_COLUMNS

SALT_BUCKETS = 16
# HConstants.MAX_ROW_LENGTH (Short.MAX_VALUE): HBase refuses a longer key, and with it the batch.
MAX_ROW_KEY_BYTES = 32767
# The id of the run that wrote the row; `decode` skips it (not a clean column).
RUN_COLUMN = b"order:_run"
# salt + the three separators
_KEY_FRAME_BYTES = 4
# b'family:Qualifier' of each clean column, in CLEAN_COLUMNS order.
CELL_COLUMNS = tuple(f"{FAMILY_OF[c]}:{c}".encode() for c in CLEAN_COLUMNS)
_T = TypeVar("_T")


def salt(customer_id: str) -> str:
    digest = hashlib.blake2b(customer_id.encode(), digest_size=2).digest()
    return f"{int.from_bytes(digest, 'big') % SALT_BUCKETS:x}"


def escape(part: str) -> str:
    """``%`` -> ``%25`` and ``|`` -> ``%7C``: an escaped part never holds the key's separator."""
    return part.replace("%", "%25").replace("|", "%7C")


def _prefix_text(customer_id: str) -> str:
    return f"{salt(customer_id)}|{escape(customer_id)}|"


def customer_prefix(customer_id: str) -> bytes:
    """The start of every key of this customer and of no other's: one prefix scan."""
    return _prefix_text(customer_id).encode()


def _day(order_date: Any) -> str:
    """The key's OrderDate part: the ISO day (a datetime counts by its date, as in its cell)."""
    if isinstance(order_date, dt.datetime):  # pd.Timestamp too
        return order_date.date().isoformat()
    if isinstance(order_date, dt.date):
        return order_date.isoformat()
    return escape(str(order_date)[:10])


def row_key_of(record: Mapping[str, Any]) -> bytes:
    customer_id, row_key = str(record["CustomerID"]), str(record["row_key"])
    return f"{_prefix_text(customer_id)}{_day(record['OrderDate'])}|{escape(row_key)}".encode()


def _texts(values: Iterable[Any]) -> list[str]:
    """The values as ``str`` gives them, which is how `row_key_of` reads a part."""
    return [str(v) for v in values]


def _per_distinct(values: Iterable[Any], make: Callable[[Any], _T]) -> list[_T]:
    """``make`` of every value, called once per distinct value (customers and days repeat).

    A dict, not ``pd.factorize``: factorize cuts strings at a NUL, so "" and "\\x00" would meet."""
    done: dict[Any, _T] = {}
    return [done[v] if v in done else done.setdefault(v, make(v)) for v in values]


def _escaped_bytes(texts: list[str]) -> np.ndarray:
    """UTF-8 bytes of each text once escaped: each ``%`` or ``|`` grows by two."""
    array = pa.array(texts, type=pa.large_string())
    escapes = pc.add(pc.count_substring(array, "%"), pc.count_substring(array, "|"))
    lengths: np.ndarray = pc.add(pc.binary_length(array), pc.multiply(escapes, 2)).to_numpy()
    return lengths


def row_key_lengths(
    customer_ids: Iterable[Any], order_dates: Iterable[Any], row_keys: Iterable[Any]
) -> np.ndarray:
    """Bytes of each row's key (``len(row_key_of(...))``) without building the keys, so the
    cleaner can quarantine the rows HBase would refuse (over MAX_ROW_KEY_BYTES)."""
    days = np.array(_per_distinct(order_dates, lambda d: len(_day(d).encode())), dtype=np.int64)
    ids, keys = _escaped_bytes(_texts(customer_ids)), _escaped_bytes(_texts(row_keys))
    lengths: np.ndarray = _KEY_FRAME_BYTES + ids + days + keys
    return lengths


def split_points() -> list[bytes]:
    """Region boundaries for pre-splitting the table on the salt."""
    return [f"{i:x}".encode() for i in range(1, SALT_BUCKETS)]


def cell_bytes(value: Any) -> bytes:
    """A cell's bytes: "" for null, a date's ISO day, else what `str` gives."""
    if value is None or value is pd.NaT or (type(value) is float and value != value):
        return b""
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat().encode()
    if isinstance(value, dt.date):
        return value.isoformat().encode()
    return str(value).encode()


def encode(record: Mapping[str, Any]) -> tuple[bytes, dict[bytes, bytes]]:
    """One clean record -> (row key, {b'family:Qualifier': value})."""
    cells = {
        cell: cell_bytes(record[c]) for cell, c in zip(CELL_COLUMNS, CLEAN_COLUMNS, strict=True)
    }
    return row_key_of(record), cells


def _column_texts(values: pd.Series, kind: str) -> list[bytes]:
    if kind == "DATE" or values.hasnans:
        return [cell_bytes(v) for v in values]
    return [str(v).encode() for v in values.tolist()]


def encode_frame(frame: pd.DataFrame) -> tuple[list[bytes], dict[bytes, list[bytes]]]:
    """A batch of clean rows, column-wise: the row keys and {b'family:Qualifier': values}.

    The same bytes as `encode` row by row, a few times faster: the loader's hot path."""
    prefixes = _per_distinct(_texts(frame["CustomerID"]), _prefix_text)
    days = _per_distinct(frame["OrderDate"], _day)
    row_keys = _texts(frame["row_key"])
    keys = [
        f"{p}{d}|{escape(k)}".encode() for p, d, k in zip(prefixes, days, row_keys, strict=True)
    ]
    cells = {
        cell: _column_texts(frame[c], CLEAN_TYPES[c])
        for cell, c in zip(CELL_COLUMNS, CLEAN_COLUMNS, strict=True)
    }
    return keys, cells


def decode(cells: Mapping[bytes, bytes]) -> dict[str, Any]:
    """HBase cells -> one clean record with the schema's Python types."""
    out: dict[str, Any] = {}
    for column, raw in cells.items():
        name = column.decode().split(":", 1)[1]
        text = raw.decode()
        kind = CLEAN_TYPES.get(name)
        if not text and name in NULLABLE_COLUMNS:
            out[name] = None
        elif kind == "INT":
            out[name] = int(text)
        elif kind == "DOUBLE":
            out[name] = float(text)
        elif kind == "DATE":
            out[name] = dt.date.fromisoformat(text)
        elif kind is not None:
            out[name] = text
    return out


def decode_frame(rows: Iterable[tuple[bytes, Mapping[bytes, bytes]]]) -> pd.DataFrame:
    records: Iterator[dict[str, Any]] = (decode(cells) for _, cells in rows)
    return pd.DataFrame.from_records(list(records), columns=list(CLEAN_COLUMNS))
