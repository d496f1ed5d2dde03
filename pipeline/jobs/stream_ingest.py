"""Kafka topic customer_orders -> HDFS raw/stream: Structured Streaming, checkpoint on HDFS.

A run lands exactly the Kafka offsets it produced, [start, end) per partition (recorded in its
manifest), into its own raw/stream with its own checkpoint: a re-run or a restart after a crash
neither adds another run's messages nor lands one twice (the file sink's log is exactly-once).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from pipeline.adapters.raw_store import read_stream_part
from pipeline.settings import Settings


def _offsets_json(topic: str, offsets: Mapping[int, int]) -> str:
    return json.dumps({topic: {str(p): int(o) for p, o in offsets.items()}})


def _before(end: Mapping[int, int]) -> Column:
    """True for messages below the run's end offset of their partition."""
    condition = F.lit(False)
    for partition, offset in end.items():
        condition = condition | ((F.col("partition") == partition) & (F.col("offset") < offset))
    return condition


def start_stream(
    spark: SparkSession,
    settings: Settings,
    available_now: bool = True,
    start: Mapping[int, int] | None = None,
    end: Mapping[int, int] | None = None,
) -> StreamingQuery:
    """Messages land as they came, with their Kafka coordinates; a null value or bytes that are
    not UTF-8 land as poison (reason, original bytes in base64) instead of failing a reader."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic)
        .option("startingOffsets", _offsets_json(settings.topic, start) if start else "earliest")
        .option("failOnDataLoss", "true")
        .option("maxOffsetsPerTrigger", str(settings.stream_max_offsets))
        .load()
    )
    if end is not None:
        reader = reader.filter(_before(end))
    text = F.col("value").cast("string")
    valid = F.is_valid_utf8(text)
    source = reader.select(
        F.when(valid, text).alias("value"),
        F.when(F.col("value").isNull(), F.lit("null_value"))
        .when(~valid, F.lit("invalid_utf8"))
        .alias("poison"),
        F.when(~valid, F.base64("value")).alias("raw_base64"),
        "topic",
        "partition",
        "offset",
        "timestamp",
    )
    writer = (
        source.writeStream.format("parquet")
        .option("path", settings.raw_stream)
        .option("checkpointLocation", settings.stream_checkpoint)
        .outputMode("append")
    )
    writer = (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime="5 seconds")
    )
    return writer.start()


def run_stream_ingest(
    spark: SparkSession,
    settings: Settings,
    start: Mapping[int, int] | None = None,
    end: Mapping[int, int] | None = None,
) -> int:
    """Drain [start, end) of the topic (all of it without bounds); returns the rows raw/stream
    holds afterwards."""
    start_stream(spark, settings, available_now=True, start=start, end=end).awaitTermination()
    return read_stream_part(spark, settings).count()


def offsets_streamed(
    spark: SparkSession, start: Mapping[int, int], end: Mapping[int, int]
) -> Callable[[], int]:
    """Messages of [start, end) the running ingest has passed, from its last progress report."""

    def done() -> int:
        passed = 0
        for query in spark.streams.active:
            progress = query.lastProgress
            for source in json.loads(progress.json)["sources"] if progress else ():
                for partitions in (source.get("endOffset") or {}).values():
                    passed += sum(
                        min(int(offset), end.get(int(p), 0)) - start.get(int(p), 0)
                        for p, offset in partitions.items()
                    )
        return passed

    return done
