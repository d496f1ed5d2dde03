"""HBase through its Thrift server with happybase: table admin, batched puts, key reads."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import happybase
import Hbase_thrift  # happybase's Thrift module, loaded by `import happybase`
import pandas as pd
from thriftpy2.transport import TTransportException

from pipeline import hbase_codec
from pipeline.adapters import thrift_puts
from pipeline.schema import FAMILIES

T = TypeVar("T")


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


class LoadFailed(RuntimeError):
    """HBase stayed unreachable past the retry bound."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for errors that pass: a restarting Thrift server or region server."""

    attempts: int = 30
    first_wait: float = 0.5
    max_wait: float = 8.0

    def waits(self) -> Iterator[float]:
        wait = self.first_wait
        for _ in range(self.attempts - 1):
            yield wait
            wait = min(wait * 2, self.max_wait)


# Connection lost, refused while a server restarts, or HBase's IOError (region moving, server not
# running yet). IllegalArgument (a bad request) is never retried.
TRANSIENT = (OSError, TTransportException, Hbase_thrift.IOError)


class Retrying:
    """A Thrift connection that is reopened and the call repeated when a transient error hits.

    Only for idempotent calls: puts of the same cells at the same timestamp, deletes, scans."""

    def __init__(self, open_connection: Callable[[], happybase.Connection], retry: RetryPolicy):
        self.open_connection, self.retry = open_connection, retry
        self.connection: happybase.Connection | None = None

    def call(self, what: str, action: Callable[[happybase.Connection], T]) -> T:
        waits = self.retry.waits()
        attempt = 0
        while True:
            attempt += 1
            try:
                if self.connection is None:
                    self.connection = self.open_connection()
                return action(self.connection)
            except TRANSIENT as error:
                self.close()
                wait = next(waits, None)
                if wait is None:
                    raise LoadFailed(
                        f"{what}: gave up after {attempt} attempts; last error: {error!r}. "
                        "Re-run `pipeline load --run ID` to complete it."
                    ) from error
                time.sleep(wait)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None


def _with_retries(
    host: str, port: int, what: str, action: Callable[[happybase.Connection], T]
) -> T:
    link = Retrying(lambda: connect(host, port), RetryPolicy())
    try:
        return link.call(what, action)
    finally:
        link.close()


def ensure_table(host: str, port: int, table: str) -> None:
    """Families keep 3 versions: the published run's cells stay readable while a later run (or a
    failed one) rewrites the same rows."""

    def create(connection: happybase.Connection) -> None:
        if table.encode() not in connection.tables():  # checked again on a retry
            connection.create_table(table, {family: {"max_versions": 3} for family in FAMILIES})

    _with_retries(host, port, f"creating {table}", create)


def count_rows(host: str, port: int, table: str) -> int:
    def count(connection: happybase.Connection) -> int:
        scan = connection.table(table).scan(
            filter=b"FirstKeyOnlyFilter() AND KeyOnlyFilter()", batch_size=10_000
        )
        return sum(1 for _ in scan)

    return _with_retries(host, port, f"counting {table}", count)


def put_frame(
    link: Retrying,
    table: str,
    frame: pd.DataFrame,
    batch_size: int = 2_000,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> int:
    """Write clean rows in `mutateRows` batches; the key comes from the row, so a re-run
    overwrites instead of adding. With a run, every cell carries its timestamp and each row its
    id in `order:_run`; a batch cut off by a restart is sent again whole (idempotent)."""
    name, method = table.encode(), thrift_puts.method(timestamp)
    for start in range(0, len(frame), batch_size):
        keys, cells = hbase_codec.encode_frame(frame.iloc[start : start + batch_size])
        if run_id is not None:
            cells[hbase_codec.RUN_COLUMN] = [run_id.encode()] * len(keys)
        args = thrift_puts.mutate_rows_args(name, keys, cells, timestamp=timestamp)
        link.call(
            f"writing {table} from row key {keys[0]!r}",
            lambda connection, args=args: thrift_puts.mutate_rows(connection, args, method),
        )
    return len(frame)


def put_records(host: str, port: int, table: str, records: Iterable[Mapping[str, Any]]) -> int:
    link = Retrying(lambda: connect(host, port), RetryPolicy())
    try:
        return put_frame(link, table, pd.DataFrame.from_records(list(records)))
    finally:
        link.close()


def _run_filter(run_id: str, operator: str) -> bytes:
    value = run_id.replace("'", "''")
    return (
        f"SingleColumnValueFilter('order', '_run', {operator}, 'binary:{value}', false, true)"
    ).encode()


def count_rows_of_run(host: str, port: int, table: str, run_id: str) -> int:
    """Rows whose `order:_run` is this run (counted by a server-side filter)."""
    def count(connection: happybase.Connection) -> int:
        scan = connection.table(table).scan(
            columns=[hbase_codec.RUN_COLUMN], filter=_run_filter(run_id, "="), batch_size=10_000
        )
        return sum(1 for _ in scan)

    return _with_retries(host, port, f"counting {table} rows of run {run_id}", count)


def delete_rows_not_of_run(host: str, port: int, table: str, run_id: str) -> int:
    """Delete every row another run (or no run) wrote; returns how many were deleted."""
    link = Retrying(lambda: connect(host, port), RetryPolicy())

    def stale_keys(connection: happybase.Connection) -> list[bytes]:
        # A row without `_run` passes the filter too (filterIfMissing false); order:row_key is
        # there to make such a row come back at all.
        scan = connection.table(table).scan(
            columns=[hbase_codec.RUN_COLUMN, b"order:row_key"],
            filter=_run_filter(run_id, "!="),
            batch_size=10_000,
        )
        return [key for key, _ in scan]

    def delete(keys: list[bytes]) -> Callable[[happybase.Connection], None]:
        def run(connection: happybase.Connection) -> None:
            with connection.table(table).batch(batch_size=2_000) as batch:
                for key in keys:
                    batch.delete(key)

        return run

    try:
        keys = link.call(f"finding stale rows of {table}", stale_keys)
        for start in range(0, len(keys), 10_000):
            link.call(f"deleting stale rows of {table}", delete(keys[start : start + 10_000]))
        return len(keys)
    finally:
        link.close()


def read_record(host: str, port: int, table: str, key: bytes) -> dict[str, Any]:
    connection = connect(host, port)
    try:
        return hbase_codec.decode(connection.table(table).row(key))
    finally:
        connection.close()
