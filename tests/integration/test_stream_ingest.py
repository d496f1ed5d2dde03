"""Structured Streaming from a real Kafka topic into the raw landing zone (local files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.adapters import kafka_topic
from pipeline.adapters.raw_store import read_stream_part
from pipeline.jobs.stream_ingest import run_stream_ingest
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_stream_lands_every_message_once_even_when_run_twice(
    kafka_service, spark, tmp_path: Path
) -> None:
    settings = Settings(
        data_root=tmp_path.as_uri(),
        kafka_bootstrap=kafka_service.kafka_bootstrap,
        topic="stream_twice",
    )
    kafka_topic.ensure_topic(settings.kafka_bootstrap, settings.topic, 2)
    first = [f'{{"row_key": "a{i}"}}' for i in range(300)] + ['truncated {"row_key": ']
    kafka_topic.produce_lines(settings.kafka_bootstrap, settings.topic, first)

    assert run_stream_ingest(spark, settings) == len(first)
    assert run_stream_ingest(spark, settings) == len(first), "checkpoint must prevent re-reading"

    more = [f'{{"row_key": "b{i}"}}' for i in range(50)]
    kafka_topic.produce_lines(settings.kafka_bootstrap, settings.topic, more)
    assert run_stream_ingest(spark, settings) == len(first) + len(more)

    landed = read_stream_part(spark, settings)
    values = sorted(r["value"] for r in landed.collect())
    assert values == sorted(first + more), "malformed lines land as they came"


def test_a_run_lands_only_its_offset_range_and_poison_is_quarantined(
    kafka_service, spark, tmp_path: Path
) -> None:
    from kafka import KafkaProducer

    from pipeline.jobs.transform import run_transform

    settings = Settings(
        data_root=tmp_path.as_uri(),
        output_dir=tmp_path,
        kafka_bootstrap=kafka_service.kafka_bootstrap,
        topic="stream_range",
        shuffle_partitions=2,
    )
    bootstrap = settings.kafka_bootstrap
    kafka_topic.ensure_topic(bootstrap, settings.topic, 2)
    kafka_topic.produce_lines(bootstrap, settings.topic, ['{"row_key": "earlier"}'] * 20)
    start = kafka_topic.end_offsets(bootstrap, settings.topic)
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(settings.topic, key=b"tombstone", value=None)
    producer.send(settings.topic, value=b"\xff\xfe not utf-8")
    producer.send(settings.topic, value=b"not json at all")
    producer.flush()
    end = kafka_topic.end_offsets(bootstrap, settings.topic)
    producer.send(settings.topic, value=b'{"row_key": "later"}')
    producer.close()

    assert run_stream_ingest(spark, settings, start=start, end=end) == 3
    landed = {(r["poison"], r["raw_base64"]) for r in read_stream_part(spark, settings).collect()}
    assert landed == {("null_value", None), ("invalid_utf8", "//4gbm90IHV0Zi04"), (None, None)}

    counts = run_transform(spark, settings)
    assert counts.raw == 3 and counts.clean == 0
    assert counts.quarantined_by_reason["null_value"] == 1
    assert counts.quarantined_by_reason["invalid_utf8"] == 1
    quarantine = {r["reason"]: r["raw"] for r in spark.read.parquet(settings.quarantine).collect()}
    assert quarantine["invalid_utf8"] == "base64://4gbm90IHV0Zi04"
    assert quarantine["null_value"] == ""
