"""The whole path on running services: generate -> bulk + Kafka -> stream -> transform -> HBase.

A run has an id; everything it lands lives under ``runs/<run_id>/`` (see Settings) and its
manifest records what it wrote, including the Kafka offset range [start, end) it produced. Each
layer is built, validated by its Great Expectations gate, then used: a failed gate stops the run.
The dashboard sees a run only when it is published, after every gate and the reconciliation of
the counts passed: its HBase rows carry the run's cell timestamp and id, the aggregates and the
manifest switch at once, and the previous run's rows are removed last.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from pipeline import aggregate, engine_logs, gates, line_file, steps
from pipeline.adapters import hbase_aggregates, hbase_bulk, hbase_table, kafka_topic
from pipeline.adapters.raw_store import read_raw, upload_bulk, write_rejected
from pipeline.csv_input import as_json_lines
from pipeline.jobs.aggregate import run_aggregate
from pipeline.jobs.load_hbase import choose_path, run_bulk_load, run_load
from pipeline.jobs.segment import customers_path, run_segment
from pipeline.jobs.stream_ingest import offsets_streamed, run_stream_ingest
from pipeline.jobs.transform import catalogue_of, run_transform
from pipeline.manifest import (
    Manifest,
    NotReady,
    RunFailed,
    Stage,
    failed_checks,
    now_text,
    reconcile,
)
from pipeline.orders_files import write_orders
from pipeline.process_meter import ProcessMeter
from pipeline.progress import SILENT, Progress, spark_tasks
from pipeline.settings import Settings
from pipeline.spark_session import build_spark

BULK_SHARE = 0.4
RAW_GATE_SAMPLE_ROWS = 200_000  # the raw suite checks shares of rows: a sample answers it


class Run:
    """One run's bookkeeping: stages in order, gates checked, the manifest written after each."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        report: Callable[[Stage], None] = lambda _: None,
        progress: Progress = SILENT,
    ):
        self.settings = settings.for_run(manifest.run_id)
        self.manifest, self.report, self.progress = manifest, report, progress
        self.meter: ProcessMeter | None = None  # set while the run runs (_closing)
        self.docs = settings.output_dir / "data-docs"
        manifest.data_docs = str(self.docs)

    @classmethod
    def resume(cls, settings: Settings, run_id: str | None = None, **kwargs: Any) -> Run:
        """The run `run_id` (default: the last one started in settings.output_dir)."""
        path = (
            settings.for_run(run_id).run_dir / "manifest.json"
            if run_id
            else settings.output_dir / "manifest.json"
        )
        if not path.is_file():
            raise NotReady(f"no run manifest at {path}: start with `pipeline run` (or pass --run)")
        return cls(settings, Manifest.read(path), **kwargs)

    def stage(self, name: str, rows_in: int, rows_out: int, started: float, **detail: Any) -> None:
        """Record a finished stage (replacing an earlier record of it) and report it."""
        self.record(name, rows_in, rows_out, started, **detail)
        self.report(self.manifest.stage(name))

    def record(self, name: str, rows_in: int, rows_out: int, started: float, **detail: Any) -> None:
        """Record what a stage has done so far: a crash leaves it in the manifest."""
        self.manifest.stages = [s for s in self.manifest.stages if s.name != name]
        seconds = round(time.monotonic() - started, 2)
        usage = self.meter.since(started) if self.meter else {}
        stage = Stage(name, rows_in, rows_out, seconds, detail, **usage)
        self.manifest.stages.append(stage)
        self.save()

    def gate(self, dataset: str, frame: Any) -> None:
        catalogue = catalogue_of(self.settings)  # the one the rows were cleaned with
        result = gates.validate(dataset, frame, docs_dir=self.docs, catalogue=catalogue)
        self.manifest.gates = [g for g in self.manifest.gates if g.get("dataset") != dataset]
        self.manifest.gates.append(result.as_dict())
        self.save()
        gates.require(result)

    def require(self, *datasets: str) -> None:
        missing = [d for d in datasets if not self.manifest.gate_passed(d)]
        if missing:
            raise NotReady(
                f"run {self.manifest.run_id}: the {', '.join(missing)} gate(s) have not passed; "
                "run the earlier stages first (`pipeline run`, or `pipeline transform --run ID`)"
            )

    def save(self) -> None:
        self.manifest.reconciliation = reconcile(self.manifest)
        self.manifest.datasets = datasets(self.settings)
        self.manifest.write(self.settings.run_dir / "manifest.json")
        self.manifest.write(self.settings.output_dir / "manifest.json")

    def close(self, status: str, problem: str = "") -> None:
        self.manifest.status, self.manifest.problem = status, problem
        self.manifest.finished_at = now_text()
        self.save()


