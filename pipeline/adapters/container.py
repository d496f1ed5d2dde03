"""A command run in one of the stack's containers (Docker SDK, never a shell): where a service's
own tools are, with its jars and configuration (HBase's bulk load, Kafka's perf test)."""

from __future__ import annotations

import docker


def run_in(container: str, command: list[str]) -> tuple[int, str]:
    """Exit code and combined output of `command` in the running `container`."""
    client = docker.from_env()
    try:
        result = client.containers.get(container).exec_run(command)
    finally:
        client.close()
    return result.exit_code, result.output.decode("utf-8", errors="replace")
