"""The whole path on the whole stack: generate -> HDFS + Kafka -> Spark -> HBase -> dashboard."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hbase_rows import read_record

from dashboard.app import create_app
from dashboard.sources import AggregateSource
from pipeline import hbase_codec, segments
from pipeline.adapters import hbase_aggregates, hbase_table
from pipeline.adapters.raw_store import read_raw
from pipeline.eda_scan import write_report
from pipeline.jobs.stream_ingest import run_stream_ingest
from pipeline.orders_files import read_truth
from pipeline.run import Manifest, run_pipeline
from pipeline.schema import CLEAN_COLUMNS
from pipeline.settings import Settings
from pipeline.spark_session import build_spark

pytestmark = pytest.mark.e2e
ROWS = 20_000


def stack_settings(full_stack, test_output: Path, name: str) -> Settings:
    return Settings(
        data_root=f"{full_stack.hdfs_url}/{name}",
        output_dir=test_output / name,
        kafka_bootstrap=full_stack.kafka_bootstrap,
        topic=f"customer_orders_{name}" if name != "exact" else "customer_orders",
        thrift_host=full_stack.thrift_host,
        thrift_port=full_stack.thrift_port,
        hbase_table="customer_orders" if name == "exact" else f"customer_orders_{name}",
        shuffle_partitions=4,
        spark_driver_memory="2g",
        spark_jars=full_stack.spark_jars,
        hbase_container=full_stack.containers["hbase"],
        # The exact run bulk-loads; the others load as "auto" does at this size: through Thrift.
        load_path="bulk" if name == "exact" else "auto",
    )


@pytest.fixture(scope="module")
def exact_run(full_stack, test_output: Path) -> tuple[Settings, Manifest]:
    settings = stack_settings(full_stack, test_output, "exact")
    manifest = run_pipeline(settings, ROWS, seed=7, error_rate=0.0, report=print)
    return settings.for_run(manifest.run_id), manifest


def test_clean_rows_reach_every_stage_in_exact_numbers(exact_run) -> None:
    _, manifest = exact_run
    out = {s.name: s.rows_out for s in manifest.stages}
    bulk, produced = manifest.stage("bulk_load").rows_in, manifest.stage("produce").rows_in
    assert out["generate"] == ROWS == bulk + produced
    assert bulk == round(ROWS * 0.4)
    assert out["bulk_load"] == bulk
    assert out["produce"] == produced
    assert out["stream_ingest"] == produced
    assert manifest.stage("transform").rows_in == ROWS
    assert out["transform"] == ROWS
    assert out["load_hbase"] == ROWS
    assert manifest.stage("load_hbase").detail["path"] == "bulk"
    assert manifest.stage("load_hbase").detail["written"] == ROWS
    assert (exact_run[0].run_dir / "manifest.json").is_file()
    assert manifest.status == "succeeded"
    assert manifest.reconciliation and all(c["ok"] for c in manifest.reconciliation.values())
    assert [g["dataset"] for g in manifest.gates] == [
        "raw", "clean", "quarantine", "load", "segments",
    ]  # fmt: skip
    assert manifest.stage("retire_previous").rows_out == ROWS
    assert all(g["success"] for g in manifest.gates)
    assert (Path(manifest.data_docs) / "index.html").is_file()


def test_rows_read_back_from_hbase_equal_what_was_generated(exact_run) -> None:
    settings, manifest = exact_run
    truth = read_truth(settings.run_dir / "generated").set_index("row_key", drop=False)
    stats = manifest.stage("transform").detail["stats"]
    span = stats["total_max"] - stats["total_min"]
    for row_key in truth.index[[0, 1, 4_321, 12_345, ROWS - 1]]:
        expected = truth.loc[row_key, list(CLEAN_COLUMNS)].to_dict()
        got = read_record(
            settings.thrift_host,
            settings.thrift_port,
            settings.hbase_table,
            hbase_codec.row_key_of(expected),
        )
        assert set(got) == set(CLEAN_COLUMNS)
        normalized = (expected["TotalAmount"] - stats["total_min"]) / span
        assert math.isclose(got.pop("TotalAmountNormalized"), normalized, abs_tol=1e-9)
        for column, value in got.items():
            want = expected[column]
            want = want.date() if hasattr(want, "date") and callable(want.date) else want
            assert value == want, f"{row_key} {column}: HBase has {value!r}, generated {want!r}"


def test_every_customer_is_published_in_exactly_one_segment(exact_run) -> None:
    settings, manifest = exact_run
    truth = read_truth(settings.run_dir / "generated")
    stage = manifest.stage("segment")
    assert stage.rows_out == stage.detail["clean_customers"] == truth["CustomerID"].nunique()
    assert 3 <= stage.detail["k"] <= 6 and -1 <= stage.detail["silhouette"] <= 1
    tables = hbase_aggregates.read_aggregates(
        settings.thrift_host,
        settings.thrift_port,
        hbase_aggregates.table_name(settings),
        names=segments.TABLES,
    )
    published = tables["segments"]
    assert sorted(published["CustomerID"]) == sorted(truth["CustomerID"].unique())
    assert published.groupby("segment").size().to_dict() == stage.detail["sizes"]
    cents = truth["TotalAmount"].mul(100).round().astype("int64")
    spent = cents.groupby(truth["CustomerID"]).sum()
    assert (
        published.set_index("CustomerID")["monetary_cents"]
        .sort_index()
        .equals(spent.sort_index().rename("monetary_cents"))
    )
    assert len(tables["segment_centroids"]) == stage.detail["k"]
    # The segment filters the dashboard's aggregates, which Spark joined with the segments.
    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    client = create_app(source).test_client()
    spent_by = published.set_index("CustomerID")["segment"]
    for name, size in stage.detail["sizes"].items():
        kpis = client.get(f"/api/summary?segment={name}").get_json()["kpis"]
        theirs = truth[truth["CustomerID"].map(spent_by) == name]
        assert (kpis["customers"], kpis["orders"]) == (size, len(theirs))


def test_the_eda_report_reads_the_published_run_from_hbase_in_chunks(
    exact_run, tmp_path: Path
) -> None:
    settings, manifest = exact_run
    chunks = hbase_table.scan_chunks(
        settings.thrift_host, settings.thrift_port, settings.hbase_table, 7_000, manifest.run_id
    )
    assert [len(chunk) for chunk in chunks] == [7_000, 7_000, ROWS - 14_000]
    result = write_report(settings, tmp_path / "eda", chunk_rows=5_000)
    assert (result.rows, result.run_id) == (ROWS, manifest.run_id)
    page = result.path.read_text(encoding="utf-8")
    assert f"{ROWS:,} orders" in page and manifest.run_id in page
    assert 'id="eda-quarantine"' in page and 'id="chart-top_products_by_units"' in page


def test_a_second_stream_run_adds_no_duplicates(exact_run) -> None:
    settings, manifest = exact_run
    spark = build_spark(settings, kafka=True)
    before = read_raw(spark, settings).count()
    stream = manifest.stage("stream_ingest").detail
    start = {int(p): o for p, o in stream["offsets_start"].items()}
    end = {int(p): o for p, o in stream["offsets_end"].items()}
    again = run_stream_ingest(spark, settings, start=start, end=end)
    assert again == manifest.stage("stream_ingest").rows_out
    assert read_raw(spark, settings).count() == before == ROWS


def test_messy_rows_reconcile_from_raw_to_hbase(full_stack, test_output: Path) -> None:
    settings = stack_settings(full_stack, test_output, "messy")
    manifest = run_pipeline(settings, ROWS, seed=11, error_rate=0.05, report=print)
    generated = manifest.stage("generate").rows_out  # lines: exact duplicates add lines
    transform = manifest.stage("transform")
    assert (
        manifest.stage("bulk_load").rows_out + manifest.stage("stream_ingest").rows_out
        == generated
        == transform.rows_in
    )
    assert (
        transform.rows_in
        == transform.rows_out + transform.detail["quarantined"] + transform.detail["duplicates"]
    )
    assert transform.detail["quarantined"] > 0 and transform.detail["duplicates"] > 0
    assert manifest.stage("load_hbase").rows_out == transform.rows_out
    assert manifest.stage("load_hbase").detail["path"] == "thrift"
    assert manifest.status == "succeeded", manifest.reconciliation
    reasons = transform.detail["quarantined_by_reason"]
    assert sum(reasons.values()) == transform.detail["quarantined"] and "malformed_json" in reasons


def test_dashboard_serves_what_hbase_holds(exact_run) -> None:
    settings, manifest = exact_run
    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    client = create_app(source).test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"plotly" in page.data.lower()
    summary = client.get("/api/summary").get_json()
    truth = read_truth(settings.run_dir / "generated")
    assert summary["kpis"]["orders"] == ROWS
    assert summary["kpis"]["revenue"] == pytest.approx(truth["TotalAmount"].sum(), abs=0.005)
    assert summary["kpis"]["customers"] == truth["CustomerID"].nunique()
    assert summary["run_id"] == manifest.run_id
    health = client.get("/health/pipeline")
    assert health.status_code == 200 and manifest.run_id.encode() in health.data
    customer = truth["CustomerID"].iloc[0]
    drill = client.get(f"/customer?id={customer}")
    assert drill.status_code == 200
    assert all(k.encode() in drill.data for k in truth.loc[truth.CustomerID == customer, "row_key"])


def test_the_segments_page_shows_the_published_segments_in_a_browser(
    exact_run, browser, serve_app, browser_output: Path
) -> None:
    settings, manifest = exact_run
    sizes = manifest.stage("segment").detail["sizes"]
    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    base_url = serve_app(create_app(source))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base_url}/segments")
        for chart in ("shares", "recency_days", "frequency", "monetary", "tenure_days"):
            page.wait_for_selector(f"#chart-{chart} svg.main-svg", state="attached", timeout=30_000)
        rows = page.locator("#segment-table tbody tr")
        shown = {
            rows.nth(i).get_attribute("data-segment"): int(
                rows.nth(i).locator("td").nth(1).inner_text().replace(",", "")
            )
            for i in range(rows.count())
        }
        assert shown == sizes
        page.screenshot(path=str(browser_output / "segments.png"), full_page=True)
        customer = read_truth(settings.run_dir / "generated")["CustomerID"].iloc[0]
        page.goto(f"{base_url}/customer?id={customer}")
        assert page.inner_text("#customer-segment") in sizes
        assert errors == []
    finally:
        context.close()


def test_orders_table_is_presplit_on_the_salt_and_rows_spread_over_it(exact_run) -> None:
    settings, _ = exact_run
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        regions = connection.table(settings.hbase_table).regions()
    finally:
        connection.close()
    starts = sorted(r["start_key"][:1] for r in regions if r["start_key"])
    assert starts == hbase_codec.split_points()