def datasets(settings: Settings) -> dict[str, str]:
    """Where a run's datasets live: the manifest lists them."""
    return {
        "raw_bulk": settings.raw_bulk,
        "raw_stream": settings.raw_stream,
        "raw_rejected": settings.raw_rejected,
        "stream_checkpoint": settings.stream_checkpoint,
        "clean": settings.clean,
        "quarantine": settings.quarantine,
        "aggregates": settings.aggregates,
        "segments": settings.segments,
        "hbase_table": settings.hbase_table,
        "hbase_aggregates_table": hbase_aggregates.table_name(settings),
    }


def run_pipeline(
    settings: Settings,
    rows: int,
    seed: int,
    error_rate: float,
    report: Callable[[Stage], None] = lambda _: None,
    progress: Progress = SILENT,
    input_path: Path | None = None,
    input_format: str | None = None,
    only: Sequence[str] | None = None,
) -> Manifest:
    """Ingest, then `only` these of STEPS (default: all; none for `pipeline ingest`, whose steps a
    scheduler then runs one by one with run_stage). Raises gates.GateFailed or RunFailed (after
    writing the manifest) when a gate or the reconciliation fails; nothing of such a run is
    published. `input_path`: the user's own JSON-lines or CSV file instead of generated orders
    (`input_format` "jsonl" or "csv"; None: csv_input.detect_format)."""
    run = Run(settings, Manifest(rows=rows, seed=seed, error_rate=error_rate), report, progress)
    run.save()
    with _closing(run), engine_logs.into(run.settings.log_dir):
        spark = build_spark(run.settings, kafka=True)
        ingest(spark, run, rows, seed, error_rate, input_path, input_format)
        for step in STEPS if only is None else only:
            STEPS[step](spark, run)
    return run.manifest


class _closing:
    """Close the run with the status its end deserves, re-raising what stopped it."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def __enter__(self) -> Run:
        self.run.manifest.status = "running"
        self.run.meter = ProcessMeter()
        return self.run

    def __exit__(self, kind: type[BaseException] | None, error: Any, _tb: Any) -> None:
        if self.run.meter:
            self.run.meter.close()
            self.run.meter = None
        if kind is None:
            self.run.close(self.run.manifest.status)
        elif issubclass(kind, gates.GateFailed):
            self.run.close("gate_failed", first_line(error))
        elif issubclass(kind, _CountsDiffer):
            self.run.close("counts_differ", str(error))
        else:
            self.run.close("failed", f"{kind.__name__}: {first_line(error)[:500]}")


def first_line(error: BaseException) -> str:
    """The first line of an error's message; "" when it has none (a bare StopIteration)."""
    return next(iter(str(error).splitlines()), "")


class _CountsDiffer(RunFailed):
    pass


