"""The run manifest: a round trip through JSON, and a reconciliation that names each side."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.manifest import Manifest, Stage, failed_checks, reconcile
from pipeline.settings import Settings

pytestmark = pytest.mark.unit


def finished_run(hbase_rows: int = 95, segmented: int = 20) -> Manifest:
    manifest = Manifest(rows=100, seed=1, error_rate=0.05)
    manifest.stages = [
        Stage("generate", 100, 101, 0.1),
        Stage("bulk_load", 40, 40, 0.1),
        Stage("produce", 61, 60, 0.1, {"rejected": 1}),
        Stage("stream_ingest", 60, 60, 0.1),
        Stage("transform", 101, 95, 0.1, {"quarantined": 5, "duplicates": 1}),
        Stage("load_hbase", 95, hbase_rows, 0.1),
        Stage("segment", 95, segmented, 0.1, {"clean_customers": 20}),
        Stage("aggregate", 95, 30, 0.1, {"orders": 95}),
    ]
    return manifest


def test_a_run_whose_counts_agree_reconciles() -> None:
    checks = reconcile(finished_run())
    assert len(checks) == 6 and all(c["ok"] for c in checks.values())
    assert failed_checks(checks) == []


def test_a_missing_hbase_row_is_named_with_both_sides() -> None:
    problems = failed_checks(reconcile(finished_run(hbase_rows=94)))
    assert problems == ["clean = HBase rows of this run: expected 95, got 94"]


def test_a_customer_missing_from_the_segments_is_named() -> None:
    problems = failed_checks(reconcile(finished_run(segmented=19)))
    assert problems == ["customers in clean = customers segmented: expected 20, got 19"]


def test_the_manifest_survives_json(tmp_path: Path) -> None:
    manifest = finished_run()
    manifest.reconciliation = reconcile(manifest)
    back = Manifest.read(manifest.write(tmp_path / "manifest.json"))
    assert back == manifest


def test_a_run_lands_under_its_own_folder() -> None:
    settings = Settings(data_root="hdfs://127.0.0.1:1/ecommerce").for_run("r1")
    assert settings.raw_stream == "hdfs://127.0.0.1:1/ecommerce/runs/r1/raw/stream"
    assert settings.clean == "hdfs://127.0.0.1:1/ecommerce/runs/r1/transform/clean"
    assert settings.stream_checkpoint.startswith(settings.run_root)
    flat = Settings(data_root="file:///tmp/x")
    assert flat.clean == "file:///tmp/x/clean" and flat.run_root == "file:///tmp/x"
