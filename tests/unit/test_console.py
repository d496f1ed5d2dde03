"""The console: stage lines and the summary table, progress bars, and the engines' output kept
out of it (in files) unless asked for."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import engine_logs
from pipeline.console import stage_line, summary, table
from pipeline.manifest import Manifest, Stage, reconcile
from pipeline.progress import SILENT, Bars


def manifest() -> Manifest:
    m = Manifest(rows=100, seed=1, error_rate=0.1, run_id="r1", status="succeeded")
    m.stages = [
        Stage("generate", 100, 102, 0.5),
        Stage("bulk_load", 41, 41, 2.0),
        Stage("produce", 61, 61, 0.0, {"rejected": 0}),
        Stage("stream_ingest", 61, 61, 3.0),
        Stage("transform", 102, 95, 10.0, {"quarantined": 5, "duplicates": 2}),
    ]
    m.gates = [{"dataset": "raw", "success": True}, {"dataset": "clean", "success": False}]
    m.reconciliation = reconcile(m)
    return m


def test_a_stage_line_says_rows_time_and_rate() -> None:
    line = stage_line(Stage("load_hbase", 1_000_000, 999_999, 4.0))
    assert line.split() == ["load_hbase", "in", "1,000,000", "out", "999,999", "4.0s",
                            "250,000", "rows/s"]  # fmt: skip


def test_table_columns_line_up() -> None:
    text = table(("name", "n"), [("a", "1"), ("longer", "1,000")], (False, True))
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1, text
    assert lines[2].endswith("    1") and lines[3].startswith("  longer")


def test_the_summary_holds_every_stage_the_gates_the_counts_and_where_to_look() -> None:
    text = summary(manifest(), [("dashboard", "http://127.0.0.1:5000")])
    for stage in manifest().stages:
        assert f"  {stage.name} " in text
    assert "raw passed, clean FAILED" in text
    assert "3 of 3 reconciliation checks agree" in text
    assert "dashboard  http://127.0.0.1:5000" in text


def test_a_failed_run_names_its_problem() -> None:
    m = manifest()
    m.status, m.problem = "gate_failed", "clean: 3 expectations failed"
    assert "problem  clean: 3 expectations failed" in summary(m)


def test_a_bar_polls_the_count_and_never_fails_the_stage() -> None:
    out = io.StringIO()
    done = iter([10, 40])

    def count() -> int:
        value = next(done, None)
        if value is None:
            raise ConnectionError("broker between retries")
        return value

    with Bars(every=0.05, file=out).track("load", 100, count):
        time.sleep(0.4)
    shown = out.getvalue()
    assert "load:" in shown and "40%" in shown and "rows/s" in shown


def test_silent_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with SILENT.track("load", 10, lambda: 5):
        pass
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def quiet(tmp_path: Path):  # noqa: ANN201
    yield tmp_path
    engine_logs.configure(False)


def child_says(text: str) -> None:
    subprocess.run([sys.executable, "-c", f"import sys; print({text!r}); "
                    f"print({text + '-err'!r}, file=sys.stderr)"], check=True)  # fmt: skip


def test_a_child_started_in_the_block_writes_to_the_log_not_the_console(
    quiet: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    engine_logs.configure(False)
    with engine_logs.child_output(quiet / "logs" / "spark.log"):
        child_says("engine line")
    print("our line")
    out, err = capfd.readouterr()
    assert "engine line" not in out + err and "our line" in out
    assert (quiet / "logs" / "spark.log").read_text() == "engine line\nengine line-err\n"


def test_verbose_shows_the_child_on_the_console_and_keeps_the_log(
    quiet: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    engine_logs.configure(True)
    with engine_logs.child_output(quiet / "spark.log"):
        child_says("engine line")
    deadline = time.monotonic() + 10
    while "engine line-err" not in (quiet / "spark.log").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.1)
    _, err = capfd.readouterr()
    assert "engine line" in err
    assert (quiet / "spark.log").read_text() == "engine line\nengine line-err\n"


def test_python_log_records_go_to_the_file_and_to_the_console_only_when_verbose(
    quiet: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    engine_logs.configure(False, quiet / "logs")
    logging.getLogger("great_expectations.x").info("engine record")
    assert "engine record" not in "".join(capfd.readouterr())
    assert "engine record" in (quiet / "logs" / "python.log").read_text()

    engine_logs.configure(True)
    with engine_logs.into(quiet / "run-logs"):
        logging.getLogger("kafka.y").warning("another record")
    assert "another record" in capfd.readouterr().err
    assert "another record" in (quiet / "run-logs" / "python.log").read_text()
