"""HBase through its Thrift server with happybase: table admin, batched puts, key reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import happybase
import pandas as pd

from pipeline import hbase_codec
from pipeline.adapters import thrift_puts
from pipeline.schema import FAMILIES


def connect(host: str, port: int, autoconnect: bool = True) -> happybase.Connection:
    """The one way this project opens Thrift: buffered transport and binary protocol, the thrift1
    server's defaults (a mismatch shows up as `TSocket read 0 bytes`)."""
    return happybase.Connection(
        host,
        port,
        timeout=60_000,
        autoconnect=autoconnect,
        transport="buffered",
        protocol="binary",
    )


def ensure_table(host: str, port: int, table: str) -> None:
    connection = connect(host, port)
    try:
        if table.encode() not in connection.tables():
            connection.create_table(table, {family: {"max_versions": 1} for family in FAMILIES})
    finally:
        connection.close()


def put_frame(
    connection: happybase.Connection, table: str, frame: pd.DataFrame, batch_size: int = 2_000
) -> int:
    """Write clean rows in `mutateRows` batches; the key comes from the row, so a re-run
    overwrites instead of adding."""
    name = table.encode()
    for start in range(0, len(frame), batch_size):
        keys, cells = hbase_codec.encode_frame(frame.iloc[start : start + batch_size])
        thrift_puts.mutate_rows(connection, thrift_puts.mutate_rows_args(name, keys, cells))
    return len(frame)


def put_records(host: str, port: int, table: str, records: Iterable[Mapping[str, Any]]) -> int:
    connection = connect(host, port)
    try:
        return put_frame(connection, table, pd.DataFrame.from_records(list(records)))
    finally:
        connection.close()


def count_rows(host: str, port: int, table: str) -> int:
    connection = connect(host, port)
    try:
        scan = connection.table(table).scan(
            filter=b"FirstKeyOnlyFilter() AND KeyOnlyFilter()", batch_size=10_000
        )
        return sum(1 for _ in scan)
    finally:
        connection.close()


def read_record(host: str, port: int, table: str, key: bytes) -> dict[str, Any]:
    connection = connect(host, port)
    try:
        return hbase_codec.decode(connection.table(table).row(key))
    finally:
        connection.close()
