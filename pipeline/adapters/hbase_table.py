"""HBase through its Thrift server with happybase: table admin, batched puts, key reads.

Every call goes through `Retrying`: a Thrift or region server that restarts costs a wait and a
new connection, not the run. Only idempotent calls are retried (puts of the same cells at the
same timestamp, deletes, scans).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import happybase
import Hbase_thrift  # happybase's Thrift module, loaded by `import happybase`
import pandas as pd
from thriftpy2.thrift import TApplicationException
from thriftpy2.transport import TTransportException

from pipeline import hbase_codec
from pipeline.adapters import thrift_puts
from pipeline.schema import FAMILIES

T = TypeVar("T")
ConnectionFactory = Callable[[], happybase.Connection]
# The published run's cells stay readable while a later (or failed) run rewrites the same rows.
VERSIONS = 3
# Rows a stale-row scan returns before they are deleted: memory stays bounded on any table.
DELETE_CHUNK = 10_000


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


class RequestRefused(RuntimeError):
    """HBase refused the call itself (a row key over 32,767 bytes, say): sending it again would
    not help, so it is raised at once, naming what was sent."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for errors that pass (a restarting Thrift server or region server),
    bounded by attempts and by time: one attempt alone may last up to the socket timeout."""

    attempts: int = 30
    first_wait: float = 0.5
    max_wait: float = 8.0
    deadline: float = 180.0

    def waits(self) -> Iterator[float]:
        wait = self.first_wait
        for _ in range(self.attempts - 1):
            yield wait
            wait = min(wait * 2, self.max_wait)


RETRY = RetryPolicy()
# Connection lost or refused while a server restarts (OSError covers socket errors, BrokenPipe and
# ConnectionError), or HBase's IOError (region moving or too busy, server not running yet).
TRANSIENT = (OSError, TTransportException, Hbase_thrift.IOError)
# A bad request: IllegalArgument, or the server's internal error that thrift1 turns some of them
# into (HBase 2.6 checks a mutateRows row key outside its IllegalArgument handler).
REFUSED = (Hbase_thrift.IllegalArgument, TApplicationException)


def _summary(error: BaseException) -> str:
    """Class and first line: HBase's IOError message is a whole Java stack trace (in bytes, as
    happybase reads every Thrift string)."""
    text = getattr(error, "message", None) or str(error)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = text.strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


class Retrying:
    """A Thrift connection that is reopened and the call repeated when a transient error hits."""

    def __init__(self, open_connection: ConnectionFactory, retry: RetryPolicy = RETRY) -> None:
        self.open_connection, self.retry = open_connection, retry
        self.connection: happybase.Connection | None = None

    def call(self, what: str, action: Callable[[happybase.Connection], T]) -> T:
        started, waits, attempt = time.monotonic(), self.retry.waits(), 0
        while True:
            attempt += 1
            try:
                if self.connection is None:
                    self.connection = self.open_connection()
                return action(self.connection)
            except REFUSED as error:
                self.close()  # a failed call may leave unread bytes on the connection
                raise RequestRefused(f"{what}: refused by HBase: {_summary(error)}") from error
            except TRANSIENT as error:
                self.close()
                wait, elapsed = next(waits, None), time.monotonic() - started
                if wait is None or elapsed + wait > self.retry.deadline:
                    raise LoadFailed(
                        f"{what}: gave up after {attempt} attempts in {elapsed:.0f}s; last error: "
                        f"{_summary(error)}. Every call is idempotent: a re-run of "
                        "`pipeline load --run ID` (then `aggregate` and `publish`) completes it."
                    ) from error
                time.sleep(wait)

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                self.connection.close()
            self.connection = None


def _with_retries(
    host: str, port: int, what: str, action: Callable[[happybase.Connection], T]
) -> T:
    link = Retrying(lambda: connect(host, port))
    try:
        return link.call(what, action)
    finally:
        link.close()


def ensure_table(host: str, port: int, table: str) -> None:
    """Create the table if missing, each family keeping `VERSIONS` versions; an existing table
    that keeps fewer is refused, since thrift1 cannot alter it and readers bounded by the
    published run's timestamp would lose rows while a later run loads."""

    def create(connection: happybase.Connection) -> None:
        if table.encode() not in connection.tables():  # checked again on a retry
            connection.create_table(
                table, {family: {"max_versions": VERSIONS} for family in FAMILIES}
            )
        families = connection.table(table).families()
        kept = {f: families.get(f.encode(), {}).get("max_versions", 0) for f in FAMILIES}
        short = {family: versions for family, versions in kept.items() if versions < VERSIONS}
        if short:
            raise ValueError(
                f"{table} keeps fewer than {VERSIONS} versions (family: versions, 0 = missing): "
                f"{short}; drop it so that the load creates it, or recreate it pre-split with "
                "the stack's `start.sh presplit`"
            )

    _with_retries(host, port, f"creating {table}", create)


