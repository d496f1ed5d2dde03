"""The few Hadoop FileSystem calls the run model needs (through Spark's JVM): HDFS and file://.

A rename is atomic on HDFS: it is how a run commits what it wrote and how pointers move.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

# How an HDFS client waits for the NameNode to accept a closed file. The NameNode completes a file
# only once the DataNode has reported its last block, which comes a moment after the close: the
# client asks again after 400 ms by default, and each small file closed just before that report
# waited the whole 400 ms (2M rows: the clean write's two tasks of 7k rows and some 20 month
# files each took 4 s; with 25 ms, 1 s). Ten tries, doubling from 25 ms, wait up to 25.6 s in
# all, more than Hadoop's five from 400 ms (12.4 s).
CLIENT_CONF: dict[str, str] = {
    "dfs.client.block.write.locateFollowingBlock.initial.delay.ms": "25",
    "dfs.client.block.write.locateFollowingBlock.retries": "10",
}


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def exists(spark: SparkSession, path: str) -> bool:
    fs, hadoop_path = _fs(spark, path)
    return bool(fs.exists(hadoop_path))


def delete(spark: SparkSession, path: str) -> None:
    fs, hadoop_path = _fs(spark, path)
    fs.delete(hadoop_path, True)


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Move `source` to `target` (which must not exist); its parent is created if missing."""
    fs, src = _fs(spark, source)
    _, dst = _fs(spark, target)
    fs.mkdirs(dst.getParent())
    if not fs.rename(src, dst):
        raise OSError(f"rename {source} -> {target} failed (does the target exist?)")


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small file whole: written beside, then renamed over the old one."""
    fs, target = _fs(spark, path)
    _, temporary = _fs(spark, f"{path}._writing")
    stream = fs.create(temporary, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
    fs.delete(target, False)
    if not fs.rename(temporary, target):
        raise OSError(f"could not move {temporary} to {path}")


def read_text(spark: SparkSession, path: str) -> str | None:
    if not exists(spark, path):
        return None
    return "\n".join(row.value for row in spark.read.text(path).collect())
