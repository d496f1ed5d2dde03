"""The loader's hand-written `mutateRowsTs` call is byte for byte what thriftpy2 would send, and a
batch cut off by a transient error is sent again, within bounds, on a new connection."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

import happybase  # noqa: F401 - loads the Hbase_thrift module
import pandas as pd
import pytest
from Hbase_thrift import BatchMutation, Hbase, IllegalArgument, Mutation
from Hbase_thrift import IOError as HBaseIOError
from hypothesis import given
from hypothesis import strategies as st
from thrift_reference import reference_bytes
from thriftpy2.protocol import TBinaryProtocol
from thriftpy2.thrift import TClient, TMessageType
from thriftpy2.transport import TMemoryBuffer, TTransportException

from pipeline import hbase_codec
from pipeline.adapters import hbase_table, thrift_puts
from pipeline.schema import CLEAN_COLUMNS

pytestmark = pytest.mark.unit

CELLS = st.dictionaries(
    st.sampled_from([b"order:_run", b"customer:Name", b"order:row_key"]),
    st.binary(max_size=20),
    min_size=1,
)
QUICK = hbase_table.RetryPolicy(attempts=4, first_wait=0.001, max_wait=0.002)


@given(
    st.lists(st.tuples(st.binary(min_size=1, max_size=30), CELLS), max_size=6),
    st.integers(0, 2**62),
    st.booleans(),
)
def test_timestamped_mutate_rows_bytes_are_what_thriftpy2_would_send(
    rows: list[tuple[bytes, dict[bytes, bytes]]], timestamp: int, wal: bool
) -> None:
    columns = sorted({c for _, cells in rows for c in cells})
    rows = [(key, {c: cells.get(c, b"") for c in columns}) for key, cells in rows]
    expected = reference_bytes(rows, wal, timestamp)
    keys = [key for key, _ in rows]
    cells = {c: [row[c] for _, row in rows] for c in columns}
    args = thrift_puts.mutate_rows_args(b"t", keys, cells, wal=wal, timestamp=timestamp)
    assert args == expected
    assert thrift_puts.method(timestamp) == "mutateRowsTs"
    assert thrift_puts.method(None) == "mutateRows"


def reply(name: str, **fields: object) -> bytes:
    """The server's answer to the call `name`: success, or an `io` / `ia` exception."""
    out = TMemoryBuffer()
    protocol = TBinaryProtocol(out)
    protocol.write_message_begin(name, TMessageType.REPLY, 0)
    getattr(Hbase, f"{name}_result")(**fields).write(protocol)
    protocol.write_message_end()
    return out.getvalue()


class FakeConnection:
    """What the loader uses of a happybase connection: its thriftpy2 client, here on memory
    buffers with the server's reply queued; `lost` is raised as a dropped connection would."""

    def __init__(self, answer: bytes = b"", lost: Exception | None = None) -> None:
        self.sent, self.lost, self.closed = TMemoryBuffer(), lost, False
        self._client = TClient(
            Hbase, TBinaryProtocol(TMemoryBuffer(answer)), TBinaryProtocol(self.sent)
        )

    @property
    def client(self) -> TClient:
        if self.lost is not None:
            raise self.lost
        return self._client

    def close(self) -> None:
        self.closed = True


class Factory:
    """A connection factory handing out prepared connections (or raising), counting calls."""

    def __init__(self, *connections: FakeConnection | Exception) -> None:
        self.connections: Iterator[FakeConnection | Exception] = iter(connections)
        self.opened: list[FakeConnection] = []

    def __call__(self) -> FakeConnection:
        connection = next(self.connections)
        if isinstance(connection, Exception):
            raise connection
        self.opened.append(connection)
        return connection


def frame(n: int) -> pd.DataFrame:
    rows = [
        {
            "row_key": f"r{i}",
            "CustomerID": f"C{i}",
            "Name": "Ada",
            "Age": 30,
            "AgeGroup": "25-34",
            "Country": "Germany",
            "Region": "Europe",
            "RegistrationDate": dt.date(2023, 1, 1),
            "OrderDate": dt.date(2024, 2, 1),
            "Quantity": 2,
            "TotalAmount": 19.98,
            "TotalAmountNormalized": 0.5,
            "ProductID": "P1",
            "ProductName": "Wireless Mouse",
            "Category": "Electronics",
            "Price": 9.99,
            "ShippingAddress": "1 Main St, Zürich",
            "ShippingDate": dt.date(2024, 3, 1),
        }
        for i in range(n)
    ]
    return pd.DataFrame.from_records(rows, columns=list(CLEAN_COLUMNS))


