"""Benchmarks: `python -m pipeline.bench --rows N` (the nox `bench` session).

Writes build/bench/results.json and results.md: rows/s per stage with the machine they ran on.
Speed targets live here, not in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.schema import FIELDS

RAW_JSON_SCHEMA = ", ".join(f"`{name}` STRING" for name in FIELDS)
SEED_ROWS = 6_000_000  # the seed's volume: about 2 GB of raw JSON
THRIFT_COMPARE_MAX_ROWS = 2_000_000  # beyond, the Thrift re-load alone would take minutes


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    import pyspark

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "pandas": pd.__version__,
    }


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def bench_generator(rows: int, naive_rows: int) -> dict[str, Any]:
    from pipeline.generate import generate_orders, naive_faker_rows

    orders, fast = timed(lambda: generate_orders(rows, seed=1))
    _, naive = timed(lambda: naive_faker_rows(naive_rows, seed=1))
    fast_rate, naive_rate = rows / fast, naive_rows / naive
    return {
        "generator_rows": rows,
        "generator_rows_per_s": round(fast_rate),
        "naive_faker_rows": naive_rows,
        "naive_faker_rows_per_s": round(naive_rate),
        "ratio": round(fast_rate / naive_rate, 1),
        "lines": len(orders.lines),
    }


def bench_cleaner(rows: int) -> dict[str, Any]:
    from pipeline.clean import clean_lines
    from pipeline.generate import generate_orders

    lines = pd.Series(generate_orders(rows, seed=2).lines)
    result, seconds = timed(lambda: clean_lines(lines))
    return {
        "rows": len(lines),
        "clean": len(result.clean),
        "quarantined": len(result.quarantine),
        "duplicates": result.duplicates,
        "rows_per_s": round(len(lines) / seconds),
    }


def bench_stack(rows: int, output: Path) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from pipeline.adapters.raw_store import read_raw
    from pipeline.jobs.load_hbase import run_load
    from pipeline.progress import Bars
    from pipeline.run import run_pipeline
    from pipeline.settings import Settings
    from pipeline.spark_session import build_spark
    from stack.services import running_stack

    with running_stack(output / "stack-logs") as endpoints:
        os.environ.update(endpoints.as_env())
        settings = Settings.from_env(output_dir=output / "run")
        manifest = run_pipeline(
            settings, rows, seed=3, error_rate=0.05, report=print, progress=Bars()
        )
        settings = settings.for_run(manifest.run_id)
        spark = build_spark(settings)
        copy_target = f"{settings.data_root}/bench/raw_copy"
        # The plain copy a pipeline without cleaning would run, all in the JVM:
        # JSON lines -> columns -> Parquet.
        _, copy_seconds = timed(
            lambda: (
                read_raw(spark, settings)
                .select(F.from_json("value", RAW_JSON_SCHEMA).alias("record"))
                .select("record.*")
                .write.mode("overwrite")
                .parquet(copy_target)
            )
        )
        stages = [asdict(s) for s in manifest.stages]
        for stage in stages:
            stage["rows_per_s"] = (
                round(stage["rows_out"] / stage["seconds"]) if stage["seconds"] else None
            )
        from dashboard.sources import AggregateSource
        from pipeline.dashboard_bench import measure_dashboard

        source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
        dashboard = {
            "page": measure_dashboard(source, requests=300, path="/"),
            "api_summary": measure_dashboard(source, requests=300, path="/api/summary"),
        }
        producer = producer_vs_ceiling(manifest, settings, endpoints.containers["kafka"])
        load = load_vs_ceiling(manifest.stage("load_hbase"))
        if rows <= THRIFT_COMPARE_MAX_ROWS:
            # The other path over the same clean rows, same run and timestamp: the same cells.
            _, thrift_seconds = timed(
                lambda: run_load(
                    spark, settings, timestamp=manifest.cell_timestamp, run_id=manifest.run_id
                )
            )
            load["thrift_rows_per_s"] = round(load["written"] / thrift_seconds)
        transform = manifest.stage("transform")
        copy_rate = transform.rows_in / copy_seconds
        transform_rate = transform.rows_in / transform.seconds
        total = sum(s.seconds for s in manifest.stages)
        return {
            "rows": rows,
            "startup_seconds": endpoints.startup_seconds,
            "stages": stages,
            "total_seconds": round(total, 1),
            # Every stage is linear in rows, so this is the estimate for the seed's volume.
            "seed_rows": SEED_ROWS,
            "seed_seconds_extrapolated": round(total * SEED_ROWS / rows),
            "load": load,
            "spark_copy_rows_per_s": round(copy_rate),
            "transform_vs_copy": round(transform_rate / copy_rate, 2),
            "producer": producer,
            "dashboard": dashboard,
            "peak_rss_mib": manifest.stage("retire_previous").detail["peak_rss_mib"],
            "cpu_budget": cpu_budget(stages, os.cpu_count() or 1),
        }


def cpu_budget(stages: list[dict[str, Any]], cores: int) -> dict[str, Any]:
    """What the path's stages cost the whole machine: busy core-seconds (ours and the services'),
    and the least wall time that CPU allows on these cores, however the stages were overlapped."""
    measured = [s for s in stages if s.get("machine_cpu_seconds") is not None]
    busy = sum(s["machine_cpu_seconds"] for s in measured)
    ours = sum(s.get("cpu_seconds") or 0.0 for s in measured)
    seconds = sum(s["seconds"] for s in measured)
    return {
        "cores": cores,
        "seconds": round(seconds, 1),
        "machine_cpu_seconds": round(busy, 1),
        "our_cpu_seconds": round(ours, 1),
        "services_and_other_cpu_seconds": round(busy - ours, 1),
        "busy_cores": round(busy / seconds, 2) if seconds else None,
        "least_seconds": round(busy / cores, 1),
    }


def busy_cores(stage: dict[str, Any]) -> str:
    """The machine's busy cores on average during a stage ("" when not measured)."""
    machine = stage.get("machine_cpu_seconds")
    return f"{machine / stage['seconds']:.2f}" if machine is not None and stage["seconds"] else ""


