"""`pipeline` command line: every stage on its own, the whole run, the stack, the dashboard."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pipeline import engine_logs
from pipeline.console import stage_line, summary
from pipeline.manifest import Manifest, Stage
from pipeline.progress import Bars
from pipeline.settings import DERIVE, LOAD_PATHS, Settings


def _rows(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of rows")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _catalogue_file(text: str) -> str:
    """A product catalogue file (CSV or Parquet), checked now: its absolute path; or "derive"."""
    from pipeline.catalogue import Catalogue

    if text == DERIVE:
        return text
    path = Path(text).resolve()
    try:
        Catalogue.read(path)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(path)


def _catalogue(args: argparse.Namespace) -> dict[str, str]:
    """Settings overrides for --catalogue (none without it: PIPELINE_CATALOGUE or built-in)."""
    return {"catalogue_path": args.catalogue} if args.catalogue else {}


def _print_stage(stage: Stage) -> None:
    print(stage_line(stage), flush=True)


def _print_summary(manifest: Manifest, settings: Settings, *where: tuple[str, str]) -> None:
    run_dir = settings.for_run(manifest.run_id).run_dir
    print(
        "\n" + summary(manifest, [
            *where,
            ("manifest", str(run_dir / "manifest.json")),
            ("logs", str(run_dir / "logs")),
            ("Data Docs", str(Path(manifest.data_docs) / "index.html")),
        ]),
        flush=True,
    )  # fmt: skip


def cmd_generate(args: argparse.Namespace) -> int:
    from pipeline.orders_files import write_orders

    written = write_orders(args.rows, args.seed, args.error_rate, args.output, progress=Bars())
    print(written)
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    """Local Spark, local paths; the same transform job the stack runs."""
    from pipeline.adapters.raw_store import upload_bulk
    from pipeline.csv_input import as_json_lines
    from pipeline.jobs.transform import run_transform
    from pipeline.spark_session import build_spark

    output = args.output.resolve()
    settings = Settings.from_env(data_root=output.as_uri(), output_dir=output, **_catalogue(args))
    lines = as_json_lines(args.input, output, args.format)
    spark = build_spark(settings)
    upload_bulk(spark, lines, settings)
    if lines != args.input:
        lines.unlink()  # raw/bulk holds the same lines
    counts = run_transform(spark, settings)
    print(
        f"raw {counts.raw:,}  clean {counts.clean:,}  quarantined {counts.quarantined:,}  "
        f"duplicates {counts.duplicates:,}  -> {settings.clean}, {settings.quarantine}"
    )
    return 0


def cmd_derive_catalogue(args: argparse.Namespace) -> int:
    """A catalogue from the orders themselves (pipeline/derived_catalogue.py), for --catalogue."""
    import tempfile

    from pipeline.csv_input import as_json_lines
    from pipeline.derived_catalogue import derive_catalogue, observe, write

    with tempfile.TemporaryDirectory() as folder:
        lines = as_json_lines(args.input, Path(folder), args.format)
        with lines.open("rb") as source:
            derived = derive_catalogue(observe(source), min_rows=args.min_orders)
    report = write(derived, args.output)
    outcomes = derived.report["outcome"].value_counts().to_dict()
    print(f"products: {outcomes}; variant orders folded in: "
          f"{int(derived.report['variant_orders'].sum()):,}; report: {report}")  # fmt: skip
    if derived.catalogue is None:
        print(f"no product could be derived from {args.input}", file=sys.stderr)
        return 1
    c = derived.catalogue
    print(f"catalogue: {len(c)} products -> {args.output} (use it with --catalogue)")
    return 0


def cmd_repair_report(args: argparse.Namespace) -> int:
    """How well the cleaner repaired what the generator broke; exit 1 when a target is missed."""
    import pandas as pd

    from pipeline.orders_files import read_truth
    from pipeline.quality import format_report, repair_report, revenue_kept, target_failures

    truth, clean = read_truth(args.truth), pd.read_parquet(args.clean / "clean")
    report = repair_report(truth, clean, pd.read_parquet(args.clean / "quarantine"))
    print(format_report(report))
    share, wrong = revenue_kept(truth, clean)
    print(f"revenue kept: {share:.3%} of the truth's; kept orders with a wrong total: {wrong}")
    failures = target_failures(report)
    for failure in failures:
        print(f"target missed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _stage(name: str, args: argparse.Namespace) -> int:
    """One stage of a run: the run named by --run, else the last one started here."""
    from pipeline.run import run_stage

    settings = Settings.from_env(**_load_path(args))
    gate = not getattr(args, "no_gate", False)
    manifest = run_stage(name, settings, args.run, _print_stage, Bars(), gate=gate)
    print(f"run {manifest.run_id}: {name} done; manifest status {manifest.status}")
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    return _stage(f"gate_{args.dataset}", args)


def cmd_manifest(args: argparse.Namespace) -> int:
    """A run's manifest as JSON on stdout; exit 1 unless the run succeeded (was published)."""
    from pipeline.run import Run

    manifest = Run.resume(Settings.from_env(), args.run).manifest
    print(json.dumps(manifest.as_dict(), indent=2, default=str))
    return 0 if manifest.status == "succeeded" else 1


