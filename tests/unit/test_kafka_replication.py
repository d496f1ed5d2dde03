"""How many copies a topic gets on a cluster of a given size."""

from __future__ import annotations

import pytest

from pipeline.adapters.kafka_topic import replication

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("brokers", "replicas", "min_insync"), [(1, 1, 1), (2, 2, 1), (3, 3, 2), (5, 3, 2)]
)
def test_a_topic_survives_one_broker_where_there_are_three(
    brokers: int, replicas: int, min_insync: int
) -> None:
    assert replication(brokers) == {"replicas": replicas, "min_insync": min_insync}
