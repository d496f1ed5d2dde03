"""Raw landing zone on HDFS (or local files): bulk JSON lines as text, streamed rows as Parquet."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipeline.settings import Settings


def upload_bulk(spark: SparkSession, local_file: Path, settings: Settings) -> int:
    """Copy a local JSON-lines file into raw/bulk as it is, one line per row; returns rows."""
    lines = spark.read.text(local_file.resolve().as_uri())
    lines.write.mode("overwrite").text(settings.raw_bulk)
    return spark.read.text(settings.raw_bulk).count()


def _exists(spark: SparkSession, path: str) -> bool:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hadoop_path))


def read_stream_part(spark: SparkSession, settings: Settings) -> DataFrame:
    if not _exists(spark, settings.raw_stream):
        return spark.createDataFrame([], "value STRING")
    return spark.read.parquet(settings.raw_stream).select("value")


def read_raw(spark: SparkSession, settings: Settings) -> DataFrame:
    """Every raw line, bulk and streamed, as one `value` column."""
    parts = [read_stream_part(spark, settings)]
    if _exists(spark, settings.raw_bulk):
        parts.append(spark.read.text(settings.raw_bulk))
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    return frame.select(F.col("value").cast("string"))