def _load_path(args: argparse.Namespace) -> dict[str, str]:
    path = getattr(args, "load_path", None)
    return {"load_path": path} if path else {}


def cmd_stream(args: argparse.Namespace) -> int:
    if not args.continuous:
        return _stage("stream", args)
    from pipeline.jobs.stream_ingest import start_stream
    from pipeline.spark_session import build_spark

    settings = Settings.from_env()
    spark = build_spark(settings, kafka=True)
    start_stream(spark, settings, available_now=False).awaitTermination()
    return 0


def cmd_transform(args: argparse.Namespace) -> int:
    return _stage("transform", args)


def cmd_load(args: argparse.Namespace) -> int:
    return _stage("load", args)


def cmd_segment(args: argparse.Namespace) -> int:
    return _stage("segment", args)


def cmd_eda(args: argparse.Namespace) -> int:
    from pipeline.eda_scan import write_report

    result = write_report(Settings.from_env(), args.output, args.chunk_rows, progress=Bars())
    print(
        f"EDA report: {result.path} ({result.rows:,} orders of run {result.run_id or '(any)'}, "
        f"{result.seconds:.1f}s, {result.rows_per_s:,.0f} rows/s)"
    )
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    return _stage("aggregate", args)


def cmd_publish(args: argparse.Namespace) -> int:
    return _stage("publish", args)


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.run import run_pipeline

    ingest_only = args.command == "ingest"
    settings = Settings.from_env(**_catalogue(args), **_load_path(args))
    manifest = run_pipeline(
        settings,
        args.rows,
        args.seed,
        args.error_rate,
        report=_print_stage,
        progress=Bars(),
        input_path=args.input,
        input_format=args.format,
        only=() if ingest_only else None,
    )
    if ingest_only:  # the run id alone on the last line: what a scheduler passes on
        print(manifest.run_id, flush=True)
    else:
        _print_summary(manifest, settings)
    return 0


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    # Both, explicitly: a shell's background job starts with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


