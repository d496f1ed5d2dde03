"""Kafka through kafka-python: create the topic, produce raw lines, read end offsets."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection

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


def _send_all(bootstrap: str, topic: str, lines: Sequence[str], results: Connection) -> None:
    """One producer process: send, flush, and report (sent, failed, first error)."""
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            batch_size=512 * 1024,
            max_request_size=2 * 1024 * 1024,
        )
        futures = [producer.send(topic, value=line.encode("utf-8")) for line in lines]
        producer.flush()
        producer.close()
        failed = [f.exception for f in futures if f.failed()]
        results.send((len(futures), len(failed), repr(failed[0]) if failed else ""))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which raises
        results.send((0, 0, repr(error)))
    finally:
        results.close()


def produce_lines(
    bootstrap: str, topic: str, lines: Sequence[str], processes: int | None = None
) -> Produced:
    """One message per raw line, keyless; fails loudly if any send failed.

    kafka-python spends ~50 µs of one core per message, so the lines are split over one
    producer process per core (forked: the lines are not copied through a pipe)."""
    processes = max(1, min(processes or os.cpu_count() or 1, len(lines) // 10_000 + 1))
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    workers = []
    for i in range(processes):
        receive, send = context.Pipe(duplex=False)
        worker = context.Process(
            target=_send_all, args=(bootstrap, topic, lines[i::processes], send), daemon=True
        )
        worker.start()
        send.close()
        workers.append((worker, receive))
    sent, errors = 0, []
    for worker, receive in workers:
        try:
            count, failed, error = receive.recv()
        except EOFError:
            count, failed, error = 0, 0, "a producer process exited before it reported"
        worker.join()
        sent += count - failed
        errors += [error] if error else []
    if sent != len(lines):
        why = errors[0] if errors else "no error reported"
        raise RuntimeError(f"{len(lines) - sent} of {len(lines)} sends to {topic} failed: {why}")
    return Produced(sent, time.monotonic() - started)


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()
