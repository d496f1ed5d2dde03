"""Kafka through kafka-python: create the topic, produce raw lines, read end offsets."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True)
class Produced:
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def produce_lines(bootstrap: str, topic: str, lines: Iterable[str]) -> Produced:
    """One message per raw line, keyless; fails loudly if any send failed."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
        max_request_size=2 * 1024 * 1024,
    )
    started = time.monotonic()
    futures = [producer.send(topic, value=line.encode("utf-8")) for line in lines]
    producer.flush()
    producer.close()
    failed = [f.exception for f in futures if f.failed()]
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {len(futures)} sends to {topic} failed: {failed[0]!r}"
        )
    return Produced(len(futures), time.monotonic() - started)


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
