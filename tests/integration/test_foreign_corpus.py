"""Another shop's export (tests/foreign_shop): its CSV, its catalogue, its conventions, through the
Spark transform, against the clean values its corpus script computed on its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pipeline.adapters.raw_store import upload_bulk
from pipeline.catalogue import Catalogue
from pipeline.cli import main
from pipeline.csv_input import as_json_lines
from pipeline.jobs.transform import catalogue_of, run_transform
from pipeline.quality import form_report, format_report
from pipeline.schema import CLEAN_TYPES, NULLABLE_COLUMNS
from pipeline.settings import DERIVE, Settings

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[1] / "foreign_shop"


def expected_clean() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The corpus' expected clean rows (typed as clean's) and its quarantined rows' reasons."""
    expected = pd.read_csv(CORPUS / "expected.csv", dtype=str, keep_default_na=False)
    rejected = expected[expected["reason"] != ""][["row_key", "reason"]]
    kept = expected[expected["reason"] == ""].drop(columns="reason")
    for column in kept.columns:
        kind = CLEAN_TYPES[column]
        if column in NULLABLE_COLUMNS:
            kept[column] = kept[column].where(kept[column] != "", None)
        if kind == "INT":
            kept[column] = kept[column].astype(int)
        elif kind == "DOUBLE":
            kept[column] = kept[column].astype(float)
        elif kind == "DATE":
            kept[column] = kept[column].map(lambda d: d and dt.date.fromisoformat(d))
    return kept.reset_index(drop=True), rejected.reset_index(drop=True)


@pytest.mark.parametrize("catalogue", ["its file", DERIVE])
def test_another_shops_export_comes_out_as_its_corpus_says(
    spark, tmp_path: Path, capsys, catalogue: str
) -> None:
    """With the shop's catalogue file, or with the one its orders agree on (derived by the run)."""
    settings = replace(
        Settings(data_root=tmp_path.as_uri(), output_dir=tmp_path, shuffle_partitions=3),
        catalogue_path=DERIVE if catalogue == DERIVE else str(CORPUS / "catalogue.csv"),
    )
    lines = as_json_lines(CORPUS / "orders.csv", tmp_path / "converted")
    upload_bulk(spark, lines, settings)

    counts = run_transform(spark, settings)

    theirs = Catalogue.read(CORPUS / "catalogue.csv")
    assert catalogue_of(settings) == replace(theirs, source=catalogue_of(settings).source)
    kept, rejected = expected_clean()
    assert (counts.raw, counts.clean, counts.quarantined, counts.duplicates) == (
        len(kept) + len(rejected), len(kept), len(rejected), 0
    )  # fmt: skip
    clean = pd.read_parquet(tmp_path / "clean").sort_values("row_key", ignore_index=True)
    quarantine = pd.read_parquet(tmp_path / "quarantine")
    got = clean[list(kept.columns)]
    pd.testing.assert_frame_equal(got, kept.sort_values("row_key", ignore_index=True),
                                  check_dtype=False)  # fmt: skip
    assert dict(zip(quarantine["row_key"], quarantine["reason"], strict=True)) == dict(
        zip(rejected["row_key"], rejected["reason"], strict=True)
    )

    forms = pd.read_csv(CORPUS / "forms.csv", dtype=str)
    report = form_report(forms, kept, clean, quarantine)
    with capsys.disabled():
        print("\nforeign shop corpus, per real-world form:\n" + format_report(report))
    assert (report["wrong"] == 0).all() and (report["lost"] == 0).all()
    assert report.loc["all_forms", "repaired_rate"] >= 0.99


def test_the_shops_catalogue_is_derived_from_its_orders_alone(tmp_path: Path, capsys) -> None:
    target = tmp_path / "derived.csv"
    assert main(["catalogue", "derive", "--input", str(CORPUS / "orders.csv"),
                 "--output", str(target)]) == 0  # fmt: skip
    derived, theirs = Catalogue.read(target), Catalogue.read(CORPUS / "catalogue.csv")
    assert derived == replace(theirs, source=derived.source)
    report = pd.read_csv(tmp_path / "derived.report.csv", dtype={"ProductID": str})
    assert report.set_index("ProductID").at["5999", "outcome"] == "too_rare"
    assert "12 products" in capsys.readouterr().out
