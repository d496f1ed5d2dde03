"""What thriftpy2 (happybase's Thrift client) itself writes for a batch of puts: the reference the
hand-written `pipeline.adapters.thrift_puts` bytes are held to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import happybase  # noqa: F401 - loads the Hbase_thrift module


def reference_bytes(
    rows: Sequence[tuple[bytes, Mapping[bytes, bytes]]], wal: bool, timestamp: int | None = None
) -> bytes:
    from Hbase_thrift import BatchMutation, Hbase, Mutation
    from thriftpy2.protocol import TBinaryProtocol
    from thriftpy2.transport import TMemoryBuffer

    batches = [
        BatchMutation(
            row=key,
            mutations=[
                Mutation(isDelete=False, column=c, value=v, writeToWAL=wal)
                for c, v in cells.items()
            ],
        )
        for key, cells in rows
    ]
    if timestamp is None:
        args = Hbase.mutateRows_args(tableName=b"t", rowBatches=batches, attributes={})
    else:
        args = Hbase.mutateRowsTs_args(
            tableName=b"t", rowBatches=batches, timestamp=timestamp, attributes={}
        )
    out = TMemoryBuffer()
    args.write(TBinaryProtocol(out))
    return out.getvalue()
