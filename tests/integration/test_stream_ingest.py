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
