"""`pipeline demo` as a newcomer sees it: our stage lines, progress and the summary on the console,
every engine log line in the run's log folder instead."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest
from command_process import cleaned_up, stack_containers, wait_while_running

from stack.services import free_port

pytestmark = pytest.mark.e2e
ROWS = 3_000
STAGES = ("generate", "bulk_load", "produce", "stream_ingest", "transform", "load_hbase", "publish")
# What Spark's JVM, log4j, py4j, Great Expectations and kafka-python print when left alone.
ENGINE_LINE = re.compile(
    r"\b(WARN|WARNING|INFO|DEBUG|ERROR)\b|log4j|SLF4J|NativeCodeLoader|setLogLevel|py4j|"
    r"great_expectations|kafka\.|Traceback"
)


def health_of(port: int) -> dict[str, object]:
    """/health once the server listens (it starts just after the line that names it)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as answer:
                return dict(json.load(answer))
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError:  # not listening yet
            assert time.monotonic() < deadline, "the dashboard did not listen within 60 s"
            time.sleep(0.5)


def test_the_demo_console_holds_only_our_lines(tmp_path: Path) -> None:
    client = docker.from_env()
    before = stack_containers(client)
    port = free_port()
    console = tmp_path / "console.txt"
    command = [str(Path(sys.executable).with_name("pipeline")), "demo", "--rows", str(ROWS),
               "--port", str(port), "--output", str(tmp_path / "demo")]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    with console.open("wb") as out:  # stdout and stderr together, as a terminal shows them
        process = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)  # fmt: skip
        with cleaned_up(process, client, before):

            def listening() -> bool:
                return "dashboard on http" in console.read_text(errors="replace")

            wait_while_running(process, listening, console, 600, "dashboard")
            health = health_of(port)
            process.send_signal(signal.SIGINT)
            assert process.wait(120) == 0
    client.close()
    assert health["status"] == "ok" and health["rows"] > 0

    text = console.read_text(errors="replace")
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    engine = [line for line in lines if ENGINE_LINE.search(line)]
    assert not engine, "engine log lines reached the console:\n" + "\n".join(engine[:20])
    for stage in STAGES:
        assert re.search(rf"^  {stage}\s+in\s+[\d,]+\s+out", text, re.M), f"no line for {stage}"
    assert "reconciliation checks agree" in text and f"http://127.0.0.1:{port}" in text
    assert re.search(r"load_hbase:\s+\d+%", text), "the load shows its progress"

    logs = next((tmp_path / "demo" / "runs").glob("*/logs"))
    assert "log4j" in (logs / "spark.log").read_text(), "Spark's own lines went to its log"
    assert (logs / "python.log").read_text(), "and the Python engines' lines to theirs"
