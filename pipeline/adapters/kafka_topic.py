"""Kafka through kafka-python: create the topic, produce raw lines (no-loss settings), read end
offsets."""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import MessageSizeTooLargeError, TopicAlreadyExistsError

from pipeline import line_file

# No-loss settings, written out rather than left to library defaults (the manifest records them):
# every in-sync replica acknowledges, the broker drops a retried duplicate (idempotence), and a send
# is retried until the delivery timeout instead of a fixed count.
PRODUCER_SETTINGS: dict[str, object] = {
    "acks": "all",
    "enable_idempotence": True,
    "retries": 2**31 - 1,
    "delivery_timeout_ms": 120_000,
    "request_timeout_ms": 30_000,
    "retry_backoff_ms": 200,
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "max_request_size": 2 * 1024 * 1024,
}
# The broker takes messages up to message.max.bytes = 2 MiB; leave room for the record framing.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024 - 1024
TOO_LARGE = "message_too_large"


@dataclass(frozen=True)
class Rejected:
    line_number: int
    reason: str
    size: int


@dataclass(frozen=True)
class Produced:
    messages: int
    seconds: float
    rejected: tuple[Rejected, ...] = ()
    send_errors: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def replication(brokers: int) -> dict[str, object]:
    """Up to three copies of every partition, and a write acknowledged by all but one of them:
    with three brokers one may die and nothing acknowledged is lost, and writes go on."""
    replicas = max(1, min(3, brokers))
    return {"replicas": replicas, "min_insync": max(1, replicas - 1)}


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        copies = replication(len(admin.describe_cluster()["brokers"]))
        new = NewTopic(
            topic,
            num_partitions=partitions,
            replication_factor=copies["replicas"],
            topic_configs={"min.insync.replicas": str(copies["min_insync"])},
        )
        admin.create_topics([new])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def _send(
    bootstrap: str, topic: str, lines: Iterable[tuple[int, bytes]], max_bytes: int
) -> Produced:
    """Send every line as one keyless message, counting outcomes in callbacks (no list of
    futures: memory is bounded by the producer's buffer)."""
    started = time.monotonic()
    tally = {"ok": 0, "failed": 0}
    errors: list[str] = []
    rejected: list[Rejected] = []

    def failed(error: BaseException) -> None:
        tally["failed"] += 1
        if not errors:
            errors.append(repr(error))

    def sent(_: object) -> None:
        tally["ok"] += 1

    producer = KafkaProducer(bootstrap_servers=bootstrap, **PRODUCER_SETTINGS)
    try:
        # Keyless lines go round the partitions: the default partitioner would cost a fifth of
        # each send choosing one at random.
        partitions = itertools.cycle(sorted(producer.partitions_for(topic)))
        for number, line in lines:
            if len(line) > max_bytes:
                rejected.append(Rejected(number, TOO_LARGE, len(line)))
                continue
            partition = next(partitions)
            try:
                producer.send(topic, value=line, partition=partition).add_callback(
                    sent
                ).add_errback(failed)
            except MessageSizeTooLargeError:
                rejected.append(Rejected(number, TOO_LARGE, len(line)))
        # Bounded: a broker that never comes back must fail the run, not hang it.
        producer.flush(timeout=PRODUCER_SETTINGS["delivery_timeout_ms"] / 1000 + 60)
    finally:
        producer.close(timeout=10)
    return Produced(
        tally["ok"], time.monotonic() - started, tuple(rejected), tally["failed"],
        errors[0] if errors else "",
    )  # fmt: skip


def _send_share(
    bootstrap: str,
    topic: str,
    path: Path,
    span: tuple[int, int, int, int],
    max_bytes: int,
    results: Connection,
) -> None:
    """One producer process: every step-th line of the range, reported to the parent."""
    # The parent's objects (pyspark, pandas, Great Expectations: some 300k) come along with the
    # fork. Left to the collector, each full collection walks them all and copies the pages it
    # touches, for the millions of objects sending makes: frozen, a forked producer sends 1.5x as
    # many messages per CPU second (600k lines from a parent like `pipeline run`'s: 68k -> 100k
    # msg/s).
    gc.freeze()
    start, stop, step, offset = span
    try:
        lines = line_file.iter_lines(path, start, stop, step, offset)
        results.send(_send(bootstrap, topic, lines, max_bytes))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which raises
        results.send(repr(error))
    finally:
        results.close()


def produce_file(
    bootstrap: str,
    topic: str,
    path: Path,
    start: int,
    stop: int,
    processes: int | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> Produced:
    """Lines [start, stop) of a file, one message each; lines Kafka cannot take are returned as
    rejected, never sent. Raises when any send failed after the producer's retries.

    kafka-python spends ~50 µs of one core per message, so the lines are split over one forked
    producer process per core, each reading its share of the file itself."""
    processes = max(1, min(processes or os.cpu_count() or 1, (stop - start) // 10_000 + 1))
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    workers = []
    for offset in range(processes):
        receive, send = context.Pipe(duplex=False)
        span = (start, stop, processes, offset)
        worker = context.Process(
            target=_send_share,
            args=(bootstrap, topic, path, span, max_message_bytes, send),
            daemon=True,
        )
        worker.start()
        send.close()
        workers.append((worker, receive))
    parts: list[Produced] = []
    problems: list[str] = []
    for worker, receive in workers:
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = f"producer process {worker.pid} exited before it reported"
        worker.join()
        if isinstance(outcome, Produced):
            parts.append(outcome)
        else:
            problems.append(str(outcome))
    errors = sum(p.send_errors for p in parts)
    first = next((p.first_error for p in parts if p.first_error), "")
    if problems or errors:
        why = problems[0] if problems else first
        raise RuntimeError(
            f"producing lines [{start}, {stop}) of {path} to {topic} failed: {errors} sends "
            f"failed after retries, {len(problems)} producer processes failed; first: {why}"
        )
    rejected = tuple(sorted((r for p in parts for r in p.rejected), key=lambda r: r.line_number))
    return Produced(sum(p.messages for p in parts), time.monotonic() - started, rejected, 0, "")


def produce_lines(bootstrap: str, topic: str, lines: Sequence[str]) -> Produced:
    """A few text lines from one process (tests, small tools); same settings and checks."""
    produced = _send(
        bootstrap, topic, ((i, line.encode()) for i, line in enumerate(lines)), MAX_MESSAGE_BYTES
    )
    if produced.send_errors:
        why = produced.first_error
        raise RuntimeError(f"{produced.send_errors} sends to {topic} failed: {why}")
    return produced


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def produced_since(bootstrap: str, topic: str, before: Mapping[int, int]) -> Callable[[], int]:
    """Messages appended to the topic since its end offsets were `before` (for a progress
    display: it asks the broker each time)."""
    return lambda: sum(end_offsets(bootstrap, topic).values()) - sum(before.values())
