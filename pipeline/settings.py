"""One Settings object for endpoints and paths, read once from the environment or the CLI."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DERIVE = "derive"  # catalogue_path: derive the catalogue from the run's own orders
LOAD_PATHS = ("auto", "bulk", "thrift")  # see pipeline.jobs.load_hbase


# Settings fields and the PIPELINE_* variables that set them.
TEXT_VARS = {
    "data_root": "PIPELINE_DATA_ROOT",
    "kafka_bootstrap": "PIPELINE_KAFKA_BOOTSTRAP",
    "topic": "PIPELINE_TOPIC",
    "thrift_host": "PIPELINE_THRIFT_HOST",
    "hbase_table": "PIPELINE_HBASE_TABLE",
    "spark_master": "PIPELINE_SPARK_MASTER",
    "spark_driver_memory": "PIPELINE_SPARK_DRIVER_MEMORY",
    "run_id": "PIPELINE_RUN_ID",
    "catalogue_path": "PIPELINE_CATALOGUE",
    "load_path": "PIPELINE_LOAD_PATH",
    "hbase_container": "PIPELINE_HBASE_CONTAINER",
}
NUMBER_VARS = {
    "thrift_port": "PIPELINE_THRIFT_PORT",
    "topic_partitions": "PIPELINE_TOPIC_PARTITIONS",
    "shuffle_partitions": "PIPELINE_SHUFFLE_PARTITIONS",
    "stream_max_offsets": "PIPELINE_STREAM_MAX_OFFSETS",
    "bulk_load_min_rows": "PIPELINE_BULK_LOAD_MIN_ROWS",
}


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
    # Kafka messages per streaming micro-batch: smaller batches commit progress more often.
    stream_max_offsets: int = 500_000

    # A run's datasets live under runs/<run_id>/ (see pipeline.manifest); without a run id the
    # flat layout below data_root serves local one-off commands (`pipeline clean`) and tests.
    run_id: str = ""
    # The product catalogue the cleaner resolves products against: a local CSV or Parquet file
    # (pipeline.catalogue.Catalogue.read); "" is the built-in one (schema.CATALOGUE).
    catalogue_path: str = ""  # or DERIVE: from the run's own orders (derived_catalogue)
    # Spark's Kafka connector jars, resolved once by `pipeline stack prepare` / `stack up`.
    spark_jars: tuple[str, ...] = ()
    # How the load reaches HBase (LOAD_PATHS): "auto" bulk-loads from bulk_load_min_rows rows on
    # when the container holding HBase's jars and configuration is named.
    load_path: str = "auto"
    bulk_load_min_rows: int = 100_000
    hbase_container: str = ""

    def for_run(self, run_id: str) -> Settings:
        return replace(self, run_id=run_id)

    @property
    def run_root(self) -> str:
        return f"{self.data_root}/runs/{self.run_id}" if self.run_id else self.data_root

    @property
    def runs_root(self) -> str:
        return f"{self.data_root}/runs"

    @property
    def raw_bulk(self) -> str:
        return f"{self.run_root}/raw/bulk"

    @property
    def raw_stream(self) -> str:
        return f"{self.run_root}/raw/stream"

    @property
    def raw_rejected(self) -> str:
        """Lines the producer could not send (too large for Kafka), kept for the quarantine."""
        return f"{self.run_root}/raw/rejected"

    @property
    def stream_checkpoint(self) -> str:
        return f"{self.run_root}/checkpoints/raw_stream"

    @property
    def transform_output(self) -> str:
        """clean/ and quarantine/ of a run, committed together by one rename."""
        return f"{self.run_root}/transform"

    @property
    def transform_staging(self) -> str:
        return f"{self.run_root}/_staging/transform"

    @property
    def clean(self) -> str:
        return f"{self.transform_output}/clean" if self.run_id else f"{self.data_root}/clean"

    @property
    def quarantine(self) -> str:
        if self.run_id:
            return f"{self.transform_output}/quarantine"
        return f"{self.data_root}/quarantine"

    @property
    def bulk_staging(self) -> str:
        """The bulk load's scratch space: cell lines, then HFiles (moved into HBase)."""
        return f"{self.run_root}/_staging/hbase"

    @property
    def bulk_lines(self) -> str:
        return f"{self.bulk_staging}/lines"

    @property
    def bulk_hfiles(self) -> str:
        return f"{self.bulk_staging}/hfiles"

    @property
    def publish_staging(self) -> str:
        """The aggregates' bulk load: cell lines, then HFiles."""
        return f"{self.run_root}/_staging/publish"

    @property
    def aggregates(self) -> str:
        return f"{self.run_root}/aggregates"

    @property
    def segments(self) -> str:
        return f"{self.run_root}/segments"

    @property
    def derived_catalogue(self) -> Path:
        """Where a run that derives its catalogue writes it (and its report beside it)."""
        return self.run_dir / "catalogue.derived.csv"

    @property
    def run_dir(self) -> Path:
        """Local folder of a run: manifest, generated input, logs."""
        return self.output_dir / "runs" / self.run_id if self.run_id else self.output_dir

    @property
    def log_dir(self) -> Path:
        """The engines' logs (Spark's JVM, Python logging) of a run, or of a one-off command."""
        return self.run_dir / "logs"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: object) -> Settings:
        """PIPELINE_* variables; PIPELINE_HDFS_URL puts the data under that file system."""
        values: dict[str, object] = {}
        if url := env.get("PIPELINE_HDFS_URL"):
            values["data_root"] = f"{url.rstrip('/')}/ecommerce"
        for field, var in TEXT_VARS.items():
            if var in env:
                values[field] = env[var]
        for field, var in NUMBER_VARS.items():
            if var in env:
                try:
                    values[field] = int(env[var])
                except ValueError:
                    raise ValueError(f"{var} must be an integer, got {env[var]!r}") from None
        if jars := env.get("PIPELINE_SPARK_JARS"):
            values["spark_jars"] = tuple(jars.split(","))
        if "PIPELINE_OUTPUT_DIR" in env:
            values["output_dir"] = Path(env["PIPELINE_OUTPUT_DIR"])
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def as_env(self) -> dict[str, str]:
        """The PIPELINE_* variables from_env reads back as these settings: for a child process
        (a killed run in the faults tier, a task of the Airflow DAG)."""
        env = {
            var: str(getattr(self, field))
            for field, var in {**TEXT_VARS, **NUMBER_VARS}.items()
            if getattr(self, field) is not None
        }
        env["PIPELINE_SPARK_JARS"] = ",".join(self.spark_jars)
        env["PIPELINE_OUTPUT_DIR"] = str(self.output_dir)
        return env
