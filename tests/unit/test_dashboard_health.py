"""The pipeline health page (from the run manifest) and the Data Docs folder it links to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dashboard_data import clean_orders, write_spark_like

from dashboard import LocalSource, ParquetSource, create_app, health
from pipeline.manifest import Manifest, reconcile

pytestmark = pytest.mark.unit

MANIFEST = {
    "run_id": "20260101T000000Z-abc",
    "finished_at": "2026-01-01T00:10:00+00:00",
    "rows": 1000,
    "seed": 7,
    "error_rate": 0.05,
    "stages": [
        {"name": "generate", "rows_in": 1000, "rows_out": 1010, "seconds": 1.5, "detail": {}},
        {"name": "bulk_load", "rows_in": 404, "rows_out": 404, "seconds": 2.0, "detail": {}},
        {"name": "produce", "rows_in": 606, "rows_out": 606, "seconds": 1.0, "detail": {}},
        {"name": "stream_ingest", "rows_in": 606, "rows_out": 606, "seconds": 9.0, "detail": {}},
        {
            "name": "transform",
            "rows_in": 1010,
            "rows_out": 950,
            "seconds": 12.0,
            "detail": {
                "quarantined": 50,
                "duplicates": 10,
                "quarantined_by_reason": {"missing_country": 30, "malformed_json": 20},
            },
        },
        {"name": "load_hbase", "rows_in": 950, "rows_out": 950, "seconds": 3.0, "detail": {}},
    ],
    "gates": [
        {"name": "clean", "success": True, "evaluated": 12},
        {"name": "quarantine", "success": False, "evaluated": 4, "failed": 1},
    ],
    "aggregates": {"totals": {"orders": 950}},
    "status": "succeeded",
}
# What the run computed and stored: the page shows it as it is.
MANIFEST["reconciliation"] = reconcile(Manifest.from_dict(MANIFEST))


def test_report_shows_the_reconciliation_the_run_computed() -> None:
    report = health.report(MANIFEST)
    assert report["run_id"] == MANIFEST["run_id"]
    assert report["last_run"] == MANIFEST["finished_at"]
    assert report["status"] == "succeeded" and report["problem"] is None
    shown = report["reconciliation"]["checks"]
    checks = {c["name"]: (c["expected"], c["actual"], c["ok"]) for c in shown}
    assert checks == {
        "generated = bulk + produced + rejected at produce": (1010, 1010, True),
        "bulk + streamed + rejected landed = raw": (1010, 1010, True),
        "raw = clean + quarantined + duplicates": (1010, 1010, True),
        "clean = HBase rows of this run": (950, 950, True),
    }
    assert report["reconciliation"]["status"] == "ok"


def test_a_run_whose_counts_differ_is_shown_failed_with_its_problem() -> None:
    broken = json.loads(json.dumps(MANIFEST))
    broken["stages"][-1]["rows_out"] = 949
    broken["reconciliation"] = reconcile(Manifest.from_dict(broken))
    broken["status"], broken["problem"] = "counts_differ", "clean = HBase rows of this run"
    report = health.report(broken)
    assert report["reconciliation"]["status"] == "failed"
    failed = [c for c in report["reconciliation"]["checks"] if not c["ok"]]
    assert failed == [
        {"name": "clean = HBase rows of this run", "expected": 950, "actual": 949, "ok": False}
    ]
    assert report["status"] == "counts_differ" and report["problem"]


def test_report_lists_quarantine_reasons_largest_first_and_gates() -> None:
    report = health.report(MANIFEST)
    assert report["quarantine"] == [("missing_country", 30), ("malformed_json", 20)]
    assert report["gates"]["status"] == "failed"
    assert [(g["name"], g["ok"]) for g in report["gates"]["results"]] == [
        ("clean", True),
        ("quarantine", False),
    ]
    as_mapping = health.report(
        {**MANIFEST, "gates": {"clean": True, "quarantine": {"success": True}}}
    )
    assert as_mapping["gates"]["status"] == "ok"


def test_a_manifests_own_reconciliation_is_shown_too() -> None:
    report = health.report(
        {"stages": [], "reconciliation": {"raw = clean": {"expected": 3, "actual": 2, "ok": False}}}
    )
    assert report["reconciliation"] == {
        "status": "failed",
        "checks": [{"name": "raw = clean", "expected": 3, "actual": 2, "ok": False}],
    }


def test_missing_parts_are_unknown_not_guessed() -> None:
    assert health.report(None) == {"available": False}
    report = health.report({"stages": []})
    assert report["reconciliation"]["status"] == "unknown"
    assert report["gates"]["status"] == "unknown"
    assert report["quarantine"] == [] and report["last_run"] is None


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "data-docs"
    (folder / "validations").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>Data Docs index</h1>")
    (folder / "validations" / "clean.html").write_text("<h1>clean suite</h1>")
    (tmp_path / "secret.txt").write_text("do not serve")
    return folder


@pytest.fixture
def client(docs: Path):
    source = LocalSource(clean_orders(rows=200), manifest=MANIFEST)
    return create_app(source, {"TESTING": True, "DATA_DOCS_DIR": str(docs)}).test_client()


def test_health_page_shows_stages_checks_quarantine_gates_and_links_data_docs(client) -> None:
    page = client.get("/health/pipeline")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for stage in MANIFEST["stages"]:
        assert f'data-stage="{stage["name"]}"' in html
    assert 'id="reconciliation-status">ok<' in html
    assert 'id="gates-status">failed<' in html
    assert "missing_country" in html and "2026-01-01T00:10:00+00:00" in html
    assert 'id="data-docs-link" href="/data-docs/"' in html


def test_data_docs_are_served_from_their_folder_in_a_sandbox(client) -> None:
    index = client.get("/data-docs/")
    assert index.status_code == 200 and b"Data Docs index" in index.data
    assert index.headers["Content-Security-Policy"].startswith("sandbox")
    assert b"clean suite" in client.get("/data-docs/validations/clean.html").data
    assert b"Data Docs index" in client.get("/data-docs/validations/../index.html").data


@pytest.mark.parametrize(
    "path",
    [
        "/data-docs/../secret.txt",
        "/data-docs/%2e%2e/secret.txt",
        "/data-docs/..%2fsecret.txt",
        "/data-docs/validations/../../secret.txt",
        "/data-docs//etc/passwd",
        "/data-docs/%2fetc%2fpasswd",
        "/data-docs/missing.html",
    ],
)
def test_nothing_outside_the_data_docs_folder_is_served(client, path: str) -> None:
    response = client.get(path, follow_redirects=True)  # Werkzeug merges "//" by a redirect
    assert response.status_code == 404
    assert b"do not serve" not in response.data and b"root:" not in response.data


def test_without_a_data_docs_folder_the_route_is_404_and_unlinked() -> None:
    client = create_app(LocalSource(clean_orders(rows=50)), {"TESTING": True}).test_client()
    assert client.get("/data-docs/").status_code == 404
    html = client.get("/health/pipeline").get_data(as_text=True)
    assert "No run manifest found" in html


def test_parquet_source_reads_the_manifest_beside_the_clean_folder(tmp_path: Path) -> None:
    clean = write_spark_like(clean_orders(rows=50), tmp_path / "run" / "clean")
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(MANIFEST))
    source = ParquetSource(clean)
    assert source.manifest()["run_id"] == MANIFEST["run_id"]
    assert source.aggregates().run_id == MANIFEST["run_id"]
    client = create_app(source, {"TESTING": True}).test_client()
    assert 'id="health-run-id">20260101T000000Z-abc<' in client.get("/health/pipeline").get_data(
        as_text=True
    )
