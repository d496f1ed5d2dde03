"""Where the dashboard's data comes from: the aggregates of one run, a customer's orders, the run
manifest.

``AggregateSource`` serves what the pipeline published to HBase (aggregates in memory, a customer's
orders by a row-key prefix scan); ``MemoryAggregateSource`` serves such aggregates handed to it
(benchmarks: ``pipeline.synthetic_aggregates``). ``LocalSource``, ``ParquetSource`` and
``HBaseSource`` hold the clean rows themselves and build the same aggregates in pandas. Clean rows
always come out in one canonical shape (see ``normalize``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import happybase
import pandas as pd
import pyarrow.dataset as ds
from thriftpy2.thrift import TException

from dashboard.snapshot import Snapshot, SnapshotError
from pipeline import aggregate, hbase_codec, segments
from pipeline.adapters import hbase_aggregates, hbase_table
from pipeline.schema import CLEAN_COLUMNS, DATE_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS

log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """The data could not be read; the message names the location and gives a hint."""


@runtime_checkable
class DashboardSource(Protocol):
    """What the app needs; injected into ``create_app``."""

    def aggregates(self) -> Snapshot:
        """The aggregates of the latest run (the same object until a new run lands)."""
        ...

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """One customer's clean orders, oldest first."""
        ...

    def manifest(self) -> dict[str, Any] | None:
        """The latest run manifest, or None when there is none."""
        ...

    def describe(self) -> str:
        """Where the data comes from, endpoint or path included: for logs and errors."""
        ...

    def label(self) -> str:
        """What kind of source and which table or folder, no host, port or path: for the pages."""
        ...


