"""Clean rows <-> HBase cells. Pure: the loader, the readers and the tests share it.

Row key: ``{salt}|{CustomerID}|{OrderDate}|{row_key}``. The salt, one hex digit, is a hash of the
CustomerID, so writes spread over SALT_BUCKETS regions (the table is pre-split on it, matching
HBase's HexStringSplit) while one customer's orders stay together for a prefix scan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from pipeline.schema import CLEAN_COLUMNS, CLEAN_TYPES, FAMILY_OF

SALT_BUCKETS = 16


def salt(customer_id: str) -> str:
    digest = hashlib.blake2b(customer_id.encode(), digest_size=2).digest()
    return f"{int.from_bytes(digest, 'big') % SALT_BUCKETS:x}"


def customer_prefix(customer_id: str) -> bytes:
    return f"{salt(customer_id)}|{customer_id}|".encode()


def row_key_of(record: Mapping[str, Any]) -> bytes:
    order_date = record["OrderDate"]
    day = order_date.isoformat() if isinstance(order_date, dt.date) else str(order_date)[:10]
    return customer_prefix(str(record["CustomerID"])) + f"{day}|{record['row_key']}".encode()


def split_points() -> list[bytes]:
    """Region boundaries for pre-splitting the table on the salt."""
    return [f"{i:x}".encode() for i in range(1, SALT_BUCKETS)]


def _text(value: Any) -> bytes:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat().encode()
    if isinstance(value, dt.date):
        return value.isoformat().encode()
    return str(value).encode()


def encode(record: Mapping[str, Any]) -> tuple[bytes, dict[bytes, bytes]]:
    """One clean record -> (row key, {b'family:Qualifier': value})."""
    cells = {f"{FAMILY_OF[c]}:{c}".encode(): _text(record[c]) for c in CLEAN_COLUMNS}
    return row_key_of(record), cells


def _column_texts(values: pd.Series, kind: str) -> list[bytes]:
    if kind == "DATE":
        return [_text(v) for v in values]
    return [str(v).encode() for v in values.tolist()]


def encode_frame(frame: pd.DataFrame) -> tuple[list[bytes], dict[bytes, list[bytes]]]:
    """A batch of clean rows, column-wise: the row keys and {b'family:Qualifier': values}.

    The same bytes as `encode` row by row, a few times faster: the loader's hot path."""
    keys = [row_key_of(r) for r in frame[["CustomerID", "OrderDate", "row_key"]].to_dict("records")]
    cells = {
        f"{FAMILY_OF[c]}:{c}".encode(): _column_texts(frame[c], CLEAN_TYPES[c])
        for c in CLEAN_COLUMNS
    }
    return keys, cells


def decode(cells: Mapping[bytes, bytes]) -> dict[str, Any]:
    """HBase cells -> one clean record with the schema's Python types."""
    out: dict[str, Any] = {}
    for column, raw in cells.items():
        name = column.decode().split(":", 1)[1]
        text = raw.decode()
        kind = CLEAN_TYPES.get(name)
        if kind == "INT":
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
