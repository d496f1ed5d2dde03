"""HBase's own client, run in the HBase container where its jars and configuration are: the bulk
load (stack/hbase/BulkLoad.java: sorted cell lines on HDFS -> HFiles -> the region servers), row
counts (stack/hbase/RowCount.java) and retiring older runs' rows (stack/hbase/Retire.java)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.adapters.container import run_in
from pipeline.hbase_codec import RUN_COLUMN

RESULT = re.compile(
    r"bulkload rows=(\d+) duplicates=(\d+) hfiles=(\d+) write_ms=(\d+) load_ms=(\d+)"
)
STALE = re.compile(r"stale=(\d+)")


COUNTED = re.compile(r"rowcount rows=(\d+)")
COUNT_MS = re.compile(r"rowcount rows=\d+ count_ms=(\d+)")
RETIRED = re.compile(r"retire kept=(\d+) deleted=(\d+)")


class BulkLoadFailed(RuntimeError):
    """The bulk-load tool failed; its whole output is in the run's log folder."""


class RowCountFailed(RuntimeError):
    """The row-count or retire tool failed or printed no count."""


@dataclass(frozen=True)
class BulkLoaded:
    rows: int
    duplicates: int  # rows whose key an earlier line had (skipped: HBase keeps one per key)
    hfiles: int
    hfile_seconds: float  # writing the HFiles
    handoff_seconds: float  # HBase's own BulkLoadHFiles moving them into the regions
    stale: int = 0  # rows deleted after a replacing load (`replace_by`)
    counted: int | None = None  # rows of the run counted in the table after the load (`count_run`)
    count_seconds: float = 0.0  # that count's


def parse_result(output: str, log: Path) -> BulkLoaded:
    found = RESULT.findall(output)
    if not found:
        raise BulkLoadFailed(f"the bulk load printed no result; its output is in {log}")
    rows, duplicates, hfiles, write_ms, load_ms = (int(n) for n in found[-1])
    stale = int(next(iter(STALE.findall(output)[-1:]), 0))
    counted = next((int(n) for n in COUNTED.findall(output)[-1:]), None)
    count_ms = int(next(iter(COUNT_MS.findall(output)[-1:]), 0))
    return BulkLoaded(
        rows, duplicates, hfiles, write_ms / 1000, load_ms / 1000, stale, counted, count_ms / 1000
    )


def bulk_load(
    container: str,
    table: str,
    lines: str,
    hfiles: str,
    timestamp: int,
    columns: list[bytes],
    log: Path,
    replace_by: bytes | None = None,
    count_run: str | None = None,
) -> BulkLoaded:
    """Every line of `lines` (files sorted by row key) into `table`, each cell at `timestamp`;
    `hfiles` is the tool's scratch folder on the same file system (emptied first). With
    `replace_by` (a column every row has), the rows the load did not write are deleted after it:
    those whose newest cell of that column is older than `timestamp`. With `count_run`, the
    table's rows of that run are counted after the load (`count_rows`), by the same tool."""
    command = [
        "/opt/service/start.sh", "bulkload", table, lines, hfiles, str(timestamp),
        ",".join(column.decode() for column in columns),
    ]  # fmt: skip
    if replace_by is not None:
        command += ["--replace-by", replace_by.decode()]
    if count_run is not None:
        command += ["--count", RUN_COLUMN.decode(), count_run]
    code, output = run_in(container, command)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    if code != 0:
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise BulkLoadFailed(f"the bulk load into {table} exited {code}:\n{tail}\n(all in {log})")
    return parse_result(output, log)


def count_rows(container: str, table: str, run_id: str | None = None) -> int:
    """Rows of `table` (with `run_id`: those whose newest `order:_run` is that run), by a scan
    through HBase's own client: the Thrift counts' scans without a Thrift call per 10k rows."""
    command = ["/opt/service/start.sh", "rowcount", table]
    if run_id is not None:
        command += [RUN_COLUMN.decode(), run_id]
    (rows,) = _counts(container, command, COUNTED, f"counting the rows of {table}")
    return rows


def retire_rows_not_of_run(container: str, table: str, run_id: str) -> tuple[int, int]:
    """Delete every row of `table` whose newest `order:_run` is not `run_id` (or which has none),
    and count the rows kept, in one scan of the `order` family through HBase's own client:
    (kept, deleted). A row with no `order` cell at all is not seen (no loader writes one). The
    deletes are bulk-loaded delete markers (Retire.java), past the region server's write path."""
    command = ["/opt/service/start.sh", "retire", table, RUN_COLUMN.decode(), run_id]
    kept, deleted = _counts(container, command, RETIRED, f"retiring older runs' rows of {table}")
    return kept, deleted


def _counts(container: str, command: list[str], result: re.Pattern[str], what: str) -> list[int]:
    """The numbers of the tool's last result line."""
    code, output = run_in(container, command)
    found = list(result.finditer(output))
    if code != 0 or not found:
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise RowCountFailed(f"{what} exited {code}:\n{tail}")
    return [int(n) for n in found[-1].groups()]
