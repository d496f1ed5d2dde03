"""What a task of the DAG does: run one `pipeline` command in the project's interpreter, with its
output in the task's log. An argument list, never a shell string: the run id and the parameters
cannot become shell syntax."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from pipeline.steps import GATE_OF


class CommandFailed(RuntimeError):
    pass


def pipeline_command(*args: str) -> str:
    """`python -m pipeline.cli ARGS`; returns its stdout (also printed, for the task's log) and
    raises on a non-zero exit: the task fails, and retries where its step may."""
    command = [sys.executable, "-m", "pipeline.cli", *args]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    if process.returncode:
        raise CommandFailed(f"`pipeline {' '.join(args)}` exited {process.returncode}")
    return "".join(lines)


def ingest(rows: int, seed: int, error_rate: float | None) -> str:
    """A new run up to Kafka and the bulk part on HDFS; returns its id (the command's last line)."""
    rate = [] if error_rate is None else ["--error-rate", str(error_rate)]
    output = pipeline_command("ingest", "--rows", str(rows), "--seed", str(seed), *rate)
    return output.strip().splitlines()[-1]


# The pipeline's run id is `run` here: Airflow keeps `run_id` for its own DAG run's id.
def step(name: str, run: str) -> str:
    """One step of pipeline.steps.ORDER for the run: a stage (its gate left to the next task) or
    a gate; returns the run id for the next task."""
    if name.startswith("gate_"):
        pipeline_command("gate", name.removeprefix("gate_"), "--run", run)
    else:
        pipeline_command(name, "--run", run, *(["--no-gate"] if name in GATE_OF else []))
    return run


def manifest(run: str) -> dict[str, Any]:
    """The run's manifest (the DAG's result); fails unless the run succeeded."""
    result: dict[str, Any] = json.loads(pipeline_command("manifest", "--run", run))
    return result
