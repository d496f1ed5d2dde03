"""Reading the bulk-load tool's result line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.adapters.hbase_bulk import BulkLoaded, BulkLoadFailed, parse_result

pytestmark = pytest.mark.unit


def test_the_last_result_line_gives_rows_files_and_seconds() -> None:
    output = (
        "12:00 INFO noise rows=1\n"
        "bulkload rows=199426 duplicates=2 hfiles=64 write_ms=7220 load_ms=3234\n"
    )
    assert parse_result(output, Path("x.log")) == BulkLoaded(199_426, 2, 64, 7.22, 3.234)


def test_output_without_a_result_names_the_log() -> None:
    with pytest.raises(BulkLoadFailed, match="run/logs/hbase-bulk-load.log"):
        parse_result("Exception in thread main", Path("run/logs/hbase-bulk-load.log"))


def test_a_replacing_load_reports_the_rows_it_deleted() -> None:
    output = (
        "bulkload rows=292614 duplicates=0 hfiles=2 write_ms=2774 load_ms=862 stale=1203 "
        "stale_ms=6720\n"
    )
    loaded = parse_result(output, Path("x.log"))
    assert (loaded.rows, loaded.stale) == (292_614, 1_203)


def test_a_counting_load_reports_the_run_s_rows_and_the_count_s_time() -> None:
    output = (
        "bulkload rows=4000 duplicates=0 hfiles=64 write_ms=900 load_ms=300 stale=0 stale_ms=0\n"
        "rowcount rows=3999 count_ms=1250\n"
    )
    loaded = parse_result(output, Path("x.log"))
    assert (loaded.rows, loaded.counted, loaded.count_seconds) == (4_000, 3_999, 1.25)
    without = parse_result(output.splitlines()[0], Path("x.log"))
    assert (without.counted, without.count_seconds) == (None, 0.0)