def budget_line(budget: dict[str, Any]) -> str:
    return (
        f"CPU: the machine was busy {budget['machine_cpu_seconds']:,} core-s over the stages'"
        f" {budget['seconds']:,} s ({budget['busy_cores']} of {budget['cores']} cores on average;"
        f" our processes {budget['our_cpu_seconds']:,}, the services and anything else"
        f" {budget['services_and_other_cpu_seconds']:,}): at this CPU the path takes at least"
        f" {budget['least_seconds']:,} s on {budget['cores']} cores, however it overlaps"
    )


def load_vs_ceiling(stage: Any) -> dict[str, Any]:
    """The HBase load's rate; on the bulk path also beside its ceiling, HBase's own bulk load
    (BulkLoadHFiles) of the same HFiles, which is the last step of ours."""
    detail = stage.detail
    load = {
        "path": detail["path"],
        "written": detail["written"],
        "rows_per_s": round(detail["written"] / detail["write_seconds"]),
        **{k: v for k, v in detail.items() if k.endswith("seconds")},
    }
    if detail["path"] == "bulk" and detail["handoff_seconds"]:
        ceiling = detail["written"] / detail["handoff_seconds"]
        load["hbase_bulk_load_rows_per_s"] = round(ceiling)
        load["ratio"] = round(load["rows_per_s"] / ceiling, 2)
    return load


def producer_vs_ceiling(manifest: Any, settings: Any, container: str) -> dict[str, Any]:
    """Our producer's rate beside Kafka's own perf test: same broker, settings, record count
    and (mean) record size, into a topic of its own with as many partitions."""
    from pipeline.adapters import kafka_topic
    from stack.kafka_perf import producer_ceiling

    produce, generate = manifest.stage("produce"), manifest.stage("generate")
    record_size = round(Path(generate.detail["orders"]).stat().st_size / generate.rows_out)
    topic = f"{settings.topic}_perf_ceiling"
    kafka_topic.ensure_topic(settings.kafka_bootstrap, topic, settings.topic_partitions)
    ceiling = producer_ceiling(
        container, settings.kafka_bootstrap, topic, produce.rows_out, record_size,
        kafka_topic.PRODUCER_SETTINGS,
    )  # fmt: skip
    ours = produce.detail["messages_per_second"]
    return {
        "messages": produce.rows_out,
        "record_bytes": record_size,
        "ours_per_s": ours,
        "kafka_perf_test_per_s": round(ceiling),
        "ratio": round(ours / ceiling, 2),
    }


def load_lines(load: dict[str, Any]) -> list[str]:
    lines = [f"HBase load ({load['path']}): {load['rows_per_s']:,} rows/s"]
    if "ratio" in load:
        lines.append(
            "HBase's own bulk load (BulkLoadHFiles) of the same HFiles: "
            f"{load['hbase_bulk_load_rows_per_s']:,} rows/s; ratio {load['ratio']}"
        )
    if "thrift_rows_per_s" in load:
        lines.append(
            f"through Thrift (mutateRows) on the same rows: {load['thrift_rows_per_s']:,} rows/s"
        )
    seconds = {k: v for k, v in load.items() if k.endswith("seconds")}
    return [*lines, f"HBase load seconds: {seconds}"]