def ingest(
    spark: SparkSession,
    run: Run,
    rows: int,
    seed: int,
    error_rate: float,
    input_path: Path | None = None,
    input_format: str | None = None,
) -> None:
    """Generate, land the bulk part on HDFS, produce the rest to Kafka.

    A CSV input is converted once to JSON lines in the run's generated/ folder."""
    settings = run.settings
    generated = settings.run_dir / "generated"
    started = time.monotonic()
    if input_path is None:
        summary = write_orders(rows, seed, error_rate, generated, progress=run.progress)
        orders, errors = summary.orders_path, summary.errors
    else:
        generated.mkdir(parents=True, exist_ok=True)
        orders = as_json_lines(input_path.resolve(), generated, input_format)
        errors = {}
    total = line_file.count_lines(orders)
    cut = round(total * BULK_SHARE)
    run.stage("generate", rows, total, started, errors_injected=errors, orders=str(orders))

    started = time.monotonic()
    bulk_file = generated / "bulk.jsonl"
    line_file.copy_lines(orders, bulk_file, 0, cut)
    landed = upload_bulk(spark, bulk_file, settings)
    bulk_file.unlink()
    run.stage("bulk_load", cut, landed, started, path=settings.raw_bulk)

    started = time.monotonic()
    kafka_topic.ensure_topic(settings.kafka_bootstrap, settings.topic, settings.topic_partitions)
    before = kafka_topic.end_offsets(settings.kafka_bootstrap, settings.topic)
    run.record("produce", total - cut, 0, started, topic=settings.topic, offsets_before=before)
    bootstrap, topic = settings.kafka_bootstrap, settings.topic
    sent = kafka_topic.produced_since(bootstrap, topic, before)
    with run.progress.track("produce", total - cut, sent):
        produced = kafka_topic.produce_file(bootstrap, topic, orders, cut, total)
    after = kafka_topic.end_offsets(settings.kafka_bootstrap, settings.topic)
    rejected = _land_rejected(spark, run, orders, produced.rejected)
    run.stage(
        "produce",
        total - cut,
        sum(after.values()) - sum(before.values()),
        started,
        topic=settings.topic,
        offsets_before=before,
        offsets_after=after,
        acknowledged=produced.messages,
        rejected=rejected,
        send_errors=produced.send_errors,
        producer_settings=dict(kafka_topic.PRODUCER_SETTINGS),
        messages_per_second=round(produced.rate),
    )


def _land_rejected(spark: SparkSession, run: Run, path: Path, rejected: list[Any]) -> int:
    """Lines Kafka cannot take land in raw/rejected, so the quarantine keeps them."""
    if not rejected:
        return 0
    wanted = {r.line_number: r.reason for r in rejected}
    rows = [
        (text.decode("utf-8", errors="replace"), wanted[number])
        for number, text in line_file.iter_lines(path, min(wanted), max(wanted) + 1)
        if number in wanted
    ]
    return write_rejected(spark, run.settings, rows)


def stream(spark: SparkSession, run: Run) -> None:
    """The run's Kafka offset range -> its raw/stream (resumes from the checkpoint)."""
    produce = run.manifest.stage("produce")
    start = {int(p): o for p, o in produce.detail["offsets_before"].items()}
    end = {int(p): o for p, o in produce.detail["offsets_after"].items()}
    started = time.monotonic()
    with run.progress.track("stream_ingest", produce.rows_out, offsets_streamed(spark, start, end)):
        streamed = run_stream_ingest(spark, run.settings, start=start, end=end)
    run.stage(
        "stream_ingest",
        produce.rows_out,
        streamed,
        started,
        checkpoint=run.settings.stream_checkpoint,
        offsets_start=start,
        offsets_end=end,
    )


def gate_raw(spark: SparkSession, run: Run) -> None:
    """Every landed raw row of the run (poison aside) through the raw suite, on a sample."""
    manifest = run.manifest
    started = time.monotonic()
    lines = (
        manifest.stage("bulk_load").rows_out
        + manifest.stage("stream_ingest").rows_out
        + manifest.stage("produce").detail["rejected"]
    )
    sample = min(1.0, RAW_GATE_SAMPLE_ROWS / max(lines, 1))
    raw = read_raw(spark, run.settings, fraction=sample).filter("poison IS NULL")
    run.gate("raw", gates.local_if_small(gates.parse_raw(raw), round(lines * sample)))
    run.stage("gate_raw", lines, lines, started)


def transform(spark: SparkSession, run: Run) -> None:
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


def gate_clean(spark: SparkSession, run: Run) -> None:
    settings, clean = run.settings, run.manifest.stage("transform").rows_out
    started = time.monotonic()
    frame = spark.read.parquet(settings.clean).drop("order_month")
    run.gate("clean", gates.local_if_small(frame, clean))
    # On Spark whatever its size: a quarantined line can be megabytes of anything.
    run.gate("quarantine", spark.read.parquet(settings.quarantine))
    run.stage("gate_clean", clean, clean, started)


