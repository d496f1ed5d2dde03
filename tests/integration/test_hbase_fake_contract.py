"""The unit tier's HBase fake (tests/hbase_fake.py) answers as the real HBase does.

The same happybase calls the pipeline and the dashboard make run on the real HBase (Thrift) and on
the fake; what they return must be equal. If the fake drifts, this fails, not a unit test that
trusted it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hbase_fake import FakeHBase

from pipeline.adapters.hbase_table import connect

pytestmark = pytest.mark.integration

FAMILIES = ("customer", "order")


def exercise(connection: Any, table_name: str) -> dict[str, Any]:
    """Writes, overwrites, deletes and reads through `connection`; everything it read back."""
    table = connection.table(table_name)
    seen: dict[str, Any] = {}
    for n in range(6):
        key = f"{n % 3:x}|C{n}|2024-03-0{n + 1}|k{n}".encode()
        table.put(key, {b"customer:Name": f"N{n}".encode(), b"order:Quantity": str(n).encode()})
    table.put(b"1|C1|2024-03-02|k1", {b"order:Quantity": b"99", b"order:flags": b""})
    with table.batch(batch_size=2) as batch:
        batch.put(b"2|C9|2024-04-01|k9", {b"customer:Name": b"Nine"})
        batch.delete(b"0|C3|2024-03-04|k3")
    seen["all"] = list(table.scan())
    seen["prefix"] = list(table.scan(row_prefix=b"1|"))
    seen["family"] = list(table.scan(columns=[b"customer"]))
    seen["column"] = list(table.scan(row_prefix=b"2|", columns=[b"order:Quantity"]))
    seen["keys"] = [key for key, _ in table.scan(filter=b"KeyOnlyFilter()", batch_size=3)]
    first_only = b"FirstKeyOnlyFilter() AND KeyOnlyFilter()"
    seen["first_keys"] = [key for key, _ in table.scan(filter=first_only, batch_size=3)]
    seen["row"] = table.row(b"1|C1|2024-03-02|k1")
    seen["row_columns"] = table.row(b"1|C1|2024-03-02|k1", columns=[b"order:Quantity"])
    seen["absent"] = table.row(b"f|nobody")
    stamped = table.row(b"1|C1|2024-03-02|k1", include_timestamp=True)
    seen["stamped"] = {column: value for column, (value, _) in stamped.items()}
    seen["stamps"] = sorted({type(t).__name__ for _, t in stamped.values()})
    return seen


@pytest.fixture
def real(hbase_service) -> Iterator[tuple[Any, str]]:
    connection = connect(hbase_service.thrift_host, hbase_service.thrift_port)
    name = f"fake_contract_{uuid.uuid4().hex[:8]}"
    connection.create_table(name, {f: {} for f in FAMILIES})
    try:
        yield connection, name
    finally:
        connection.delete_table(name, disable=True)
        connection.close()


def test_the_fake_reads_back_what_the_real_hbase_does(real: tuple[Any, str]) -> None:
    connection, name = real
    on_hbase = exercise(connection, name)
    on_fake = exercise(FakeHBase().connect(), name)
    for what in on_hbase:
        assert on_fake[what] == on_hbase[what], what
    assert on_hbase["keys"] == [key for key, _ in on_hbase["all"]]
    assert b"0|C3|2024-03-04|k3" not in on_hbase["keys"]
