"""The Spark transform job on local Spark and local files: same rule set, same counts as pandas."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.adapters.raw_store import RAW_DDL, read_raw, upload_bulk, write_rejected
from pipeline.catalogue import Catalogue
from pipeline.clean import (
    CleanStats,
    clean_lines,
    compute_stats,
    fill_stats,
    parse_lines,
    stat_inputs,
)
from pipeline.cli import main
from pipeline.generate import generate_orders
from pipeline.jobs.transform import run_transform, stats_columns
from pipeline.schema import CATALOGUE, CLEAN_COLUMNS, QUARANTINE_COLUMNS
from pipeline.settings import Settings

pytestmark = pytest.mark.integration


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def local_settings(tmp_path: Path) -> Settings:
    return Settings(data_root=tmp_path.as_uri(), output_dir=tmp_path, shuffle_partitions=3)


def test_clean_lines_come_out_equal_to_the_truth(spark, tmp_path: Path) -> None:
    orders = generate_orders(5_000, seed=3, error_rate=0.0)
    settings = local_settings(tmp_path)
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", orders.lines), settings)

    counts = run_transform(spark, settings)

    assert (counts.raw, counts.clean, counts.quarantined, counts.duplicates) == (5_000, 5_000, 0, 0)
    clean = pd.read_parquet(tmp_path / "clean").set_index("row_key").sort_index()
    truth = orders.truth.set_index("row_key").sort_index()
    for column in CLEAN_COLUMNS:
        if column in ("row_key", "TotalAmountNormalized", "AgeGroup"):
            continue
        got, want = clean[column], truth[column]
        if isinstance(got.iloc[0], dt.date):
            got, want = got.astype(str), want.astype(str).str[:10]
        assert (got == want).all(), column
    assert clean["TotalAmountNormalized"].between(0, 1).all()


def test_spark_job_and_pandas_cleaner_agree_on_messy_data(spark, tmp_path: Path) -> None:
    orders = generate_orders(8_000, seed=5, error_rate=0.2)
    settings = local_settings(tmp_path)
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", orders.lines), settings)

    counts = run_transform(spark, settings)
    local = clean_lines(pd.Series(orders.lines), counts.stats)

    assert counts.raw == len(orders.lines)
    assert counts.raw == counts.clean + counts.quarantined + counts.duplicates
    assert (counts.clean, counts.quarantined, counts.duplicates) == (
        len(local.clean),
        len(local.quarantine),
        local.duplicates,
    )
    quarantine = pd.read_parquet(tmp_path / "quarantine")
    assert list(quarantine.columns) == list(QUARANTINE_COLUMNS)
    assert quarantine["reason"].str.len().gt(0).all()
    assert sorted(quarantine["row_key"].dropna()) == sorted(local.quarantine["row_key"].dropna())


def test_spark_job_output_equals_clean_lines_on_messy_lines(spark, tmp_path: Path) -> None:
    """Row for row: clean rows, quarantine rows with reasons, duplicates and the statistics."""
    odd_lines = ["{", "[1, 2]", "null", "", '{"row_key": 5}', '{"row_key": "k", "Age": [1]}']
    lines = generate_orders(4_000, seed=11, error_rate=0.3).lines + odd_lines
    settings = local_settings(tmp_path)
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", lines), settings)

    counts = run_transform(spark, settings)
    local = clean_lines(pd.Series(lines))

    assert counts.stats == compute_stats(stat_inputs(parse_lines(pd.Series(lines))))
    assert (counts.raw, counts.clean, counts.quarantined, counts.duplicates) == (
        len(lines),
        len(local.clean),
        len(local.quarantine),
        local.duplicates,
    )
    assert counts.quarantined_by_reason == local.quarantine["reason"].value_counts().to_dict()
    clean = pd.read_parquet(tmp_path / "clean")
    assert clean["order_month"].astype(str).tolist() == [
        d.strftime("%Y-%m") for d in clean["OrderDate"]
    ]
    pd.testing.assert_frame_equal(
        clean[list(CLEAN_COLUMNS)].sort_values("row_key", ignore_index=True),
        local.clean.sort_values("row_key", ignore_index=True),
    )
    months = {p.parent.name for p in (tmp_path / "clean").glob("*/*.parquet")}
    # one file per month, and one more for the rows repaired from their customers' orders
    assert len(list((tmp_path / "clean").glob("*/*.parquet"))) <= 2 * len(months)
    quarantine = pd.read_parquet(tmp_path / "quarantine")
    order = ["raw", "reason"]
    pd.testing.assert_frame_equal(
        quarantine.sort_values(order, ignore_index=True),
        local.quarantine.sort_values(order, ignore_index=True),
    )
    assert {"malformed_json", "not_an_object"} <= set(quarantine["reason"])


def test_running_the_transform_twice_gives_the_same_output(spark, tmp_path: Path) -> None:
    orders = generate_orders(2_000, seed=9)
    settings = local_settings(tmp_path)
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", orders.lines), settings)
    first = run_transform(spark, settings)
    second = run_transform(spark, settings)
    assert (first.clean, first.quarantined) == (second.clean, second.quarantined)
    assert len(pd.read_parquet(tmp_path / "clean")) == first.clean


def test_pipeline_clean_command_writes_clean_and_quarantine(tmp_path: Path) -> None:
    orders = generate_orders(1_000, seed=1, error_rate=0.3)
    raw = write_lines(tmp_path / "raw.jsonl", orders.lines)
    assert main(["clean", "--input", str(raw), "--output", str(tmp_path / "out")]) == 0
    clean = pd.read_parquet(tmp_path / "out" / "clean")
    quarantine = pd.read_parquet(tmp_path / "out" / "quarantine")
    assert len(clean) + len(quarantine) <= len(orders.lines)
    assert len(clean) > 0 and len(quarantine) > 0
    assert {"row_key"} <= set(clean.columns) & set(quarantine.columns)


def test_repair_report_meets_the_targets_on_50k_rows(tmp_path: Path, capsys) -> None:
    """Generate -> `pipeline clean` (Spark) -> repair report against the truth twin."""
    assert (
        main(["generate", "--rows", "50000", "--seed", "21", "--output", str(tmp_path / "g")]) == 0
    )
    raw = tmp_path / "g" / "orders.jsonl"
    assert main(["clean", "--input", str(raw), "--output", str(tmp_path / "c")]) == 0
    capsys.readouterr()

    code = main(
        ["quality", "repair-report", "--truth", str(tmp_path / "g"), "--clean", str(tmp_path / "c")]
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "all_errors" in out and "correct_values" in out


def test_the_transform_cleans_another_shops_orders_against_its_catalogue(
    spark, tmp_path: Path
) -> None:
    """settings.catalogue_path: a CSV catalogue, read on the driver and shipped to the workers."""
    ours = {p.product_id: p for p in CATALOGUE}
    theirs = {
        p.product_id: (str(10_001 + i), f"{p.name} Deluxe", f"{p.category} Dept", p.price + 1)
        for i, p in enumerate(CATALOGUE)
    }
    path = tmp_path / "catalogue.csv"
    pd.DataFrame(
        list(theirs.values()), columns=["ProductID", "ProductName", "Category", "Price"]
    ).to_csv(path, index=False)
    lines = []
    for text in generate_orders(2_000, seed=4, error_rate=0.0).lines:
        order = json.loads(text)
        pid, name, category, price = theirs[order["ProductID"]]
        order.update(ProductID=int(pid), ProductName=name, Category=category, Price=price)
        order["TotalAmount"] = round(order["Quantity"] * price, 2)
        lines.append(json.dumps(order))
    ours_line = json.loads(lines[0]) | {"row_key": "ours", "ProductID": "P001"}
    lines.append(json.dumps(ours_line))  # our own product id: unknown to this shop
    settings = replace(local_settings(tmp_path), catalogue_path=str(path))
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", lines), settings)

    counts = run_transform(spark, settings)
    local = clean_lines(pd.Series(lines), counts.stats, catalogue=Catalogue.read(path))

    assert (counts.clean, counts.quarantined) == (2_000, 1)
    assert counts.quarantined_by_reason == {"unknown_product_id": 1}
    clean = pd.read_parquet(tmp_path / "clean")
    pd.testing.assert_frame_equal(
        clean[list(CLEAN_COLUMNS)].sort_values("row_key", ignore_index=True),
        local.clean.sort_values("row_key", ignore_index=True),
    )
    assert set(clean["ProductID"]) <= {t[0] for t in theirs.values()}
    assert set(clean["Category"]) <= {t[2] for t in theirs.values()}
    assert not set(clean["ProductName"]) & {p.name for p in ours.values()}


def test_the_transform_repairs_from_customers_and_reads_slash_dates_the_inputs_way(
    spark, tmp_path: Path
) -> None:
    """Customer repairs and the slash order need the whole input: Spark's passes equal pandas'."""
    lines = []
    for i, text in enumerate(generate_orders(3_000, seed=8, error_rate=0.0).lines):
        order = json.loads(text)
        if i % 10 == 0:  # day-first, ambiguous when the day is <= 12
            order["OrderDate"] = f"{dt.date.fromisoformat(order['OrderDate']):%d/%m/%Y}"
        if i % 37 == 0:
            order.update(Name=None, Country="", Age="?")  # the customer's other orders know
        lines.append(json.dumps(order))
    settings = local_settings(tmp_path)
    upload_bulk(spark, write_lines(tmp_path / "raw.jsonl", lines), settings)

    counts = run_transform(spark, settings)
    local = clean_lines(pd.Series(lines), counts.stats)

    assert "ambiguous_order_date" not in counts.quarantined_by_reason
    assert (counts.clean, counts.quarantined) == (len(local.clean), len(local.quarantine))
    clean = pd.read_parquet(tmp_path / "clean")
    pd.testing.assert_frame_equal(
        clean[list(CLEAN_COLUMNS)].sort_values("row_key", ignore_index=True),
        local.clean.sort_values("row_key", ignore_index=True),
    )


@pytest.mark.parametrize(
    "stats",
    [
        CleanStats(age_median=41.5, total_min=3.5, total_max=980.25),
        CleanStats(age_median=float("nan"), total_min=7.0, total_max=7.0),
        CleanStats(age_median=200.0, total_min=10.0, total_max=2.0),
        CleanStats(age_median=2.0, total_min=0.0, total_max=float("inf")),
    ],
)
def test_the_statistics_columns_in_spark_equal_fill_stats(spark, stats: CleanStats) -> None:
    rng = np.random.default_rng(7)
    ages = [float("nan"), *map(float, range(10, 130)), *rng.integers(18, 100, 300).astype(float)]
    totals = [stats.total_min, stats.total_max, 0.0, -1.5, 1e9, 0.01, 999.99]
    totals += list(np.round(rng.uniform(-50, 1200, len(ages) - len(totals)), 2))
    frame = spark.createDataFrame(
        pd.DataFrame({"Age": ages, "TotalAmount": totals}), "Age DOUBLE, TotalAmount DOUBLE"
    )
    columns = stats_columns(stats)
    got = frame.select(*[c.alias(n) for n, c in columns.items()]).toPandas()

    expected = fill_stats(np.array(ages), np.array(totals), stats)
    assert got["Age"].tolist() == expected["Age"].tolist()
    assert got["AgeGroup"].tolist() == expected["AgeGroup"].tolist()
    assert got["TotalAmountNormalized"].tolist() == expected["TotalAmountNormalized"].tolist()


def test_poison_rows_are_quarantined_with_their_bytes_in_the_one_pass(
    spark, tmp_path: Path
) -> None:
    orders = generate_orders(300, seed=21, error_rate=0.0)
    settings = local_settings(tmp_path)
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"".join([*(f"{x}\n".encode() for x in orders.lines), b"\xff\xfe bad\n"]))
    upload_bulk(spark, raw, settings)
    write_rejected(spark, settings, [('{"row_key": "huge"}', "too_large")])

    counts = run_transform(spark, settings)

    assert (counts.raw, counts.clean, counts.quarantined) == (302, 300, 2)
    assert counts.quarantined_by_reason == {"invalid_utf8": 1, "too_large": 1}
    quarantine = pd.read_parquet(tmp_path / "quarantine").set_index("reason")
    assert quarantine.loc["invalid_utf8", "raw"] == "base64://4gYmFk"
    assert quarantine.loc["too_large", "raw"] == '{"row_key": "huge"}'
    fields = [c for c in QUARANTINE_COLUMNS if c not in ("raw", "reason")]
    assert quarantine[fields].isna().all().all()


def test_a_raw_sample_draws_from_every_part_alike_and_still_names_poison(
    spark, tmp_path: Path
) -> None:
    settings = local_settings(tmp_path)
    raw = tmp_path / "raw.jsonl"
    bulk = [f'{{"row_key": "b{i}"}}\n'.encode() for i in range(4000)]
    raw.write_bytes(b"".join([*bulk, *(b"\xff bad %d\n" % i for i in range(1000))]))
    upload_bulk(spark, raw, settings)
    streamed = [(f'{{"row_key": "s{i}"}}', None, None) for i in range(4000)]
    spark.createDataFrame(streamed, RAW_DDL).write.parquet(settings.raw_stream)
    write_rejected(spark, settings, [(f'{{"row_key": "r{i}"}}', "too_large") for i in range(1000)])

    every = read_raw(spark, settings).toPandas()
    sample = read_raw(spark, settings, fraction=0.25).toPandas()

    assert len(every) == 10_000
    assert sample.equals(read_raw(spark, settings, fraction=0.25).toPandas()), "seeded"
    rows = set(every.itertuples(index=False))
    assert set(sample.itertuples(index=False)) <= rows
    parts = {
        "bulk": sample["value"].str.contains('"b', na=False),
        "stream": sample["value"].str.contains('"s', na=False),
        "invalid_utf8": sample["poison"].eq("invalid_utf8"),
        "too_large": sample["poison"].eq("too_large"),
    }
    shares = {part: int(found.sum()) / (4000 if part in ("bulk", "stream") else 1000)
              for part, found in parts.items()}  # fmt: skip
    assert all(0.2 < share < 0.3 for share in shares.values()), shares
    assert sample.loc[parts["invalid_utf8"], "raw_base64"].notna().all()
