"""Row-at-a-time HBase access for the tests (the pipeline itself writes and reads in batches)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipeline import hbase_codec
from pipeline.adapters import hbase_table


def put_records(host: str, port: int, table: str, records: Iterable[Mapping[str, Any]]) -> int:
    frame = pd.DataFrame.from_records(list(records))
    return hbase_table.put_frame(lambda: hbase_table.connect(host, port), table, frame)


def read_record(host: str, port: int, table: str, key: bytes) -> dict[str, Any]:
    connection = hbase_table.connect(host, port)
    try:
        return hbase_codec.decode(connection.table(table).row(key))
    finally:
        connection.close()
