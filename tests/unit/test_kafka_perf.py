"""Kafka's producer perf test: our settings in the Java client's names, its summary line read."""

from __future__ import annotations

import pytest

from pipeline.adapters.kafka_topic import PRODUCER_SETTINGS
from stack.kafka_perf import java_props, records_per_second

pytestmark = pytest.mark.unit


def test_our_producer_settings_in_the_java_clients_names() -> None:
    props = dict(p.split("=", 1) for p in java_props(PRODUCER_SETTINGS))
    assert props["acks"] == "all" and props["enable.idempotence"] == "true"
    assert props["linger.ms"] == str(PRODUCER_SETTINGS["linger_ms"])
    assert props["max.in.flight.requests.per.connection"] == "5"
    assert len(props) == len(PRODUCER_SETTINGS)


def test_the_final_summary_line_is_the_result() -> None:
    output = (
        "100000 records sent, 50000.0 records/sec (19.07 MB/sec), 5.0 ms avg latency\n"
        "200000 records sent, 77339.5 records/sec (28.03 MB/sec), 25.07 ms avg latency, "
        "736.00 ms max latency, 22 ms 50th, 50 ms 95th, 57 ms 99th, 93 ms 99.9th.\n"
    )
    assert records_per_second(output) == 77339.5


def test_no_summary_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="no result"):
        records_per_second("Exception in thread main: TimeoutException")
