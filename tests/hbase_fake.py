"""The unit tier's HBase: happybase's Connection/Table/Batch calls the code makes, on dicts.

One fake for every unit test. tests/integration/test_hbase_fake_contract.py runs the same calls on
the real HBase and on this fake and compares what comes back, so the fake cannot drift from what
it stands for. What it does not model: cell versions (one value per cell; `timestamp` is ignored)
and filters other than key-only ones (a filtered scan yields keys with no cells).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class FakeHBase:
    """Tables as dicts of row key -> cells, a write clock for cell timestamps, a call log.

    `fail` makes every connection and read raise as a dropped Thrift connection does."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[bytes, dict[bytes, bytes]]] = {}
        self.stamps: dict[tuple[str, bytes], int] = {}
        self.clock = 0
        self.fail = False
        self.calls: list[tuple[Any, ...]] = []
        self.connections: list[FakeConnection] = []

    def connect(self) -> FakeConnection:
        """A connection factory, as `connect=` arguments take one."""
        return FakeConnection(self)

    def table(self, name: str) -> FakeTable:
        return FakeTable(self, name)


class FakeBatch:
    def __init__(self, table: FakeTable) -> None:
        self.table = table

    def __enter__(self) -> FakeBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def put(self, key: bytes, cells: dict[bytes, bytes]) -> None:
        self.table.put(key, cells)

    def delete(self, key: bytes) -> None:
        self.table.rows.pop(key, None)

    def send(self) -> None:
        return None


class FakeTable:
    def __init__(self, hbase: FakeHBase, name: str) -> None:
        self.hbase, self.name = hbase, name
        self.rows = hbase.tables.setdefault(name, {})

    def _check(self) -> None:
        if self.hbase.fail:
            raise OSError("TSocket read 0 bytes")

    def put(self, key: bytes, cells: dict[bytes, bytes]) -> None:
        self.hbase.clock += 1
        self.rows[key] = {**self.rows.get(key, {}), **cells}
        self.hbase.stamps[self.name, key] = self.hbase.clock

    def batch(self, batch_size: int | None = None) -> FakeBatch:
        return FakeBatch(self)

    def row(
        self, key: bytes, columns: list[bytes] | None = None, include_timestamp: bool = False
    ) -> dict[bytes, Any]:
        self._check()
        self.hbase.calls.append(("row", self.name, key))
        cells = _selected(self.rows.get(key, {}), columns)
        stamp = self.hbase.stamps.get((self.name, key), 0)
        return {c: (v, stamp) for c, v in cells.items()} if include_timestamp else cells

    def scan(
        self,
        row_prefix: bytes | None = None,
        columns: list[bytes] | None = None,
        filter: bytes | None = None,  # noqa: A002  (happybase's name)
        batch_size: int = 1000,
        **kwargs: Any,
    ) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
        self._check()
        self.hbase.calls.append(("scan", self.name, row_prefix, batch_size))
        for key in sorted(self.rows):
            if key.startswith(row_prefix or b""):
                cells = _selected(self.rows[key], columns)
                if cells:
                    yield key, ({} if filter else cells)


class FakeConnection:
    """Stands in for happybase.Connection: open, table, close."""

    def __init__(self, hbase: FakeHBase) -> None:
        self.hbase, self.opened, self.closed = hbase, False, False
        hbase.connections.append(self)

    def open(self) -> None:
        if self.hbase.fail:
            raise OSError("connection refused")
        self.opened = True

    def table(self, name: str) -> FakeTable:
        return FakeTable(self.hbase, name)

    def close(self) -> None:
        self.closed = True


def _selected(cells: dict[bytes, bytes], columns: list[bytes] | None) -> dict[bytes, bytes]:
    """The cells of the given families (``b"f"``) or columns (``b"f:q"``), as HBase selects."""
    if not columns:
        return dict(cells)
    return {
        c: v
        for c, v in cells.items()
        if any(c == s or (b":" not in s and c.split(b":", 1)[0] == s) for s in columns)
    }
