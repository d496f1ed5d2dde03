"""The loader's hot path: a Thrift `mutateRows` (or, at a run's timestamp, `mutateRowsTs`) call
written straight from column-wise cells.

happybase builds one thriftpy2 object per cell (17 per order), which costs more CPU than the
HBase write itself on a small machine. This writes the same bytes (Thrift binary protocol,
strict) from precomputed per-column prefixes and sends them on happybase's own connection, so
replies and errors are still read by happybase's Thrift client. A unit test holds the bytes equal
to thriftpy2's.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

import happybase
from thriftpy2.thrift import TMessageType

_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_BOOL, _I64_TYPE, _STRING, _STRUCT, _MAP, _LIST = 2, 10, 11, 12, 13, 15


def _field(kind: int, field_id: int) -> bytes:
    return bytes([kind]) + field_id.to_bytes(2, "big")


def _string(value: bytes) -> bytes:
    return _I32.pack(len(value)) + value


def method(timestamp: int | None) -> str:
    """The thrift1 call `mutate_rows_args(..., timestamp)` built the arguments of."""
    return "mutateRows" if timestamp is None else "mutateRowsTs"


def mutate_rows_args(
    table: bytes,
    keys: Sequence[bytes],
    cells: Mapping[bytes, Sequence[bytes]],
    wal: bool = True,
    timestamp: int | None = None,
) -> bytes:
    """`Hbase.mutateRows_args(table, [BatchMutation(key, [Mutation(column, value)...])...], {})`,
    or with a timestamp `Hbase.mutateRowsTs_args(table, batches, timestamp, {})`: every cell of
    the call carries that timestamp."""
    wal_tail = _field(_BOOL, 4) + bytes([wal]) + b"\x00"
    # Mutation{1: isDelete=false, 2: column, 3: value, 4: writeToWAL}; only the value varies.
    heads = [
        _field(_BOOL, 1) + b"\x00" + _field(_STRING, 2) + _string(column) + _field(_STRING, 3)
        for column in cells
    ]
    mutations_head = _field(_LIST, 2) + bytes([_STRUCT]) + _I32.pack(len(cells))
    pack = _I32.pack
    per_column = [
        [head + pack(len(v)) + v + wal_tail for v in values]
        for head, values in zip(heads, cells.values(), strict=True)
    ]
    row_head = _field(_STRING, 1)
    rows = [
        b"".join((row_head, pack(len(key)), key, mutations_head, *row_cells, b"\x00"))
        for key, *row_cells in zip(keys, *per_column, strict=True)
    ]
    return b"".join(
        (
            _field(_STRING, 1) + _string(table),
            _field(_LIST, 2) + bytes([_STRUCT]) + pack(len(rows)),
            *rows,
            b"" if timestamp is None else _field(_I64_TYPE, 3) + _I64.pack(timestamp),
            _field(_MAP, 3 if timestamp is None else 4) + bytes([_STRING, _STRING]) + pack(0),
            b"\x00",
        )
    )


def mutate_rows(connection: happybase.Connection, args: bytes, name: str = "mutateRows") -> None:
    """Send prepared arguments of the call `name` (`method(timestamp)`) the way thriftpy2's
    client sends a call, and read the reply with it: HBase's IOError or IllegalArgument, or the
    transport's error, is raised here."""
    client = connection.client
    protocol = client._oprot  # noqa: SLF001 - the protocol happybase's client writes with
    protocol.write_message_begin(name, TMessageType.CALL, client._seqid)  # noqa: SLF001
    protocol.trans.write(args)
    protocol.write_message_end()
    protocol.trans.flush()
    client._recv(name)  # noqa: SLF001
