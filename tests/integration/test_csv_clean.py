"""`pipeline clean` on local Spark: a CSV of orders cleans to the rows its JSON lines clean to."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from csv_orders import csv_shaped, write_csv
from pandas.testing import assert_frame_equal

from pipeline.cli import main
from pipeline.generate import generate_orders
from pipeline.schema import FIELDS

pytestmark = pytest.mark.integration


def cleaned(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    clean = pd.read_parquet(folder / "clean")
    clean = clean[[c for c in clean.columns if c != "order_month"]]
    clean = clean.sort_values("row_key").reset_index(drop=True)
    quarantine = pd.read_parquet(folder / "quarantine")[["row_key", "reason"]]
    quarantine = quarantine.sort_values(["row_key", "reason"]).reset_index(drop=True)
    return clean, quarantine


def test_pipeline_clean_reads_a_csv_like_the_json_lines_of_the_same_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = csv_shaped(generate_orders(3_000, seed=17, error_rate=0.3).lines)
    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    source = write_csv(
        lines, tmp_path / "orders.csv", sorted(FIELDS), delimiter=";", encoding="utf-8-sig"
    )

    assert main(["clean", "--input", str(jsonl), "--output", str(tmp_path / "from_json")]) == 0
    from_json = capsys.readouterr().out
    assert main(["clean", "--input", str(source), "--output", str(tmp_path / "from_csv")]) == 0
    from_csv = capsys.readouterr().out

    assert from_csv.split("->")[0] == from_json.split("->")[0]  # raw, clean, quarantined, dups
    assert f"raw {len(lines):,}" in from_csv
    clean_csv, quarantine_csv = cleaned(tmp_path / "from_csv")
    clean_json, quarantine_json = cleaned(tmp_path / "from_json")
    assert len(clean_csv) > 0 and len(quarantine_csv) > 0
    assert_frame_equal(clean_csv, clean_json)
    assert_frame_equal(quarantine_csv, quarantine_json)
    assert not (tmp_path / "from_csv" / "input.jsonl").exists()  # converted once, then dropped


def test_pipeline_clean_refuses_a_csv_without_any_field_before_spark(tmp_path: Path) -> None:
    source = tmp_path / "orders.txt"
    source.write_text("id,who\na,Ada\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks every expected field"):
        main(["clean", "--input", str(source), "--format", "csv", "--output", str(tmp_path / "o")])
    assert not (tmp_path / "o" / "clean").exists()
