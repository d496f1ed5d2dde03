"""The whole path on running services: generate -> bulk + Kafka -> stream -> transform -> HBase.

Each layer is built, validated by its Great Expectations gate, then published: a failed gate
stops the run before the next stage. Every stage reports rows in and out and its wall time; the
run manifest keeps them with the gate results and the reconciliation of the counts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from pipeline import gates
from pipeline.adapters import hbase_aggregates, hbase_table, kafka_topic
from pipeline.adapters.raw_store import read_raw, upload_bulk
from pipeline.generate import write_orders
from pipeline.jobs.aggregate import run_aggregate
from pipeline.jobs.load_hbase import run_load
from pipeline.jobs.stream_ingest import run_stream_ingest
from pipeline.jobs.transform import run_transform
from pipeline.settings import Settings
from pipeline.spark_session import build_spark

BULK_SHARE = 0.4
RAW_GATE_SAMPLE_ROWS = 200_000  # the raw suite checks shares of rows: a sample answers it


@dataclass
class Stage:
    name: str
    rows_in: int
    rows_out: int
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Manifest:
    rows: int
    seed: int
    error_rate: float
    run_id: str = field(default_factory=hbase_aggregates.new_run_id)
    status: str = "running"
    finished_at: str | None = None
    stages: list[Stage] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    reconciliation: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_docs: str = ""

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=str))

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2))
        return path


def reconcile(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """The counts that must agree, stage to stage; each check says both sides."""
    out = {s.name: s for s in manifest.stages}
    checks: dict[str, tuple[int, int]] = {}
    if {"bulk_load", "stream_ingest", "transform"} <= set(out):
        landed = out["bulk_load"].rows_out + out["stream_ingest"].rows_out
        checks["produced + bulk = raw"] = (
            out["bulk_load"].rows_in + out["produce"].rows_out,
            out["transform"].rows_in,
        )
        checks["bulk + streamed landed = raw"] = (landed, out["transform"].rows_in)
        detail = out["transform"].detail
        checks["raw = clean + quarantined + duplicates"] = (
            out["transform"].rows_in,
            out["transform"].rows_out + detail["quarantined"] + detail["duplicates"],
        )
    if "load_hbase" in out:
        checks["clean = HBase rows"] = (out["transform"].rows_out, out["load_hbase"].rows_out)
    if "publish_aggregates" in out:
        orders = out["publish_aggregates"].detail["orders"]
        checks["clean = orders in the aggregates"] = (out["transform"].rows_out, orders)
    return {name: {"expected": a, "actual": b, "ok": a == b} for name, (a, b) in checks.items()}


def split_lines(path: Path, share: float) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    cut = round(len(lines) * share)
    return lines[:cut], lines[cut:]


class _Run:
    """One run's bookkeeping: stages in order, gates checked, manifest always written."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        report: Callable[[Stage], None],
        progress: Callable[[str], None] = lambda _: None,
    ):
        self.settings, self.manifest = settings, manifest
        self.report, self.progress = report, progress
        self.docs = settings.output_dir / "data-docs"
        manifest.data_docs = str(self.docs)

    def stage(self, name: str, rows_in: int, rows_out: int, started: float, **detail: Any) -> None:
        stage = Stage(name, rows_in, rows_out, round(time.monotonic() - started, 2), detail)
        self.manifest.stages.append(stage)
        self.report(stage)

    def gate(self, dataset: str, frame: Any) -> None:
        result = gates.validate(dataset, frame, docs_dir=self.docs)
        self.manifest.gates.append(result.as_dict())
        gates.require(result)

    def close(self, status: str) -> None:
        self.manifest.status = status
        self.manifest.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.manifest.reconciliation = reconcile(self.manifest)
        self.manifest.write(self.settings.output_dir / "manifest.json")


