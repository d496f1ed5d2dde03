"""The producer ceiling the bench compares against: Kafka's own perf test, on the real broker."""

from __future__ import annotations

import pytest

from pipeline.adapters import kafka_topic
from stack.kafka_perf import producer_ceiling

pytestmark = pytest.mark.integration


def test_kafkas_perf_test_runs_beside_the_broker_and_lands_its_records(kafka_service) -> None:
    bootstrap, topic = kafka_service.kafka_bootstrap, "perf_ceiling"
    kafka_topic.ensure_topic(bootstrap, topic, 2)
    rate = producer_ceiling(
        kafka_service.containers["kafka"], bootstrap, topic, 20_000, 380,
        kafka_topic.PRODUCER_SETTINGS,
    )  # fmt: skip
    assert rate > 0
    assert sum(kafka_topic.end_offsets(bootstrap, topic).values()) == 20_000