def load(spark: SparkSession, run: Run) -> None:
    """Gate-checked clean/ -> HBase with the run's timestamp and id."""
    settings, manifest = run.settings, run.manifest
    clean = spark.read.parquet(settings.clean).drop("order_month")
    if not manifest.gate_passed("clean"):
        run.gate("clean", clean)
    started = time.monotonic()
    clean_rows = clean.count()
    path = choose_path(settings, clean_rows)
    detail: dict[str, object] = {"path": path}
    in_table: int | None = None
    count_seconds = 0.0  # of the count within the bulk-load tool
    with run.progress.track("load_hbase", clean_rows, spark_tasks(spark, clean_rows)):
        if path == "bulk":
            loaded = run_bulk_load(
                spark, settings, timestamp=manifest.cell_timestamp, run_id=manifest.run_id
            )
            detail.update(
                written=loaded.rows,
                hfiles=loaded.hfiles,
                duplicates=loaded.duplicates,
                hfile_seconds=loaded.hfile_seconds,
                handoff_seconds=loaded.handoff_seconds,
            )
            in_table, count_seconds = loaded.counted, loaded.count_seconds
            detail["count_seconds"] = count_seconds
        else:
            detail["written"] = run_load(
                spark, settings, timestamp=manifest.cell_timestamp, run_id=manifest.run_id
            )
    # The load alone, as the bench sets it beside its ceilings: not the count after it.
    detail["write_seconds"] = round(time.monotonic() - started - count_seconds, 2)
    if in_table is None:
        in_table = rows_in_table(settings, manifest.run_id)
    run.stage("load_hbase", clean_rows, in_table, started, table=settings.hbase_table, **detail)


def gate_load(spark: SparkSession, run: Run) -> None:
    """The clean rows and the run's rows counted in HBase: the same number."""
    loaded = run.manifest.stage("load_hbase")
    run.gate("load", gates.load_frame(loaded.rows_in, loaded.rows_out))


def rows_in_table(settings: Settings, run_id: str) -> int:
    """Rows of one run in the orders table: a scan through HBase's own client in its container
    where that is known, else through Thrift; either way a count of the table, not a tally."""
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    if settings.hbase_container:
        return hbase_bulk.count_rows(settings.hbase_container, table, run_id)
    return hbase_table.count_rows_of_run(host, port, table, run_id)


def retire_previous(settings: Settings, run_id: str) -> tuple[int, int]:
    """Delete the rows of every other run: (rows deleted, rows left). In the HBase container one
    scan deletes and counts (2M rows: one pass instead of a filtered Thrift scan and a count);
    else through Thrift, then a count of the whole table."""
    host, port, table = settings.thrift_host, settings.thrift_port, settings.hbase_table
    if settings.hbase_container:
        kept, deleted = hbase_bulk.retire_rows_not_of_run(settings.hbase_container, table, run_id)
        return deleted, kept
    removed = hbase_table.delete_rows_not_of_run(host, port, table, run_id)
    return removed, hbase_table.count_rows(host, port, table)


def segment(spark: SparkSession, run: Run) -> None:
    """Customer segments from clean/, gated: every customer in one named segment."""
    run.require("clean")
    settings = run.settings
    started = time.monotonic()
    result = run_segment(spark, settings)
    run.stage(
        "segment",
        run.manifest.stage("transform").rows_out,
        result.customers,
        started,
        k=result.k,
        silhouette=result.silhouette,
        silhouettes=result.silhouettes,
        sizes=result.sizes,
        clean_customers=result.clean_customers,
        reference_day=result.reference_day,
        path=settings.segments,
    )


def gate_segments(spark: SparkSession, run: Run) -> None:
    customers = run.manifest.stage("segment").rows_out
    run.gate(
        "segments",
        gates.local_if_small(spark.read.parquet(customers_path(run.settings)), customers),
    )


