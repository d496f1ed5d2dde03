"""The data-quality gates on local Spark: a good batch passes, each kind of damage fails its gate
with the expectation and column named, and Data Docs are written on request."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from expectations import read_suite
from pipeline.clean import clean_lines
from pipeline.gates import (
    PANDAS_ROWS,
    GateFailed,
    _with_set_aside_check,
    load_frame,
    local_if_small,
    parse_raw,
    require,
    validate,
)
from pipeline.generate import generate_orders
from pipeline.schema import CLEAN_DDL, QUARANTINE_DDL

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def good_clean() -> pd.DataFrame:
    orders = generate_orders(2000, seed=1, error_rate=0.0)
    result = clean_lines(pd.Series(orders.lines))
    assert len(result.clean) == 2000
    return result.clean


def with_value(
    frame: pd.DataFrame, column: str, value: Callable[[pd.DataFrame, int], Any], row: int = 0
) -> pd.DataFrame:
    """A copy of `frame` whose `row` has `column` set to value(frame, row)."""
    broken = frame.copy()
    broken.at[row, column] = value(frame, row)
    return broken


# (column to damage, its new value, the expectation that must fail, on which column)
DAMAGE = [
    pytest.param(
        "Age", lambda f, i: 300, "expect_column_values_to_be_between", "Age", id="age-300"
    ),
    pytest.param(
        "Country",
        lambda f, i: "Atlantis",
        "expect_column_values_to_be_in_set",
        "Country",
        id="unknown-country",
    ),
    pytest.param(
        "TotalAmount",
        lambda f, i: f.at[i, "TotalAmount"] + 5,
        "expect_column_values_to_be_between",
        "total_error",
        id="total-off-by-5",
    ),
    pytest.param(
        "ShippingDate",
        lambda f, i: f.at[i, "OrderDate"] - dt.timedelta(days=1),
        "expect_column_values_to_be_between",
        "shipping_days",
        id="shipped-before-order",
    ),
    pytest.param(
        "row_key",
        lambda f, i: f.at[i + 1, "row_key"],
        "expect_column_values_to_be_unique",
        "row_key",
        id="duplicate-row-key",
    ),
    pytest.param(  # a null Name is allowed only where quality_flags names it
        "Name",
        lambda f, i: None,
        "expect_column_values_to_be_between",
        "set_aside_mismatches",
        id="null-name-without-its-flag",
    ),
]


def test_a_good_clean_batch_passes_every_expectation(spark, good_clean: pd.DataFrame) -> None:
    frame = spark.createDataFrame(good_clean, schema=CLEAN_DDL)

    result = require(validate("clean", frame))

    assert result.success
    assert result.failed == []
    assert result.evaluated == len(read_suite("clean")["expectations"])


@pytest.mark.parametrize(("column", "value", "expectation", "failed_column"), DAMAGE)
def test_a_damaged_clean_batch_fails_naming_the_expectation_and_column(
    spark, good_clean: pd.DataFrame, column: str, value, expectation: str, failed_column: str
) -> None:
    frame = spark.createDataFrame(with_value(good_clean, column, value), schema=CLEAN_DDL)

    with pytest.raises(GateFailed) as failed:
        require(validate("clean", frame))

    result = failed.value.result
    assert [(f.expectation, f.column) for f in result.failed] == [(expectation, failed_column)]
    assert result.failed[0].observed.startswith("1 of 2000 rows unexpected") or column == "row_key"
    message = str(failed.value)
    assert "'clean'" in message
    assert f"{expectation} on {failed_column}:" in message


def test_a_date_that_is_no_date_fails_the_date_order_not_the_whole_pass(
    spark, good_clean: pd.DataFrame
) -> None:
    """Text where a date belongs: its row fails shipping_days (and on Spark the column's type
    check), with no error failing every other expectation of the one aggregate pass."""
    texts = good_clean.assign(
        ShippingDate=["soon", *good_clean["ShippingDate"].iloc[1:].map(str)]
    )  # fmt: skip
    ddl = CLEAN_DDL.replace("`ShippingDate` DATE", "`ShippingDate` STRING")
    date_order = ("expect_column_values_to_be_between", "shipping_days")
    row = f"row_key {good_clean.at[0, 'row_key']}: -inf"

    on_spark = validate("clean", spark.createDataFrame(texts, schema=ddl))
    on_pandas = validate("clean", texts)  # pandas holds dates as objects: no type to check

    assert [(f.expectation, f.column) for f in on_spark.failed] == [
        ("expect_column_values_to_be_of_type", "ShippingDate"),
        date_order,
    ]
    assert [(f.expectation, f.column) for f in on_pandas.failed] == [date_order]
    assert row in on_spark.failed[1].observed and row in on_pandas.failed[0].observed


def test_the_gate_says_the_same_on_spark_and_on_pandas(spark, good_clean: pd.DataFrame) -> None:
    broken = good_clean
    for k, param in enumerate(DAMAGE):
        column, value, *_ = param.values
        broken = with_value(broken, column, value, row=10 * k)

    frame = spark.createDataFrame(broken, schema=CLEAN_DDL)
    on_spark = validate("clean", frame)
    on_pandas = validate("clean", broken)
    # What a run does with a small frame: collected, then validated on pandas.
    collected = local_if_small(frame, len(broken))
    assert isinstance(collected, pd.DataFrame)
    assert local_if_small(frame, PANDAS_ROWS + 1) is frame

    expected = [(p.values[2], p.values[3]) for p in DAMAGE]
    assert sorted((f.expectation, f.column) for f in on_spark.failed) == sorted(expected)
    assert on_pandas.failed == on_spark.failed
    assert validate("clean", collected).failed == on_spark.failed


def test_the_quarantine_gate_catches_an_empty_reason(spark) -> None:
    orders = generate_orders(1000, seed=2, error_rate=0.3)
    quarantine = clean_lines(pd.Series(orders.lines)).quarantine
    assert len(quarantine) > 10
    assert validate("quarantine", spark.createDataFrame(quarantine, QUARANTINE_DDL)).success

    quarantine.at[0, "reason"] = ""
    result = validate("quarantine", spark.createDataFrame(quarantine, QUARANTINE_DDL))

    assert [(f.expectation, f.column) for f in result.failed] == [
        ("expect_column_value_lengths_to_be_between", "reason")
    ]


def test_the_load_gate_catches_unequal_counts(spark) -> None:
    assert validate("load", spark.createDataFrame(load_frame(2000, 2000))).success

    result = validate("load", spark.createDataFrame(load_frame(2000, 1999)))

    assert [(f.expectation, f.column) for f in result.failed] == [
        ("expect_column_pair_values_to_be_equal", "clean_rows, hbase_rows")
    ]
    assert "(2000, 1999)" in result.failed[0].observed


def test_the_raw_gate_catches_a_batch_with_half_its_lines_malformed(spark) -> None:
    lines = generate_orders(400, seed=3, error_rate=0.05).lines
    raw = spark.createDataFrame([(line,) for line in lines], "value STRING")
    assert validate("raw", parse_raw(raw)).success

    half_broken = [line[: len(line) // 2] if i % 2 else line for i, line in enumerate(lines)]
    raw = spark.createDataFrame([(line,) for line in half_broken], "value STRING")
    with pytest.raises(GateFailed) as failed:
        require(validate("raw", parse_raw(raw)))
    collected = validate("raw", local_if_small(parse_raw(raw), len(half_broken)))
    assert collected.failed == failed.value.result.failed

    failures = {f.column: f for f in failed.value.result.failed}
    assert failures["parse_error"].expectation == "expect_column_values_to_be_null"
    assert "'malformed_json'" in failures["parse_error"].observed
    assert "expect_column_values_to_be_null on parse_error" in str(failed.value)


def test_the_raw_gate_checks_lines_whose_text_utf8_cannot_hold(spark) -> None:
    """A JSON escape of a lone surrogate is valid JSON but no UTF-8: its row is checked (and the
    field kept, escaped) instead of failing the gate's Arrow hand-over."""
    lines = generate_orders(400, seed=3, error_rate=0.05).lines
    record = json.loads(lines[0])
    odd = json.dumps({**record, "Name": "Ann \ud800", "Country": ["\udc00"]})
    raw = spark.createDataFrame([(line,) for line in [odd, *lines]], "value STRING")
    parsed = parse_raw(raw)
    first = parsed.filter(parsed["raw"] == odd.encode("utf-8", "backslashreplace").decode()).first()
    assert (first["Name"], first["Country"]) == ("Ann \\ud800", "['\\udc00']")
    assert validate("raw", parsed).success


