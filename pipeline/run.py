"""The whole path on running services: generate -> bulk + Kafka -> stream -> transform -> HBase.

Every stage reports rows in and out and its wall time; the run manifest keeps them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.adapters import hbase_table, kafka_topic
from pipeline.adapters.raw_store import upload_bulk
from pipeline.generate import write_orders
from pipeline.jobs.load_hbase import run_load
from pipeline.jobs.stream_ingest import run_stream_ingest
from pipeline.jobs.transform import run_transform
from pipeline.settings import Settings
from pipeline.spark_session import build_spark

BULK_SHARE = 0.4


@dataclass
class Stage:
    name: str
    rows_in: int
    rows_out: int
    seconds: float
    detail: dict[str, object] = field(default_factory=dict)


@dataclass
class Manifest:
    rows: int
    seed: int
    error_rate: float
    stages: list[Stage] = field(default_factory=list)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, default=str))
        return path


def split_lines(path: Path, share: float) -> tuple[list[str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    cut = round(len(lines) * share)
    return lines[:cut], lines[cut:]


def run_pipeline(
    settings: Settings,
    rows: int,
    seed: int,
    error_rate: float,
    report: Callable[[Stage], None] = lambda _: None,
) -> Manifest:
    manifest = Manifest(rows=rows, seed=seed, error_rate=error_rate)

    def record(stage: Stage) -> None:
        manifest.stages.append(stage)
        report(stage)

    generated_dir = settings.output_dir / "generated"
    started = time.monotonic()
    summary = write_orders(rows, seed, error_rate, generated_dir, progress=False)
    bulk, streamed = split_lines(generated_dir / "orders.jsonl", BULK_SHARE)
    record(
        Stage(
            "generate",
            rows,
            len(bulk) + len(streamed),
            time.monotonic() - started,
            {"errors_injected": summary.errors, "orders": str(summary.orders_path)},
        )
    )

    spark = build_spark(settings, kafka=True)

    started = time.monotonic()
    bulk_file = generated_dir / "bulk.jsonl"
    bulk_file.write_text("".join(f"{line}\n" for line in bulk), encoding="utf-8")
    landed = upload_bulk(spark, bulk_file, settings)
    record(
        Stage(
            "bulk_load", len(bulk), landed, time.monotonic() - started, {"path": settings.raw_bulk}
        )
    )

    started = time.monotonic()
    kafka_topic.ensure_topic(settings.kafka_bootstrap, settings.topic, settings.topic_partitions)
    produced = kafka_topic.produce_lines(settings.kafka_bootstrap, settings.topic, streamed)
    offsets = kafka_topic.end_offsets(settings.kafka_bootstrap, settings.topic)
    record(
        Stage(
            "produce",
            len(streamed),
            sum(offsets.values()),
            time.monotonic() - started,
            {
                "topic": settings.topic,
                "end_offsets": offsets,
                "messages_per_second": round(produced.rate),
            },
        )
    )

    started = time.monotonic()
    streamed_rows = run_stream_ingest(spark, settings)
    record(
        Stage(
            "stream_ingest",
            sum(offsets.values()),
            streamed_rows,
            time.monotonic() - started,
            {"checkpoint": settings.stream_checkpoint},
        )
    )

    started = time.monotonic()
    counts = run_transform(spark, settings)
    record(
        Stage(
            "transform",
            counts.raw,
            counts.clean,
            time.monotonic() - started,
            {
                "quarantined": counts.quarantined,
                "duplicates": counts.duplicates,
                "quarantined_by_reason": counts.quarantined_by_reason,
                "stats": asdict(counts.stats),
            },
        )
    )

    started = time.monotonic()
    written = run_load(spark, settings)
    in_table = hbase_table.count_rows(
        settings.thrift_host, settings.thrift_port, settings.hbase_table
    )
    record(
        Stage(
            "load_hbase",
            counts.clean,
            in_table,
            time.monotonic() - started,
            {"puts": written, "table": settings.hbase_table},
        )
    )
    manifest.write(settings.output_dir / "manifest.json")
    return manifest
