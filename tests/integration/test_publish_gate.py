"""A clean layer that fails its gate is never published to HBase."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.adapters import hbase_table
from pipeline.clean import clean_lines
from pipeline.gates import GateFailed
from pipeline.generate import generate_orders
from pipeline.manifest import Manifest
from pipeline.run import Run, load
from pipeline.schema import CLEAN_DDL
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_a_broken_clean_batch_stops_before_hbase(spark, hbase_service, tmp_path: Path) -> None:
    settings = Settings(
        data_root=tmp_path.as_uri(),
        output_dir=tmp_path,
        thrift_host=hbase_service.thrift_host,
        thrift_port=hbase_service.thrift_port,
        hbase_table="gate_stops_this",
    )
    clean = clean_lines(pd.Series(generate_orders(500, seed=4, error_rate=0.0).lines)).clean
    clean.loc[3, "Age"] = 300  # impossible: the clean suite's Age range
    clean.loc[7, "Country"] = "Atlantis"
    run = Run(settings, Manifest(rows=500, seed=4, error_rate=0.0))
    spark.createDataFrame(clean, CLEAN_DDL).write.parquet(run.settings.clean)

    with pytest.raises(GateFailed) as failure:
        load(spark, run)

    message = str(failure.value)
    assert "Age" in message and "Country" in message and "Atlantis" in message
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        assert b"gate_stops_this" not in connection.tables(), "nothing may be published"
    finally:
        connection.close()
    assert (tmp_path / "data-docs" / "index.html").is_file(), "the failure is in the Data Docs"