def run_pipeline(
    settings: Settings,
    rows: int,
    seed: int,
    error_rate: float,
    report: Callable[[Stage], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> Manifest:
    """Raises gates.GateFailed (after writing the manifest) when a layer fails its gate."""
    manifest = Manifest(rows=rows, seed=seed, error_rate=error_rate)
    run = _Run(settings, manifest, report, progress)
    try:
        spark = build_spark(settings, kafka=True)
        _ingest(spark, run, rows, seed, error_rate)
        _transform(spark, run)
        publish_clean(spark, settings, run)
        _aggregate(spark, run)
    except gates.GateFailed:
        run.close("gate_failed")
        raise
    except Exception:
        run.close("failed")
        raise
    ok = all(check["ok"] for check in reconcile(manifest).values())
    run.close("succeeded" if ok else "counts_differ")
    # The copy the dashboard's health page reads (same run_id: the dashboard does not reload).
    hbase_aggregates.write_manifest(
        settings.thrift_host,
        settings.thrift_port,
        hbase_aggregates.table_name(settings),
        manifest.as_dict(),
    )
    return manifest


def _aggregate(spark: SparkSession, run: _Run) -> None:
    """The dashboard's aggregates: built from clean/, published to <table>_aggregates."""
    settings = run.settings
    clean_rows = run.manifest.stage("transform").rows_out
    started = time.monotonic()
    rows = run_aggregate(spark, settings)
    run.stage(
        "aggregate",
        clean_rows,
        sum(rows.values()),
        started,
        rows=rows,
        path=f"{settings.data_root}/aggregates",
    )
    started = time.monotonic()
    published = hbase_aggregates.publish_aggregates(
        spark, settings, manifest=run.manifest, run_id=run.manifest.run_id
    )
    run.stage(
        "publish_aggregates",
        sum(rows.values()),
        sum(published.rows.values()),
        started,
        table=published.table,
        orders=published.totals["orders"],
    )


def _ingest(spark: SparkSession, run: _Run, rows: int, seed: int, error_rate: float) -> None:
    settings = run.settings
    generated_dir = settings.output_dir / "generated"
    started = time.monotonic()
    summary = write_orders(rows, seed, error_rate, generated_dir, progress=False)
    bulk, streamed = split_lines(generated_dir / "orders.jsonl", BULK_SHARE)
    run.stage(
        "generate",
        rows,
        len(bulk) + len(streamed),
        started,
        errors_injected=summary.errors,
        orders=str(summary.orders_path),
    )

    started = time.monotonic()
    bulk_file = generated_dir / "bulk.jsonl"
    bulk_file.write_text("".join(f"{line}\n" for line in bulk), encoding="utf-8")
    landed = upload_bulk(spark, bulk_file, settings)
    run.stage("bulk_load", len(bulk), landed, started, path=settings.raw_bulk)

    started = time.monotonic()
    kafka_topic.ensure_topic(settings.kafka_bootstrap, settings.topic, settings.topic_partitions)
    before = kafka_topic.end_offsets(settings.kafka_bootstrap, settings.topic)
    produced = kafka_topic.produce_lines(settings.kafka_bootstrap, settings.topic, streamed)
    after = kafka_topic.end_offsets(settings.kafka_bootstrap, settings.topic)
    run.stage(
        "produce",
        len(streamed),
        sum(after.values()) - sum(before.values()),
        started,
        topic=settings.topic,
        offsets_before=before,
        offsets_after=after,
        messages_per_second=round(produced.rate),
    )

    started = time.monotonic()
    streamed_rows = run_stream_ingest(spark, settings)
    run.stage(
        "stream_ingest",
        sum(after.values()),
        streamed_rows,
        started,
        checkpoint=settings.stream_checkpoint,
        kafka_offsets_consumed=after,
    )

    started = time.monotonic()
    raw = read_raw(spark, settings)
    total = landed + streamed_rows
    run.gate("raw", gates.parse_raw(raw, fraction=min(1.0, RAW_GATE_SAMPLE_ROWS / max(total, 1))))
    run.stage("gate_raw", total, total, started)


def _transform(spark: SparkSession, run: _Run) -> None:
    settings = run.settings
    started = time.monotonic()
    counts = run_transform(spark, settings)
    run.stage(
        "transform",
        counts.raw,
        counts.clean,
        started,
        quarantined=counts.quarantined,
        duplicates=counts.duplicates,
        quarantined_by_reason=counts.quarantined_by_reason,
        stats=asdict(counts.stats),
    )
    started = time.monotonic()
    run.gate("clean", spark.read.parquet(settings.clean).drop("order_month"))
    run.gate("quarantine", spark.read.parquet(settings.quarantine))
    run.stage("gate_clean", counts.clean, counts.clean, started)


def publish_clean(spark: SparkSession, settings: Settings, run: _Run | None = None) -> int:
    """Gate-checked clean/ -> HBase; returns the rows the table holds afterwards."""
    run = run or _Run(settings, Manifest(rows=0, seed=0, error_rate=0.0), lambda _: None)
    clean = spark.read.parquet(settings.clean).drop("order_month")
    if not any(g["dataset"] == "clean" for g in run.manifest.gates):
        run.gate("clean", clean)
    started = time.monotonic()
    clean_rows = clean.count()
    written = run_load(spark, settings, run.progress)
    put_seconds = round(time.monotonic() - started, 2)
    in_table = hbase_table.count_rows(
        settings.thrift_host, settings.thrift_port, settings.hbase_table
    )
    run.stage(
        "load_hbase",
        clean_rows,
        in_table,
        started,
        puts=written,
        put_seconds=put_seconds,
        table=settings.hbase_table,
    )
    run.gate("load", gates.load_frame(clean_rows, in_table))
    return in_table