def cmd_stack_up(args: argparse.Namespace) -> int:
    """Run the stack until Ctrl-C; stdout holds only lines a shell can eval, progress is stderr."""
    from stack.services import running_stack

    env_file: Path | None = args.env_file
    if env_file:
        env_file.unlink(missing_ok=True)  # a script waiting for it must not source an old stack's
    # Until the wait below, a stop request (SIGTERM too: a background job ignores SIGINT) stops
    # the start-up and still removes the containers.
    _interrupt_on(signal.SIGINT, signal.SIGTERM)
    with (
        contextlib.suppress(KeyboardInterrupt),
        running_stack(
            args.log_dir,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
            topology=args.topology,
        ) as endpoints,
    ):
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in endpoints.as_env().items())
        try:
            if env_file:
                env_file.parent.mkdir(parents=True, exist_ok=True)
                partial = env_file.with_name(f".{env_file.name}.partial")
                partial.write_text(exports)
                partial.replace(env_file)  # atomic: a reader sees every line or no file
            print(exports + "# stack is up; Ctrl-C stops it", flush=True)
            _wait_for_interrupt()
        finally:
            if env_file:
                env_file.unlink(missing_ok=True)  # its endpoints are about to go away
    return 0


def cmd_stack_prepare(args: argparse.Namespace) -> int:
    from stack.engine import ensure_engine
    from stack.images import prepare
    from stack.jars import spark_connector_jars

    for service, image in prepare(ensure_engine()).items():
        print(f"# {service}: image {image}")
    jars = ",".join(str(p) for p in spark_connector_jars())
    print(f"export PIPELINE_SPARK_JARS={shlex.quote(jars)}  # for a Kafka of your own")
    return 0


def _interrupt_on(*signals: signal.Signals) -> None:
    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    for signum in signals:
        signal.signal(signum, interrupt)