def build_aggregates(spark: SparkSession, run: Run) -> dict[str, int]:
    """The dashboard's aggregates from clean/, checked against each other and the clean rows."""
    run.require("clean", "quarantine", "load")
    settings = run.settings
    started = time.monotonic()
    rows = run_aggregate(spark, settings)
    totals = aggregate.check(hbase_aggregates.frames_from_spark(spark, settings))
    run.stage(
        "aggregate",
        run.manifest.stage("transform").rows_out,
        sum(rows.values()),
        started,
        rows=rows,
        orders=totals["orders"],
        path=settings.aggregates,
    )
    return rows


def publish(spark: SparkSession, run: Run) -> None:
    """Only a run whose gates and counts all agree becomes what the dashboard shows."""
    run.require("raw", "clean", "quarantine", "load", "segments")
    manifest, settings = run.manifest, run.settings
    problems = failed_checks(reconcile(manifest))
    if problems:
        raise _CountsDiffer("reconciliation failed, nothing published: " + "; ".join(problems))
    started = time.monotonic()
    manifest.status, manifest.published_at = "succeeded", now_text()
    frames = hbase_aggregates.frames_from_spark(spark, settings)
    rows = sum(len(f) for f in frames.values())
    path = choose_path(settings, rows)  # the orders' rule: bulk from bulk_load_min_rows on
    published = hbase_aggregates.publish_aggregates(
        frames,
        settings,
        manifest=manifest.as_dict(),
        run_id=manifest.run_id,
        bulk_spark=spark if path == "bulk" else None,
    )
    run.stage(
        "publish", rows, sum(published.rows.values()), started, table=published.table, path=path
    )
    started = time.monotonic()
    removed, remaining = retire_previous(settings, manifest.run_id)
    table = settings.hbase_table
    run.stage(
        "retire_previous", remaining + removed, remaining, started, removed_rows=removed,
        peak_rss_mib=peak_rss_mib(),
    )  # fmt: skip
    if remaining != manifest.stage("load_hbase").rows_out:
        raise _CountsDiffer(
            f"{table} holds {remaining:,} rows after retiring older runs, expected "
            f"{manifest.stage('load_hbase').rows_out:,}"
        )


def peak_rss_mib() -> dict[str, float]:
    """Peak resident memory of this process and of its finished children (MiB)."""
    mib = 1024.0
    return {
        "python": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mib, 1),
        "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mib, 1),
    }


# After ingest, the path in steps.ORDER: each stage, then the gate on what it wrote. `pipeline run`
# runs them all, a scheduler as tasks (orchestration/), `pipeline STAGE` one with its gate.
STEPS: dict[str, Callable[[SparkSession, Run], Any]] = {
    "stream": stream,
    "gate_raw": gate_raw,
    "transform": transform,
    "gate_clean": gate_clean,
    "load": load,
    "gate_load": gate_load,
    "segment": segment,
    "gate_segments": gate_segments,
    "aggregate": build_aggregates,
    "publish": publish,
}
if tuple(STEPS) != steps.ORDER:
    raise ImportError(f"pipeline.run.STEPS {tuple(STEPS)} differ from steps.ORDER {steps.ORDER}")


def run_stage(
    name: str,
    settings: Settings,
    run_id: str | None = None,
    report: Callable[[Stage], None] = lambda _: None,
    progress: Progress = SILENT,
    gate: bool = True,
) -> Manifest:
    """One step of an existing run (resume after a crash, or step by step); a stage is followed
    by its gate unless `gate` is False (the gate is then a step of its own)."""
    run = Run.resume(settings, run_id, report=report, progress=progress)
    status = run.manifest.status
    todo = [name, steps.GATE_OF[name]] if gate and name in steps.GATE_OF else [name]
    with _closing(run), engine_logs.into(run.settings.log_dir):
        spark = build_spark(run.settings, kafka=name == "stream")
        for step in todo:
            STEPS[step](spark, run)
        # A gate changes nothing: a published run that passes it again is still the one shown.
        if name in steps.GATES and status == "succeeded":
            run.manifest.status = status
        elif name != "publish":
            run.manifest.status = "running"
    return run.manifest
