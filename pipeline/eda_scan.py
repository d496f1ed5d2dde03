"""`pipeline eda`: the published run's orders read from HBase through Thrift in bounded chunks
(the seed's path into pandas), summed (pipeline.eda) and written as one HTML report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from dashboard.eda_report import render
from pipeline.adapters import hbase_aggregates, hbase_table
from pipeline.eda import EdaTotals
from pipeline.progress import SILENT, Progress
from pipeline.settings import Settings

CHUNK_ROWS = 50_000
REPORT = "report.html"


@dataclass(frozen=True)
class EdaResult:
    path: Path
    rows: int
    seconds: float
    run_id: str | None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def write_report(
    settings: Settings, output: Path, chunk_rows: int = CHUNK_ROWS, progress: Progress = SILENT
) -> EdaResult:
    """Scan the rows of the run the dashboard shows (every row when nothing was published)."""
    host, port = settings.thrift_host, settings.thrift_port
    manifest = hbase_aggregates.read_manifest(host, port, hbase_aggregates.table_name(settings))
    run_id = str(manifest["run_id"]) if manifest and manifest.get("run_id") else None
    loaded = next(
        (s["rows_out"] for s in (manifest or {}).get("stages", []) if s["name"] == "load_hbase"), 0
    )
    totals = EdaTotals()
    started = time.monotonic()
    with progress.track("eda scan", loaded, lambda: totals.rows):
        for chunk in hbase_table.scan_chunks(host, port, settings.hbase_table, chunk_rows, run_id):
            totals.add(chunk)
    seconds = time.monotonic() - started
    scan = {
        "table": settings.hbase_table,
        "chunk_rows": chunk_rows,
        "rows_per_s": totals.rows / seconds if seconds else 0.0,
    }
    output.mkdir(parents=True, exist_ok=True)
    path = output / REPORT
    path.write_text(render(totals, manifest, scan), encoding="utf-8")
    return EdaResult(path, totals.rows, round(seconds, 2), run_id)
