"""A `pipeline` command run as its own process group, as from a terminal, by the e2e tests: the
wait for what it prints, and the cleanup of what it started, even when the test fails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker


def stack_containers(client: docker.DockerClient) -> set[str]:
    return {c.name for c in client.containers.list() if c.name.startswith("ecommerce-")}


def wait_while_running(
    process: subprocess.Popen, done: Callable[[], bool], log: Path, seconds: float, what: str
) -> None:
    """Until `done()`; fails with the end of `log` if the process exits first, or after
    `seconds` without `what`."""
    deadline = time.monotonic() + seconds
    while not done():
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {what} after {seconds:.0f} s"
        time.sleep(1)


def kill_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGKILL the process and everything it started (the Spark driver JVM)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout)


@contextlib.contextmanager
def cleaned_up(
    process: subprocess.Popen, client: docker.DockerClient, before: set[str]
) -> Iterator[None]:
    """On the way out: the process group killed if it still runs, and the stack containers
    that were not there `before` removed."""
    try:
        yield
    finally:
        kill_group(process)
        for name in stack_containers(client) - before:
            client.containers.get(name).remove(force=True)
