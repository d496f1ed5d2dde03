"""One Settings object for endpoints and paths, read once from the environment or the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # Where raw/, clean/, quarantine/, checkpoints live: an hdfs:// URL, or file:// for quick runs.
    data_root: str = Path("output/data").resolve().as_uri()
    output_dir: Path = Path("output")  # local: run manifest, generated files, logs
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic: str = "customer_orders"
    topic_partitions: int = 2
    thrift_host: str = "127.0.0.1"
    thrift_port: int = 9090
    hbase_table: str = "customer_orders"
    spark_master: str = "local[2]"
    spark_driver_memory: str = "4g"
    shuffle_partitions: int = 8

    @property
    def raw_bulk(self) -> str:
        return f"{self.data_root}/raw/bulk"

    @property
    def raw_stream(self) -> str:
        return f"{self.data_root}/raw/stream"

    @property
    def stream_checkpoint(self) -> str:
        return f"{self.data_root}/checkpoints/raw_stream"

    @property
    def clean(self) -> str:
        return f"{self.data_root}/clean"

    @property
    def quarantine(self) -> str:
        return f"{self.data_root}/quarantine"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """PIPELINE_* variables; PIPELINE_HDFS_URL puts the data under that file system."""
        values: dict[str, object] = {}
        if url := env.get("PIPELINE_HDFS_URL"):
            values["data_root"] = f"{url.rstrip('/')}/ecommerce"
        text = {
            "data_root": "PIPELINE_DATA_ROOT",
            "kafka_bootstrap": "PIPELINE_KAFKA_BOOTSTRAP",
            "topic": "PIPELINE_TOPIC",
            "thrift_host": "PIPELINE_THRIFT_HOST",
            "hbase_table": "PIPELINE_HBASE_TABLE",
            "spark_master": "PIPELINE_SPARK_MASTER",
            "spark_driver_memory": "PIPELINE_SPARK_DRIVER_MEMORY",
        }
        numbers = {
            "thrift_port": "PIPELINE_THRIFT_PORT",
            "topic_partitions": "PIPELINE_TOPIC_PARTITIONS",
            "shuffle_partitions": "PIPELINE_SHUFFLE_PARTITIONS",
        }
        for field, var in text.items():
            if var in env:
                values[field] = env[var]
        for field, var in numbers.items():
            if var in env:
                try:
                    values[field] = int(env[var])
                except ValueError:
                    raise ValueError(f"{var} must be an integer, got {env[var]!r}") from None
        if "PIPELINE_OUTPUT_DIR" in env:
            values["output_dir"] = Path(env["PIPELINE_OUTPUT_DIR"])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
