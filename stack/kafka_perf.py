"""Kafka's own producer benchmark (the class behind kafka-producer-perf-test), run beside the
broker in its container: the ceiling our kafka-python producer is measured against."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.adapters.container import run_in

PERF_CLASS = "org.apache.kafka.tools.ProducerPerformance"
RESULT = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


def java_props(settings: Mapping[str, object]) -> list[str]:
    """kafka-python's producer settings as the Java client names them (linger_ms -> linger.ms)."""
    return [
        f"{name.replace('_', '.')}={str(value).lower() if isinstance(value, bool) else value}"
        for name, value in settings.items()
    ]


def records_per_second(output: str) -> float:
    """The final summary line of ProducerPerformance; a clear error when it is missing."""
    found = RESULT.findall(output)
    if not found:
        raise RuntimeError(f"kafka producer perf test gave no result:\n{output[-2000:]}")
    return float(found[-1][1])


def producer_ceiling(
    container: str,
    bootstrap: str,
    topic: str,
    records: int,
    record_size: int,
    settings: Mapping[str, object],
) -> float:
    """Records/s of Kafka's Java producer sending `records` of `record_size` bytes to `topic`
    with the same producer settings, from the broker's own container (host network, loopback)."""
    command = [
        "java", "-Xmx256m", "-cp", "/opt/service/lib/*",
        "-Dlog4j2.configurationFile=/conf/log4j2.properties", PERF_CLASS,
        "--topic", topic, "--num-records", str(records), "--record-size", str(record_size),
        "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={bootstrap}", *java_props(settings),
    ]  # fmt: skip
    code, output = run_in(container, command)
    if code != 0:
        raise RuntimeError(f"kafka producer perf test exited {code}:\n{output[-2000:]}")
    return records_per_second(output)
