"""Where the dashboard's orders come from: a small protocol and its Parquet and HBase adapters.

Every source hands out frames in one canonical shape (see ``normalize``), so the filters and the
figures never care whether the rows came from a Spark output directory or from HBase.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import happybase
import pandas as pd
import pyarrow.dataset as ds
from thriftpy2.thrift import TException

from pipeline import hbase_codec
from pipeline.schema import CLEAN_COLUMNS, DATE_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS


class SourceError(RuntimeError):
    """The orders could not be read; the message names the location and gives a hint."""


@runtime_checkable
class OrdersSource(Protocol):
    def orders(self) -> pd.DataFrame:
        """All clean orders, columns per ``schema.CLEAN_COLUMNS``."""
        ...

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        """One customer's orders, oldest first."""
        ...

    def describe(self) -> str:
        """Where the data comes from, for /health and the page footer."""
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


class ParquetSource:
    """A Spark output directory of Parquet (part files, hive partitions), read once per process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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

    def customer_orders(self, customer_id: str) -> pd.DataFrame:
        frame = self.orders()
        return _by_order_date(frame[frame["CustomerID"] == customer_id])

    def describe(self) -> str:
        return f"parquet:{self.path}"


class HBaseSource:
    """The ``customer_orders`` HBase table over Thrift 1, scanned once per process.

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
        return happybase.Connection(
            self.host, self.port, autoconnect=False, transport="buffered", protocol="binary"
        )

    def _scan(self, **scan_args: Any) -> pd.DataFrame:
        with self._lock:
            try:
                if self._connection is None:
                    connection = self._connect()
                    connection.open()
                    self._connection = connection
                rows = self._connection.table(self.table).scan(
                    batch_size=self.batch_size, **scan_args
                )
                return normalize(hbase_codec.decode_frame(rows))
            except (OSError, TException) as exc:
                self.close()
                raise SourceError(
                    f"HBase scan of table {self.table!r} at {self.host}:{self.port} failed: "
                    f"{exc!r}. Hint: is the HBase Thrift server up (hbase thrift start -p "
                    f"{self.port}) and does the table exist?"
                ) from exc

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
        frame = self._scan(row_prefix=hbase_codec.customer_prefix(customer_id))
        return _by_order_date(frame)

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(OSError, TException):  # a broken transport may not close
                connection.close()

    def describe(self) -> str:
        return f"hbase://{self.host}:{self.port}/{self.table}"
