"""A gate run again on an existing run: it checks and changes nothing, so a published run that
passes it stays published; one that fails it says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.gates import GateFailed
from pipeline.manifest import Manifest, Stage, now_text
from pipeline.run import Run, run_stage
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def a_run(tmp_path: Path, status: str, clean_rows: int, hbase_rows: int) -> tuple[Settings, str]:
    """A run's manifest as `pipeline run` leaves it, its load stage counting these rows."""
    settings = Settings(data_root=tmp_path.as_uri(), output_dir=tmp_path)
    manifest = Manifest(rows=clean_rows, seed=1, error_rate=0.0, status=status)
    if status == "succeeded":
        manifest.published_at = now_text()
    manifest.stages += [
        Stage("transform", clean_rows, clean_rows, 1.0, {"quarantined": 0, "duplicates": 0}),
        Stage("load_hbase", clean_rows, hbase_rows, 1.0),
    ]
    Run(settings, manifest).save()
    return settings, manifest.run_id


def status_on_disk(settings: Settings, run_id: str) -> str:
    return Run.resume(settings, run_id).manifest.status


@pytest.mark.usefixtures("spark")
def test_a_published_run_that_passes_a_gate_again_stays_published(tmp_path: Path) -> None:
    settings, run_id = a_run(tmp_path, "succeeded", 1000, 1000)
    manifest = run_stage("gate_load", settings, run_id)
    assert manifest.status == "succeeded"
    assert status_on_disk(settings, run_id) == "succeeded"
    assert manifest.gate_passed("load")


@pytest.mark.usefixtures("spark")
def test_a_published_run_that_fails_a_gate_again_says_so(tmp_path: Path) -> None:
    settings, run_id = a_run(tmp_path, "succeeded", 1000, 999)
    with pytest.raises(GateFailed):
        run_stage("gate_load", settings, run_id)
    assert status_on_disk(settings, run_id) == "gate_failed"


@pytest.mark.usefixtures("spark")
def test_a_run_not_yet_published_is_still_running_after_its_gate(tmp_path: Path) -> None:
    settings, run_id = a_run(tmp_path, "running", 1000, 1000)
    assert run_stage("gate_load", settings, run_id).status == "running"
    assert status_on_disk(settings, run_id) == "running"