def cmd_demo(args: argparse.Namespace) -> int:
    from dashboard.app import serve
    from dashboard.sources import AggregateSource
    from pipeline.run import run_pipeline
    from stack.services import running_stack

    output = args.output.resolve()
    _interrupt_on(signal.SIGINT, signal.SIGTERM)  # any stop request still stops the stack
    with running_stack(output / "stack-logs", progress=print) as endpoints:
        print(f"service start-up seconds: {endpoints.startup_seconds}")
        os.environ.update(endpoints.as_env())
        settings = Settings.from_env(output_dir=output)
        print(f"pipeline at {args.rows:,} rows:")
        manifest = run_pipeline(
            settings, args.rows, args.seed, args.error_rate, report=_print_stage, progress=Bars()
        )
        source = AggregateSource(
            settings.thrift_host,
            settings.thrift_port,
            settings.hbase_table,
            reload_in_background=True,
        )
        url = f"http://127.0.0.1:{args.port}"
        _print_summary(
            manifest, settings, ("dashboard", url), ("stack logs", str(endpoints.log_dir))
        )
        with contextlib.suppress(KeyboardInterrupt):
            config = {
                "DATA_DOCS_DIR": str(output / "data-docs"),
                "EDA_REPORT": str(output / "eda" / "report.html"),
            }
            serve(
                source,
                host="127.0.0.1",
                port=args.port,
                config=config,
                ready=lambda: print(
                    f"\ndashboard on {url}  (Ctrl-C stops it and the stack)", flush=True
                ),
            )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboard.app import serve
    from dashboard.sources import AggregateSource, ParquetSource

    if args.source:
        clean = args.source / "clean" if (args.source / "clean").is_dir() else args.source
        source = ParquetSource(clean)  # reads manifest.json beside clean/
        docs, eda = args.source / "data-docs", args.source / "eda" / "report.html"
    else:
        settings = Settings.from_env()
        source = AggregateSource(
            settings.thrift_host,
            settings.thrift_port,
            settings.hbase_table,
            reload_in_background=True,
        )
        docs, eda = settings.output_dir / "data-docs", settings.output_dir / "eda" / "report.html"
    config = {"DATA_DOCS_DIR": str(args.data_docs or docs), "EDA_REPORT": str(eda)}
    url = f"http://127.0.0.1:{args.port}"
    serve(
        source,
        host="127.0.0.1",
        port=args.port,
        config=config,
        ready=lambda: print(f"dashboard on {url}  (Ctrl-C stops it)", flush=True),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser, rows: int) -> None:
        p.add_argument("--rows", type=_rows, default=rows, help="orders to generate")
        p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
        p.add_argument(
            "--error-rate",
            type=_rate,
            default=None,
            help="share of rows given deliberate errors (default: the generator's)",
        )

    def input_format_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--format",
            choices=("jsonl", "csv"),
            default=None,
            help="the input's format (default: by extension, .csv/.tsv; else by its first byte, "
            "{ for JSON lines); a CSV needs a header and is converted once to JSON lines",
        )

    def catalogue_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--catalogue",
            type=_catalogue_file,
            default=None,
            metavar="FILE|derive",
            help="your shop's product catalogue, a CSV or Parquet file with the columns ProductID, "
            "ProductName, Category, Price, or 'derive': the one the input's orders agree on "
            "(default: PIPELINE_CATALOGUE, else the built-in one)",
        )

    p = sub.add_parser("generate", help="write messy orders as JSON lines plus their truth twin")
    data_args(p, 10_000)
    p.add_argument("--output", type=Path, required=True, help="folder for orders.jsonl and truth*")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("clean", help="clean a raw JSON-lines or CSV file with local Spark")
    p.add_argument("--input", type=Path, required=True, help="raw JSON-lines or CSV file")
    input_format_arg(p)
    p.add_argument("--output", type=Path, required=True, help="folder for clean/ and quarantine/")
    catalogue_arg(p)
    p.set_defaults(func=cmd_clean)

    catalogue = sub.add_parser("catalogue", help="product catalogues")
    catalogue_sub = catalogue.add_subparsers(dest="catalogue_command", required=True)
    p = catalogue_sub.add_parser(
        "derive", help="derive a catalogue from the orders themselves (for --catalogue)"
    )
    p.add_argument("--input", type=Path, required=True, help="raw JSON-lines or CSV file")
    input_format_arg(p)
    p.add_argument("--output", type=Path, required=True, help="the catalogue CSV to write")
    p.add_argument(
        "--min-orders", type=int, default=3, help="fewest orders naming a product (default 3)"
    )
    p.set_defaults(func=cmd_derive_catalogue)

    quality = sub.add_parser("quality", help="measure the cleaner against the truth twin")
    quality_sub = quality.add_subparsers(dest="quality_command", required=True)
    p = quality_sub.add_parser("repair-report", help="per error kind: repaired, quarantined, wrong")
    p.add_argument("--truth", type=Path, required=True, help="a `pipeline generate` output folder")
    p.add_argument("--clean", type=Path, required=True, help="a `pipeline clean` output folder")
    p.set_defaults(func=cmd_repair_report)

    def load_path_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--load-path",
            choices=LOAD_PATHS,
            default=None,
            help="bulk: HFiles through HBase's bulk load; thrift: mutateRows batches; auto "
            "(default, or PIPELINE_LOAD_PATH): bulk from PIPELINE_BULK_LOAD_MIN_ROWS rows on",
        )

    def run_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--run",
            default=None,
            help="run id (default: the last run started with this PIPELINE_OUTPUT_DIR)",
        )

    def no_gate_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--no-gate",
            action="store_true",
            help="leave out the gate on what the stage wrote (run it with `pipeline gate`)",
        )

    p = sub.add_parser("stream", help="a run's Kafka offsets -> its HDFS raw/stream (gated)")
    run_arg(p)
    no_gate_arg(p)
    p.add_argument(
        "--continuous",
        action="store_true",
        help="keep landing the whole topic in micro-batches (no run) instead of a run's range",
    )
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("transform", help="a run's raw -> clean/ and quarantine/ (gated)")
    run_arg(p)
    no_gate_arg(p)
    p.set_defaults(func=cmd_transform)

    p = sub.add_parser("load", help="a run's gated clean/ -> HBase (bulk load or Thrift)")
    run_arg(p)
    no_gate_arg(p)
    load_path_arg(p)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("segment", help="a run's clean/ -> customer segments (RFM, KMeans), gated")
    run_arg(p)
    no_gate_arg(p)
    p.set_defaults(func=cmd_segment)

    p = sub.add_parser("manifest", help="a run's manifest as JSON (exit 1 unless it succeeded)")
    run_arg(p)
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("gate", help="one gate of a run, on what its stage wrote")
    p.add_argument("dataset", choices=("raw", "clean", "load", "segments"))
    run_arg(p)
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser(
        "eda", help="the published run's orders from HBase (Thrift) -> one HTML EDA report"
    )
    p.add_argument("--output", type=Path, required=True, help="folder for report.html")
    p.add_argument(
        "--chunk-rows", type=_rows, default=50_000, help="rows read from HBase per chunk"
    )
    p.set_defaults(func=cmd_eda)

    p = sub.add_parser("aggregate", help="a loaded run's clean/ -> the dashboard's aggregates")
    run_arg(p)
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("publish", help="a run that passed every gate and check -> the dashboard")
    run_arg(p)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("run", help="the whole path on running services (PIPELINE_* endpoints)")
    data_args(p, 20_000)
    load_path_arg(p)
    p.add_argument(
        "--input",
        type=Path,
        default=None,
        help="your own JSON-lines or CSV file instead of generated",
    )
    input_format_arg(p)
    catalogue_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "ingest",
        help="start a run: orders generated (or --input), bulk part on HDFS, the rest in Kafka; "
        "prints the run id last",
    )
    data_args(p, 20_000)
    p.add_argument("--input", type=Path, default=None, help="your own JSON-lines or CSV file")
    input_format_arg(p)
    catalogue_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="start the stack, run the path, serve the dashboard")
    data_args(p, 200_000)
    p.add_argument("--port", type=int, default=5000, help="dashboard port on 127.0.0.1")
    p.add_argument("--output", type=Path, default=Path("output/demo"), help="run folder")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the dashboard from local Parquet or from HBase")
    p.add_argument("--source", type=Path, help="a `pipeline clean` output (else: HBase)")
    p.add_argument(
        "--data-docs",
        type=Path,
        help="Data Docs folder served at /data-docs/ (default: DIR/data-docs, else "
        "PIPELINE_OUTPUT_DIR/data-docs)",
    )
    p.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1")
    p.set_defaults(func=cmd_serve)

    stack = sub.add_parser("stack", help="the services: prepare images, or run them")
    stack_sub = stack.add_subparsers(dest="stack_command", required=True)
    p = stack_sub.add_parser("prepare", help="Docker engine, base image, jars, service images")
    p.set_defaults(func=cmd_stack_prepare)
    p = stack_sub.add_parser("up", help="start Kafka, HDFS, HBase + Thrift until Ctrl-C")
    p.add_argument("--log-dir", type=Path, default=Path("output/stack-logs"))
    p.add_argument(
        "--topology",
        choices=("single", "cluster"),
        default="single",
        help="cluster: Kafka as three brokers (3 copies, 2 in sync) and a Spark master with two "
        "workers; single: one broker, Spark local inside each job",
    )
    p.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="also write the export lines here once the stack is up (removed when it stops)",
    )
    p.set_defaults(func=cmd_stack_up)
    _add_verbose(parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """-v on every command: the engines' log lines on the console too (they always go to files)."""
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="also print the engines' log lines (Spark, Great Expectations, Kafka client)",
    )  # fmt: skip
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_verbose(child)


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.gates import GateFailed
    from pipeline.manifest import RunFailed

    args = build_parser().parse_args(argv)
    engine_logs.configure(getattr(args, "verbose", False), Settings.from_env().log_dir)
    if getattr(args, "error_rate", 0) is None:
        from pipeline.generate import DEFAULT_ERROR_RATE

        args.error_rate = DEFAULT_ERROR_RATE
    try:
        return int(args.func(args))
    except (GateFailed, RunFailed) as failure:
        print(f"stopped: {failure}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