def to_markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"command: `{results['command']}`",
        "",
        "machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()),
        "",
    ]
    gen = results["generator"]
    lines += [
        f"generator: {gen['generator_rows_per_s']:,} rows/s; naive per-field Faker: "
        f"{gen['naive_faker_rows_per_s']:,} rows/s; ratio {gen['ratio']}x",
        "",
    ]
    cleaner = results["cleaner"]
    lines += [f"pure cleaner (pandas, one core): {cleaner['rows_per_s']:,} rows/s", ""]
    if stack := results.get("stack"):
        lines += [
            f"stack at {stack['rows']:,} rows (start-up s: {stack['startup_seconds']})",
            "",
            "| stage | rows in | rows out | seconds | rows/s | CPU s | peak RSS MiB "
            "| machine CPU s | cores busy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {s['name']} | {s['rows_in']:,} | {s['rows_out']:,} | {s['seconds']:.1f} | "
            f"{s['rows_per_s'] or 0:,} | {s.get('cpu_seconds')} | {s.get('peak_rss_mib')} | "
            f"{s.get('machine_cpu_seconds')} | {busy_cores(s)} |"
            for s in stack["stages"]
        ]
        lines += [
            "",
            f"whole path: {stack['total_seconds']:,} s at {stack['rows']:,} rows; linear estimate"
            f" for {stack['seed_rows']:,} rows: {stack['seed_seconds_extrapolated']:,} s",
            *([budget_line(stack["cpu_budget"])] if "cpu_budget" in stack else []),
            *load_lines(stack["load"]),
            f"plain Spark raw -> Parquet copy: {stack['spark_copy_rows_per_s']:,} rows/s;"
            f" transform / copy = {stack['transform_vs_copy']}",
            "producer: {ours_per_s:,} msg/s; Kafka's producer perf test on the same broker, "
            "settings and {messages:,} records of {record_bytes} bytes: "
            "{kafka_perf_test_per_s:,} msg/s; ratio {ratio}".format(**stack["producer"]),
            f"peak RSS of the run's Python process: {stack['peak_rss_mib']['python']:,} MiB"
            f" (children: {stack['peak_rss_mib']['children']:,} MiB)",
        ]
        lines += dashboard_lines(stack["dashboard"])
    if seg := results.get("segments"):
        lines += [
            *([""] if lines[-1] else []),
            f"segmentation (local Spark): {seg['orders']:,} orders of {seg['customers']:,} "
            f"customers in {seg['seconds']} s ({seg['orders_per_s']:,} orders/s), k = {seg['k']}",
        ]
    if dash := results.get("dashboard_volume"):
        lines += [
            *([""] if lines[-1] else []),
            f"dashboard at {dash['orders']:,} synthetic orders (aggregates built in-process in "
            f"{dash['build_seconds']} s: {dash['cube_rows']:,} cube rows, "
            f"{dash['customers']:,} customers; served from memory):",
            *dashboard_lines({"page": dash["page"], "api_summary": dash["api_summary"]}),
        ]
    return "\n".join(lines) + "\n"


def dashboard_lines(measured: dict[str, Any]) -> list[str]:
    """One line per ``measure_dashboard`` result, by name."""
    return [
        f"dashboard {name}: p50 {d['p50_ms']} ms, p95 {d['p95_ms']} ms, "
        f"p99 {d['p99_ms']} ms, {d['requests']} requests"
        for name, d in measured.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the stack run")
    parser.add_argument("--generator-rows", type=int, default=500_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--no-stack", action="store_true", help="only the pure, in-process parts")
    parser.add_argument(
        "--segment-orders", type=int, default=SEED_ROWS, help="orders to segment (0: none)"
    )
    parser.add_argument("--segment-customers", type=int, default=50_000)
    parser.add_argument(
        "--dashboard-orders",
        type=int,
        default=SEED_ROWS,
        help="orders whose aggregates the dashboard serves from memory, no stack (0: none)",
    )
    parser.add_argument("--output", type=Path, default=Path("build/bench"))
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "command": "nox -s bench -- " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "generator": bench_generator(args.generator_rows, args.naive_rows),
        "cleaner": bench_cleaner(min(args.rows, 200_000)),
    }
    print(json.dumps(results["generator"]), flush=True)
    if not args.no_stack:
        results["stack"] = bench_stack(args.rows, args.output.resolve())
    if args.segment_orders:
        from pipeline.segment_bench import bench_segments

        results["segments"] = bench_segments(args.segment_orders, args.segment_customers)
    if args.dashboard_orders:
        from pipeline.synthetic_aggregates import bench_dashboard

        results["dashboard_volume"] = bench_dashboard(args.dashboard_orders)
        print(json.dumps(results["dashboard_volume"]), flush=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (args.output / "results.md").write_text(to_markdown(results))
    print(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