@runtime_checkable
class OrdersSource(Protocol):
    """A source that holds every clean row (local data, small tables)."""

    def orders(self) -> pd.DataFrame:
        """All clean orders, columns per ``schema.CLEAN_COLUMNS``."""
        ...


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Any clean-ish frame -> schema column order with one dtype per kind.

    Dates become ``datetime64[ns]`` (out-of-range or unparsable values become NaT), ints nullable
    ``Int64``, doubles ``float64`` and strings ``object``. Hive partition columns, which pyarrow
    returns as categoricals, are turned back into plain values.
    """
    missing = [c for c in CLEAN_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceError(
            f"orders are missing clean columns {missing}; present: {list(frame.columns)}. "
            "Hint: point the dashboard at the clean output, not the raw or quarantine one."
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for column in CLEAN_COLUMNS:
        values = frame[column].reset_index(drop=True)
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if column in DATE_COLUMNS:
            days = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
            out[column] = days.dt.normalize()
        elif column in INT_COLUMNS:
            out[column] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif column in FLOAT_COLUMNS:
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return out


def _by_order_date(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["OrderDate", "row_key"], kind="stable").reset_index(drop=True)


def _read_manifest(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read the run manifest {path}: {exc}") from exc
    return manifest if isinstance(manifest, dict) else None


class FrameAggregates:
    """For sources that hold the clean rows themselves: the aggregates built from them in pandas
    (``pipeline.aggregate.build_aggregates``, the same functions the Spark job runs), once per
    frame. Subclasses provide ``orders()``."""

    _aggregate_lock: threading.Lock
    _built: tuple[pd.DataFrame, Snapshot] | None = None

    def orders(self) -> pd.DataFrame:
        raise NotImplementedError

    def manifest(self) -> dict[str, Any] | None:
        return None

    def aggregates(self) -> Snapshot:
        frame = self.orders()
        lock = self.__dict__.setdefault("_aggregate_lock", threading.Lock())
        with lock:
            if self._built is not None and self._built[0] is frame:
                return self._built[1]
            try:
                frames = aggregate.build_aggregates(frame)
                run_id = str((self.manifest() or {}).get("run_id") or f"local-{id(frame):x}")
                snapshot = Snapshot.from_aggregates(frames, run_id)
            except (aggregate.AggregateError, SnapshotError) as exc:
                where = self.describe()
                raise SourceError(f"cannot aggregate the orders of {where}: {exc}") from exc
            self._built = (frame, snapshot)
            return snapshot

    def describe(self) -> str:
        raise NotImplementedError

    def label(self) -> str:
        raise NotImplementedError


class LocalSource(FrameAggregates):
    """Clean rows already in memory (e.g. ``pipeline.clean.clean_lines(...).clean``)."""

    def __init__(
        self, orders: pd.DataFrame, manifest: Mapping[str, Any] | None = None, name: str = "memory"
    ) -> None:
        self._frame = normalize(orders)
        self._manifest = dict(manifest) if manifest is not None else None
        self.name = name

    def orders(self) -> pd.DataFrame:
        return self._frame

    def manifest(self) -> dict[str, Any] | None:
        return self._manifest

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        frame = self._frame
        return _by_order_date(frame[frame["CustomerID"] == customer_id])

    def describe(self) -> str:
        return f"local:{self.name}"

    def label(self) -> str:
        return f"Local data {self.name}"


class ParquetSource(FrameAggregates):
    """A Spark output directory of Parquet (part files, hive partitions), read once per process.

    The run manifest is ``manifest.json`` beside the ``clean/`` folder (a ``pipeline clean``
    output), or in the folder itself, unless ``manifest`` names it.
    """

    def __init__(self, path: str | Path, manifest: str | Path | None = None) -> None:
        self.path = Path(path)
        if manifest is not None:
            self.manifest_path: Path | None = Path(manifest)
        else:
            folder = self.path.parent if self.path.name == "clean" else self.path
            self.manifest_path = folder / "manifest.json"
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()

    def _files(self) -> list[str]:
        if self.path.is_file():
            return [str(self.path)]
        # Spark leaves _SUCCESS, _committed_* and .crc files beside the data: skip hidden parts.
        return sorted(
            str(p)
            for p in self.path.rglob("*.parquet")
            if p.is_file()
            and not any(part.startswith(("_", ".")) for part in p.relative_to(self.path).parts)
        )

    def _load(self) -> pd.DataFrame:
        files = self._files()
        if not files:
            raise SourceError(
                f"no Parquet files under {self.path}. "
                "Hint: run the batch job first, or pass the clean output directory."
            )
        base = None if self.path.is_file() else str(self.path)
        try:
            dataset = ds.dataset(
                files, format="parquet", partitioning="hive", partition_base_dir=base
            )
            table = dataset.to_table()
        except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
            raise SourceError(f"cannot read Parquet under {self.path}: {exc}") from exc
        return normalize(table.to_pandas())

    def orders(self) -> pd.DataFrame:
        with self._lock:
            if self._frame is None:
                self._frame = self._load()
            return self._frame

    def refresh(self) -> pd.DataFrame:
        """Re-read the directory now (the cached frame stays if reading fails)."""
        frame = self._load()
        with self._lock:
            self._frame = frame
        return frame

    def manifest(self) -> dict[str, Any] | None:
        return _read_manifest(self.manifest_path)

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        frame = self.orders()
        return _by_order_date(frame[frame["CustomerID"] == customer_id])

    def describe(self) -> str:
        return f"parquet:{self.path}"

    def label(self) -> str:
        kind = "file" if self.path.is_file() else "folder"
        return f"Parquet {kind} {self.path.name or self.path.resolve().name}"


def _thrift_error(what: str, host: str, port: int, table: str, exc: BaseException) -> SourceError:
    return SourceError(
        f"HBase {what} of table {table!r} at {host}:{port} failed: {exc!r}. Hint: is the HBase "
        f"Thrift server up (hbase thrift start -p {port}) and does the table exist?"
    )


def _published_scan(
    customer_id: str, manifest: Mapping[str, Any] | None
) -> tuple[dict[str, Any], bytes | None]:
    """happybase scan arguments for one customer's orders as the published run wrote them, and
    that run's id (None: every row counts).

    Every cell a run writes carries its ``cell_timestamp`` and the families keep a few versions,
    so a scan bounded just above it reads the published run's version of a row even while a
    later run is rewriting it. A manifest without ``cell_timestamp`` (data from before runs had
    one, or none at all) gives the plain prefix scan.
    """
    scan: dict[str, Any] = {"row_prefix": hbase_codec.customer_prefix(customer_id)}
    if not manifest or manifest.get("cell_timestamp") is None:
        return scan, None
    scan["timestamp"] = int(manifest["cell_timestamp"]) + 1  # HBase reads [0, timestamp)
    return scan, str(manifest.get("run_id", "")).encode()


def _of_run(
    rows: Iterable[tuple[bytes, Mapping[bytes, bytes]]], run: bytes | None
) -> Iterator[tuple[bytes, Mapping[bytes, bytes]]]:
    """The rows that run wrote: rows an older run left (not deleted yet) name another run."""
    return (row for row in rows if run is None or row[1].get(hbase_codec.RUN_COLUMN) == run)


class HBaseSource(FrameAggregates):
    """The whole ``customer_orders`` table over Thrift 1, scanned once per process, aggregated in
    pandas. For small tables and tests: at millions of rows use ``AggregateSource``.

    The connection opens on first use; a failed call drops it so the next call reconnects.
    happybase connections are not thread-safe, hence one lock around every use.
    """

    def __init__(
        self,
        host: str,
        port: int,
        table: str = "customer_orders",
        batch_size: int = 10_000,
        *,
        connect: Callable[[], Any] | None = None,
    ) -> None:
        self.host, self.port, self.table, self.batch_size = host, port, table, batch_size
        self._connect = connect or self._thrift_connection
        self._connection: Any = None
        self._frame: pd.DataFrame | None = None
        self._lock = threading.RLock()

    def _thrift_connection(self) -> happybase.Connection:
        return hbase_table.connect(self.host, self.port, autoconnect=False)

    def _scan(self, run: bytes | None = None, **scan_args: Any) -> pd.DataFrame:
        with self._lock:
            try:
                if self._connection is None:
                    connection = self._connect()
                    connection.open()
                    self._connection = connection
                rows = self._connection.table(self.table).scan(
                    batch_size=self.batch_size, **scan_args
                )
                return normalize(hbase_codec.decode_frame(_of_run(rows, run)))
            except (OSError, TException) as exc:
                self.close()
                raise _thrift_error("scan", self.host, self.port, self.table, exc) from exc

    def orders(self) -> pd.DataFrame:
        with self._lock:
            if self._frame is None:
                self._frame = self._scan()
            return self._frame

    def refresh(self) -> pd.DataFrame:
        """Re-scan the table now (the cached frame stays if the scan fails)."""
        frame = self._scan()
        with self._lock:
            self._frame = frame
        return frame

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """Those of the run ``manifest()`` names; this source has none, so every row counts."""
        scan, run = _published_scan(customer_id, self.manifest())
        return _by_order_date(self._scan(run, **scan))

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError, TException):  # a broken transport may not close
                connection.close()

    def describe(self) -> str:
        return f"hbase://{self.host}:{self.port}/{self.table}"

    def label(self) -> str:
        return f"HBase table {self.table}"


class _Link:
    """One lazily opened happybase connection and the lock that serialises its use."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._connection: Any = None
        self.lock = threading.Lock()

    def table(self, name: str) -> Any:
        if self._connection is None:
            connection = self._connect()
            connection.open()
            self._connection = connection
        return self._connection.table(name)

    def drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError, TException):
                connection.close()


