"""HBase through its Thrift server with happybase: table admin, batched puts, key reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import happybase

from pipeline import hbase_codec
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


def put_records(
    host: str, port: int, table: str, records: Iterable[Mapping[str, Any]], batch_size: int = 2_000
) -> int:
    """Write clean records; the key is derived from the record, so a re-run overwrites."""
    connection = connect(host, port)
    written = 0
    try:
        with connection.table(table).batch(batch_size=batch_size) as batch:
            for record in records:
                key, cells = hbase_codec.encode(record)
                batch.put(key, cells)
                written += 1
    finally:
        connection.close()
    return written


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