def test_data_docs_list_every_gate_validated_into_the_folder(
    spark, good_clean: pd.DataFrame, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    clean = validate("clean", spark.createDataFrame(good_clean, CLEAN_DDL), docs_dir=docs)
    load = validate("load", load_frame(1, 2), docs_dir=docs)

    assert clean.docs_index == load.docs_index == docs.resolve() / "index.html"
    index = clean.docs_index.read_text(encoding="utf-8")
    assert "validations/clean/" in index
    assert "validations/load/" in index
    pages = sorted(p.relative_to(docs).parts[:2] for p in docs.glob("validations/**/*.html"))
    assert pages == [("validations", "clean"), ("validations", "load")]
    assert str(load.docs_index) in str(GateFailed(load))


def test_the_set_aside_check_counts_alike_on_spark_and_pandas(
    spark, good_clean: pd.DataFrame
) -> None:
    """Flags and nulls in every mix (no flag, a flag with or without its null, a null without
    its flag, an unknown flag, a null flags cell): Spark's count equals the pandas count."""
    cases = [
        ("", {}), (None, {}), ("", {"Name": None}), ("missing_name", {"Name": None}),
        ("missing_name", {}), ("missing_name,invalid_shipping_date", {"Name": None}),
        ("missing_name,invalid_shipping_date", {"Name": None, "ShippingDate": None}),
        ("not_a_flag", {}), ("not_a_flag,missing_name", {"Name": None}),
        ("", {"ShippingAddress": None, "ShippingDate": None}),
    ]  # fmt: skip
    frame = good_clean.head(len(cases)).copy()
    for column in ("Name", "ShippingAddress", "ShippingDate", "quality_flags"):
        frame[column] = frame[column].astype(object)
    for row, (flags, nulls) in enumerate(cases):
        frame.at[row, "quality_flags"] = flags
        for column, value in nulls.items():
            frame.at[row, column] = value
    on_pandas = _with_set_aside_check(frame, "mismatches")["mismatches"].tolist()
    on_spark = (
        _with_set_aside_check(spark.createDataFrame(frame, schema=CLEAN_DDL), "mismatches")
        .select("row_key", "mismatches")
        .toPandas()
        .set_index("row_key")
        .loc[frame["row_key"], "mismatches"]
        .tolist()
    )
    assert on_spark == on_pandas
    assert on_pandas == [0, 0, 1, 0, 1, 1, 0, 1, 1, 2]
