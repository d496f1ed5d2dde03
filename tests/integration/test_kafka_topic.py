"""kafka-python adapter against a real Kafka 4 broker (KRaft)."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer

from pipeline.adapters import kafka_topic

pytestmark = pytest.mark.integration


def test_produced_lines_come_back_from_the_topic_unchanged(kafka_service) -> None:
    bootstrap = kafka_service.kafka_bootstrap
    lines = [f'{{"row_key": "k{i}", "Name": "Zoë {i}"}}' for i in range(1_000)] + ["{not json"]
    kafka_topic.ensure_topic(bootstrap, "round_trip", partitions=2)

    produced = kafka_topic.produce_lines(bootstrap, "round_trip", lines)

    assert produced.messages == len(lines)
    assert sum(kafka_topic.end_offsets(bootstrap, "round_trip").values()) == len(lines)
    consumer = KafkaConsumer(
        "round_trip",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
    )
    received = sorted(message.value.decode() for message in consumer)
    consumer.close()
    assert received == sorted(lines)


def test_ensure_topic_is_idempotent(kafka_service) -> None:
    bootstrap = kafka_service.kafka_bootstrap
    kafka_topic.ensure_topic(bootstrap, "twice", partitions=3)
    kafka_topic.ensure_topic(bootstrap, "twice", partitions=3)
    assert set(kafka_topic.end_offsets(bootstrap, "twice")) == {0, 1, 2}


def test_a_file_is_produced_exactly_and_what_kafka_cannot_take_is_rejected(
    kafka_service, tmp_path
) -> None:
    bootstrap = kafka_service.kafka_bootstrap
    lines = [f'{{"row_key": "f{i}"}}'.encode() for i in range(25_000)]
    lines[100] = b"\xff\xfe bytes that are not UTF-8"
    lines[200] = b"x" * 3_000_000
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    kafka_topic.ensure_topic(bootstrap, "from_file", partitions=2)

    produced = kafka_topic.produce_file(bootstrap, "from_file", path, 50, len(lines))

    assert produced.rejected == (kafka_topic.Rejected(200, "message_too_large", 3_000_000),)
    assert produced.messages == len(lines) - 50 - 1
    assert sum(kafka_topic.end_offsets(bootstrap, "from_file").values()) == produced.messages
    consumer = KafkaConsumer(
        "from_file", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
    )  # fmt: skip
    received = sorted(message.value for message in consumer)
    consumer.close()
    assert received == sorted(line for i, line in enumerate(lines) if i >= 50 and i != 200)