def thriftpy2_call(rows: pd.DataFrame, timestamp: int, run_id: str) -> bytes:
    """The whole message thriftpy2's own client sends for these rows at that timestamp."""
    keys, cells = hbase_codec.encode_frame(rows)
    cells[hbase_codec.RUN_COLUMN] = [run_id.encode()] * len(keys)
    batches = [
        BatchMutation(
            row=key,
            mutations=[
                Mutation(isDelete=False, column=column, value=values[i], writeToWAL=True)
                for column, values in cells.items()
            ],
        )
        for i, key in enumerate(keys)
    ]
    sent = TMemoryBuffer()
    client = TClient(
        Hbase, TBinaryProtocol(TMemoryBuffer(reply("mutateRowsTs"))), TBinaryProtocol(sent)
    )
    client.mutateRowsTs(b"t", batches, timestamp, {})
    return sent.getvalue()


def test_a_batch_cut_off_is_sent_again_whole_on_a_new_connection() -> None:
    lost = FakeConnection(lost=TTransportException(message="TSocket read 0 bytes"))
    busy = FakeConnection(reply("mutateRowsTs", io=HBaseIOError(message="RegionTooBusyException")))
    good = FakeConnection(reply("mutateRowsTs"))
    connect = Factory(lost, ConnectionRefusedError(111, "refused"), busy, good)

    rows = frame(3)
    assert hbase_table.put_frame(connect, "t", rows, timestamp=7, run_id="run-1", retry=QUICK) == 3

    assert connect.opened == [lost, busy, good]
    assert lost.closed and busy.closed and good.closed
    assert good.sent.getvalue() == busy.sent.getvalue() == thriftpy2_call(rows, 7, "run-1")


def test_a_bad_request_is_raised_at_once() -> None:
    refused = FakeConnection(
        reply("mutateRowsTs", ia=IllegalArgument(message="Row length 40000 is > 32767"))
    )
    connect = Factory(refused)
    key = hbase_codec.row_key_of(frame(1).iloc[0].to_dict())
    expected = f"writing t from row key {key!r}: refused by HBase: IllegalArgument: Row length"
    with pytest.raises(hbase_table.RequestRefused, match=re.escape(expected)):
        hbase_table.put_frame(connect, "t", frame(1), timestamp=7, run_id="run-1", retry=QUICK)
    assert connect.opened == [refused] and refused.closed


def test_past_the_bound_the_load_fails_naming_table_key_attempts_and_error() -> None:
    stack_trace = "java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch"
    answer = reply("mutateRows", io=HBaseIOError(message=stack_trace))
    connect = Factory(*[FakeConnection(answer) for _ in range(4)])
    with pytest.raises(hbase_table.LoadFailed) as failed:
        hbase_table.put_frame(connect, "orders", frame(2), retry=QUICK)
    message = str(failed.value)
    key = hbase_codec.row_key_of(frame(2).iloc[0].to_dict())
    assert f"writing orders from row key {key!r}" in message
    assert "after 4 attempts" in message
    assert "last error: IOError: java.net.ConnectException: Connection refused." in message
    assert "\tat" not in message  # the first line of the Java stack trace only
    assert "pipeline load --run ID" in message


def test_the_deadline_bounds_the_retries_too() -> None:
    policy = hbase_table.RetryPolicy(attempts=1_000, first_wait=0.01, max_wait=0.01, deadline=0.1)
    link = hbase_table.Retrying(Factory(*[OSError("refused")] * 1_000), policy)
    started = time.monotonic()
    with pytest.raises(hbase_table.LoadFailed, match="gave up after"):
        link.call("counting t", lambda connection: 0)
    assert time.monotonic() - started < 1.0


def test_waits_double_up_to_the_cap() -> None:
    assert list(hbase_table.RetryPolicy(attempts=7).waits()) == [0.5, 1, 2, 4, 8, 8]
