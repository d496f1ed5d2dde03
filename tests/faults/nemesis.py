"""What breaks a run: container restarts through the Docker SDK, SIGKILL of a process group,
and bounded waits for the moment to strike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import docker


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(every)


def restart_container(name: str, timeout: int = 10) -> None:
    """`docker restart` (SIGTERM, then SIGKILL after `timeout` s) of one stack container."""
    client = docker.from_env()
    try:
        client.containers.get(name).restart(timeout=timeout)
    finally:
        client.close()


def kill_container(name: str) -> None:
    """SIGKILL one stack container through the Docker SDK; it stays down."""
    client = docker.from_env()
    try:
        client.containers.get(name).kill()
    finally:
        client.close()


def manifest_of(output_dir: Path) -> dict[str, Any]:
    path = output_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def has_stage(output_dir: Path, name: str) -> bool:
    return any(s.get("name") == name for s in manifest_of(output_dir).get("stages", []))


def produce_done(output_dir: Path) -> bool:
    return any(
        s.get("name") == "produce" and "offsets_after" in s.get("detail", {})
        for s in manifest_of(output_dir).get("stages", [])
    )


class InThread:
    """Run `work` in a thread; `result()` re-raises its error; every join is bounded."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.value = work()
            except BaseException as error:  # noqa: BLE001 - handed to the test
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout: float) -> Any:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError(f"the run did not finish within {timeout:.0f}s")
        if self.error is not None:
            raise self.error
        return self.value


def pipeline_process(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """`pipeline ARGS` in its own process group (its Spark JVM included), output to `log`."""
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args],
        env={**os.environ, **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