class AggregateSource:
    """The published aggregates (``<table>_aggregates``) and the orders table, over Thrift 1.

    The aggregates are read once into memory and served from there. At most every
    ``check_seconds`` one request reads ``manifest|latest`` (a single-row get); when its
    ``run_id`` differs from the one in memory, that request reloads the aggregates while the
    others keep being served the previous run; with ``reload_in_background`` (as `pipeline serve`
    and the demo run it) a thread does the check and the reload, and no request waits for them
    (a 2M-row run's aggregates take seconds to read). A reload that finds rows of two runs (a
    publish in progress) keeps the previous run and looks again after ``retry_seconds``. A
    customer's orders are a prefix scan of the orders table on a connection of their own, so a
    reload never holds up a drill-down.
    """

    def __init__(
        self,
        host: str,
        port: int,
        table: str = "customer_orders",
        *,
        aggregates_table: str | None = None,
        check_seconds: float = 5.0,
        retry_seconds: float = 1.0,
        batch_size: int = 5_000,
        connect: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        reload_in_background: bool = False,
    ) -> None:
        self.host, self.port, self.table = host, port, table
        self.reload_in_background = reload_in_background
        self.aggregates_table = aggregates_table or f"{table}_aggregates"
        self.check_seconds, self.retry_seconds = check_seconds, retry_seconds
        self.batch_size = batch_size
        self._clock = clock
        connect = connect or self._thrift_connection
        self._reader, self._lookups = _Link(connect), _Link(connect)
        self._snapshot: Snapshot | None = None
        self._manifest: dict[str, Any] | None = None
        self._manifest_stamp: int | None = None
        self._next_check = 0.0
        self._refresh_lock = threading.Lock()
        self.loads = 0  # how many times the aggregates were read (for tests and logs)

    def _thrift_connection(self) -> happybase.Connection:
        return hbase_table.connect(self.host, self.port, autoconnect=False)

    def _check(self) -> None:
        """Read the manifest; reload the aggregates when it names another run."""
        self._next_check = self._clock() + self.check_seconds
        with self._reader.lock:
            try:
                table = self._reader.table(self.aggregates_table)
                manifest, stamp = hbase_aggregates.get_manifest(table)
                if manifest is None:
                    raise SourceError(
                        f"table {self.aggregates_table!r} at {self.host}:{self.port} has no "
                        f"{hbase_aggregates.MANIFEST_KEY.decode()!r} row. Hint: run the aggregate "
                        "and publish steps (pipeline run) first."
                    )
                run_id = str(manifest.get("run_id", ""))
                if self._snapshot is not None and run_id == self._snapshot.run_id:
                    self._manifest, self._manifest_stamp = manifest, stamp
                    return
                frames: dict[str, pd.DataFrame] = {}
                runs: set[str] = set()
                for name in (*aggregate.PUBLISHED, *segments.TABLES):
                    frames[name], found = hbase_aggregates.scan_aggregate(
                        table, name, self.batch_size
                    )
                    runs |= found
            except (OSError, TException) as exc:
                self._reader.drop()
                raise _thrift_error(
                    "read", self.host, self.port, self.aggregates_table, exc
                ) from exc
        self.loads += 1
        if runs != {run_id}:
            self._next_check = self._clock() + self.retry_seconds
            if self._snapshot is not None:
                log.warning("aggregates hold runs %s while the manifest says %s", runs, run_id)
                return
        try:
            snapshot = Snapshot.from_aggregates(frames, run_id)
        except SnapshotError as exc:
            self._next_check = self._clock() + self.retry_seconds
            raise SourceError(f"{exc}. Hint: is a publish in progress? It is retried.") from exc
        self._snapshot, self._manifest, self._manifest_stamp = snapshot, manifest, stamp

    def aggregates(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() < self._next_check:
            return snapshot
        if snapshot is None:
            with self._refresh_lock:  # nothing to serve yet: wait for the first load
                if self._snapshot is None:
                    self._check()
        elif self._refresh_lock.acquire(blocking=False):  # one request checks, the rest serve
            if self.reload_in_background:
                threading.Thread(
                    target=self._due_check,
                    args=(snapshot.run_id,),
                    name="aggregates-check",
                    daemon=True,
                ).start()
            else:
                self._due_check(snapshot.run_id)
        assert self._snapshot is not None
        return self._snapshot

    def _due_check(self, serving: str) -> None:
        """The check, if still due, by the holder of the refresh lock, which it releases. A
        failed check keeps `serving`; in a thread of its own any error is logged, not raised."""
        try:
            if self._clock() >= self._next_check:
                self._check()
        except SourceError as exc:
            log.warning("keeping run %s: %s", serving, exc)
        except Exception:
            if not self.reload_in_background:
                raise
            log.exception("keeping run %s: the check of the published run failed", serving)
        finally:
            self._refresh_lock.release()

    def refresh(self) -> Snapshot:
        """Check the manifest now."""
        with self._refresh_lock:
            self._check()
        assert self._snapshot is not None
        return self._snapshot

    def manifest(self) -> dict[str, Any] | None:
        self.aggregates()
        return self._manifest

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """As the run whose aggregates are served wrote them, so the page agrees with the charts
        (and a later run's rows, written before its publish, stay hidden)."""
        manifest = self._manifest
        if manifest is None:  # nothing loaded yet; nothing published: every row counts
            with contextlib.suppress(SourceError):
                manifest = self.manifest()
        scan, run = _published_scan(customer_id, manifest)
        with self._lookups.lock:
            try:
                rows = list(
                    _of_run(self._lookups.table(self.table).scan(batch_size=1_000, **scan), run)
                )
            except (OSError, TException) as exc:
                self._lookups.drop()
                raise _thrift_error("prefix scan", self.host, self.port, self.table, exc) from exc
        return _by_order_date(normalize(hbase_codec.decode_frame(rows)))

    def close(self) -> None:
        for link in (self._reader, self._lookups):
            with link.lock:
                link.drop()

    def describe(self) -> str:
        return f"hbase://{self.host}:{self.port}/{self.aggregates_table}"

    def label(self) -> str:
        return f"HBase table {self.aggregates_table}"


class MemoryAggregateSource:
    """Published aggregates already in memory (``aggregate.PUBLISHED`` and ``segments.TABLES``
    frames, as ``AggregateSource`` reads them from HBase), without the orders behind them: the
    dashboard over a run's aggregates with no stack, e.g. for its latency at the seed's volume.
    The snapshot is built on first use, so ``measure_dashboard``'s ``load_seconds`` is its cost.
    """

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        run_id: str,
        *,
        manifest: Mapping[str, Any] | None = None,
        name: str = "memory",
    ) -> None:
        self._frames = dict(frames)
        self.run_id, self.name = run_id, name
        self._manifest = dict(manifest) if manifest is not None else None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def aggregates(self) -> Snapshot:
        with self._lock:
            if self._snapshot is None:
                try:
                    self._snapshot = Snapshot.from_aggregates(self._frames, self.run_id)
                except SnapshotError as exc:
                    raise SourceError(f"{self.describe()}: {exc}") from exc
            return self._snapshot

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """None: this source holds aggregates only (the canonical empty frame)."""
        return normalize(pd.DataFrame(columns=list(CLEAN_COLUMNS)))

    def manifest(self) -> dict[str, Any] | None:
        return self._manifest

    def describe(self) -> str:
        return f"memory:{self.name}"

    def label(self) -> str:
        return f"In-memory aggregates {self.name}"
