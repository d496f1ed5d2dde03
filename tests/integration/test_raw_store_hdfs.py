"""Raw landing zone on a real HDFS (NameNode + DataNode), written and read by local Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.adapters.raw_store import read_raw, upload_bulk
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def test_bulk_lines_land_on_hdfs_exactly(hdfs_service, spark, tmp_path: Path) -> None:
    settings = Settings(data_root=f"{hdfs_service.hdfs_url}/bulk_test")
    lines = [f'{{"row_key": "r{i}", "Country": "España"}}' for i in range(2_000)] + ["[1, 2"]
    local = tmp_path / "bulk.jsonl"
    local.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")

    assert upload_bulk(spark, local, settings) == len(lines)
    assert upload_bulk(spark, local, settings) == len(lines), "a re-upload replaces, not appends"
    assert settings.raw_bulk.startswith("hdfs://127.0.0.1:")
    assert sorted(r["value"] for r in read_raw(spark, settings).collect()) == sorted(lines)