def count_rows(host: str, port: int, table: str) -> int:
    def count(connection: happybase.Connection) -> int:
        scan = connection.table(table).scan(
            filter=b"FirstKeyOnlyFilter() AND KeyOnlyFilter()", batch_size=10_000
        )
        return sum(1 for _ in scan)

    return _with_retries(host, port, f"counting {table}", count)


def put_frame(
    connection: Retrying | ConnectionFactory,
    table: str,
    frame: pd.DataFrame,
    batch_size: int = 2_000,
    timestamp: int | None = None,
    run_id: str | None = None,
    retry: RetryPolicy = RETRY,
) -> int:
    """Write clean rows in `mutateRows` batches; the key comes from the row, so a re-run
    overwrites instead of adding. With a timestamp every cell carries it (`mutateRowsTs`), with
    a run id each row gets `order:_run`. A batch cut off by a transient error is sent again
    whole on a new connection (same keys, timestamp and values: idempotent).

    `connection`: a zero-argument connection factory (retried with `retry`), or a `Retrying`
    whose connection outlives this frame (a Spark partition's Arrow batches; its own policy)."""
    link = connection if isinstance(connection, Retrying) else Retrying(connection, retry)
    name, method = table.encode(), thrift_puts.method(timestamp)
    try:
        for start in range(0, len(frame), batch_size):
            keys, cells = hbase_codec.encode_frame(frame.iloc[start : start + batch_size])
            if run_id is not None:
                cells[hbase_codec.RUN_COLUMN] = [run_id.encode()] * len(keys)
            args = thrift_puts.mutate_rows_args(name, keys, cells, timestamp=timestamp)
            link.call(
                f"writing {table} from row key {keys[0][:200]!r}",
                lambda thrift, args=args: thrift_puts.mutate_rows(thrift, args, method),
            )
    finally:
        if link is not connection:
            link.close()
    return len(frame)


def _run_filter(run_id: str, operator: str, filter_if_missing: bool) -> bytes:
    """Compares the newest `order:_run` only (latestVersionOnly), so a row rewritten by a later
    run belongs to that run even while older versions are kept."""
    value = run_id.replace("'", "''")
    missing = str(filter_if_missing).lower()
    return (
        f"SingleColumnValueFilter('order', '_run', {operator}, 'binary:{value}', {missing}, true)"
    ).encode()


def scan_chunks(
    host: str, port: int, table: str, chunk_rows: int, run_id: str | None = None
) -> Iterator[pd.DataFrame]:
    """The table's rows (those of `run_id`, when given) as clean frames of at most `chunk_rows`
    rows: one chunk of Thrift rows is in memory at a time."""
    connection = connect(host, port)
    try:
        rows = connection.table(table).scan(
            batch_size=min(chunk_rows, 10_000),
            filter=_run_filter(run_id, "=", filter_if_missing=True) if run_id else None,
        )
        while chunk := list(itertools.islice(rows, chunk_rows)):
            yield hbase_codec.decode_frame(chunk)
    finally:
        connection.close()


def count_rows_of_run(host: str, port: int, table: str, run_id: str) -> int:
    """Rows whose `order:_run` is this run, counted by a server-side filter (a row without the
    cell is left out)."""

    def count(connection: happybase.Connection) -> int:
        scan = connection.table(table).scan(
            columns=[hbase_codec.RUN_COLUMN],
            filter=_run_filter(run_id, "=", filter_if_missing=True),
            batch_size=10_000,
        )
        return sum(1 for _ in scan)

    return _with_retries(host, port, f"counting {table} rows of run {run_id}", count)


def delete_rows_not_of_run(host: str, port: int, table: str, run_id: str) -> int:
    """Delete every row another run (or no run) wrote, `DELETE_CHUNK` rows at a time; returns
    how many were deleted."""

    def stale_keys(start: bytes) -> Callable[[happybase.Connection], list[bytes]]:
        def scan(connection: happybase.Connection) -> list[bytes]:
            # A row without `_run` passes the filter (filterIfMissing false); order:row_key is
            # asked for so that such a row has a cell to come back with.
            rows = connection.table(table).scan(
                row_start=start,
                columns=[hbase_codec.RUN_COLUMN, b"order:row_key"],
                filter=_run_filter(run_id, "!=", filter_if_missing=False),
                limit=DELETE_CHUNK,
                batch_size=DELETE_CHUNK,
            )
            return [key for key, _ in rows]

        return scan

    def delete(keys: list[bytes]) -> Callable[[happybase.Connection], None]:
        def send(connection: happybase.Connection) -> None:
            # No `with`: on an error its exit would send again on the broken connection.
            batch = connection.table(table).batch(batch_size=2_000 * len(FAMILIES))
            for key in keys:
                batch.delete(key)
            batch.send()

        return send

    link, deleted, start = Retrying(lambda: connect(host, port)), 0, b""
    try:
        while keys := link.call(f"finding stale rows of {table}", stale_keys(start)):
            link.call(f"deleting stale rows of {table} from {keys[0][:200]!r}", delete(keys))
            deleted += len(keys)
            start = keys[-1] + b"\x00"  # the next key after the last one deleted
        return deleted
    finally:
        link.close()
