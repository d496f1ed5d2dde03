"""Kafka topic customer_orders -> HDFS raw/stream: Structured Streaming, checkpoint on HDFS."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from pipeline.adapters.raw_store import read_stream_part
from pipeline.settings import Settings


def start_stream(
    spark: SparkSession, settings: Settings, available_now: bool = True
) -> StreamingQuery:
    """Lines land as they came (valid JSON or not) with their Kafka coordinates.

    The checkpoint makes the file sink exactly-once: a second run over the same topic adds
    only offsets it has not seen.
    """
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
        .load()
        .select(
            F.col("value").cast("string").alias("value"),
            "topic",
            "partition",
            "offset",
            "timestamp",
        )
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


def run_stream_ingest(spark: SparkSession, settings: Settings) -> int:
    """Drain what the topic holds now; returns the rows raw/stream holds afterwards."""
    start_stream(spark, settings, available_now=True).awaitTermination()
    return read_stream_part(spark, settings).count()
