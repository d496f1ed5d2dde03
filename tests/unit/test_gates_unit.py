"""The gates on pandas (no JVM): the suites agree with the schema, a good batch passes, each kind of
damage fails its own expectation, and the failure message carries what a reader needs."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import ARBITRARY_LINES

from expectations import DATASETS, read_suite
from pipeline.clean import clean_lines, parse_lines
from pipeline.clean.parsing import safe_text
from pipeline.gates import GateFailed, GateResult, load_frame, raw_texts, require, validate
from pipeline.generate import generate_orders
from pipeline.schema import CLEAN_COLUMNS, CLEAN_TYPES, NULLABLE_COLUMNS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def good_clean() -> pd.DataFrame:
    clean = clean_lines(pd.Series(generate_orders(500, seed=4, error_rate=0.0).lines)).clean
    assert len(clean) == 500
    return clean


def kinds(result: GateResult) -> list[tuple[str, str]]:
    return [(f.expectation, f.column) for f in result.failed]


def by_type(dataset: str, expectation: str) -> dict[str, dict]:
    return {
        e["kwargs"]["column"]: e["kwargs"]
        for e in read_suite(dataset)["expectations"]
        if e["type"] == expectation
    }


@pytest.mark.parametrize("dataset", DATASETS)
def test_each_suite_file_is_named_after_its_dataset(dataset: str) -> None:
    assert read_suite(dataset)["name"] == dataset


def test_the_clean_suite_types_and_requires_every_clean_column() -> None:
    types = by_type("clean", "expect_column_values_to_be_of_type")
    assert {c: kw["type_"] for c, kw in types.items()} == {
        c: {"$PARAMETER": t} for c, t in CLEAN_TYPES.items()
    }
    not_null = set(CLEAN_COLUMNS) - set(NULLABLE_COLUMNS)
    assert set(by_type("clean", "expect_column_values_to_not_be_null")) == not_null


@pytest.mark.parametrize(
    ("column", "flags", "passes"),
    [("Name", "missing_name", True), ("Name", "", False), ("Name", "missing_shipping_date", False),
     ("ShippingDate", "shipped_before_order", True), ("ShippingDate", "wrong_type_name", False),
     (None, "missing_name", False), (None, "no_such_flag", False),
     ("ShippingAddress", "missing_name,invalid_shipping_address", False)],
)  # fmt: skip
def test_the_clean_suite_allows_a_null_only_where_quality_flags_name_it(
    good_clean: pd.DataFrame, column: str | None, flags: str, passes: bool
) -> None:
    frame = good_clean.copy()
    if column is not None:
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = None
    frame.loc[0, "quality_flags"] = flags
    result = validate("clean", frame)
    assert result.success is passes, result.failed
    if not passes:
        assert ("expect_column_values_to_be_between", "set_aside_mismatches") in kinds(result)


def test_the_raw_suite_needs_the_fields_no_rule_can_do_without_in_most_lines() -> None:
    required = {"row_key", "CustomerID", "Country", "RegistrationDate", "OrderDate"}
    assert set(by_type("raw", "expect_column_values_to_not_be_null")) == required


@pytest.mark.parametrize("field", ["CustomerID", "OrderDate"])
def test_the_raw_gate_refuses_a_source_that_names_a_required_field_otherwise(field: str) -> None:
    lines = generate_orders(200, seed=5, error_rate=0.05).lines
    renamed = [line.replace(f'"{field}"', f'"{field}_v2"') for line in lines]
    assert validate("raw", parse_lines(pd.Series(lines))).success
    assert kinds(validate("raw", parse_lines(pd.Series(renamed)))) == [
        ("expect_column_values_to_not_be_null", field)
    ]


def test_the_raw_gate_lets_a_source_without_fields_a_rule_fills_through() -> None:
    lines = generate_orders(200, seed=5, error_rate=0.05).lines
    for field in ("Name", "ShippingAddress", "Price", "TotalAmount", "Age"):
        lines = [line.replace(f'"{field}"', f'"{field}_absent"') for line in lines]
    assert validate("raw", parse_lines(pd.Series(lines))).success


def test_a_good_clean_batch_passes(good_clean: pd.DataFrame) -> None:
    result = require(validate("clean", good_clean))
    assert (result.success, result.failed) == (True, [])
    assert result.evaluated == len(read_suite("clean")["expectations"])


DAMAGE = [
    pytest.param("Age", lambda f: 17, ("expect_column_values_to_be_between", "Age"), id="age-17"),
    pytest.param(
        "AgeGroup", lambda f: "0-9", ("expect_column_values_to_be_in_set", "AgeGroup"), id="group"
    ),
    pytest.param(
        "Category",
        lambda f: "Weapons",
        ("expect_column_values_to_be_in_set", "Category"),
        id="unknown-category",
    ),
    pytest.param(
        "TotalAmountNormalized",
        lambda f: 1.5,
        ("expect_column_values_to_be_between", "TotalAmountNormalized"),
        id="normalized-above-1",
    ),
    pytest.param(
        "TotalAmount",
        lambda f: f.at[0, "TotalAmount"] + 0.02,
        ("expect_column_values_to_be_between", "total_error"),
        id="total-off-by-2-cents",
    ),
    pytest.param(
        "ShippingDate",
        lambda f: f.at[0, "OrderDate"] - dt.timedelta(days=1),
        ("expect_column_values_to_be_between", "shipping_days"),
        id="shipped-before-order",
    ),
    pytest.param(
        "Country", lambda f: None, ("expect_column_values_to_not_be_null", "Country"), id="null"
    ),
]


@pytest.mark.parametrize(("column", "value", "expected"), DAMAGE)
def test_one_damaged_value_fails_exactly_its_expectation(
    good_clean: pd.DataFrame, column: str, value, expected: tuple[str, str]
) -> None:
    broken = good_clean.copy()
    broken.at[0, column] = value(good_clean)

    result = validate("clean", broken)

    assert kinds(result) == [expected]
    assert result.failed[0].observed.startswith("1 of 500 rows unexpected")
    assert f"row_key {good_clean.at[0, 'row_key']}" in result.failed[0].observed


def test_shipping_on_the_order_day_or_set_aside_passes(good_clean: pd.DataFrame) -> None:
    same_day = good_clean.assign(ShippingDate=good_clean["OrderDate"])
    set_aside = good_clean.copy()
    set_aside.at[0, "ShippingDate"] = None
    set_aside.at[0, "quality_flags"] = "invalid_shipping_date"

    assert validate("clean", same_day).success
    assert validate("clean", set_aside).success


def test_a_total_within_a_cent_passes(good_clean: pd.DataFrame) -> None:
    shifted = good_clean.assign(TotalAmount=good_clean["TotalAmount"] + 0.009)
    assert validate("clean", shifted).success


def test_a_missing_column_is_named_not_raised(good_clean: pd.DataFrame) -> None:
    result = validate("clean", good_clean.drop(columns=["Price"]))

    assert not result.success
    assert ("expect_column_values_to_not_be_null", "Price") in kinds(result)
    assert "column missing: Price" in str(GateFailed(result))


def test_a_wrongly_typed_column_fails_its_type_expectation(good_clean: pd.DataFrame) -> None:
    result = validate("clean", good_clean.astype({"Quantity": "float64"}))
    assert kinds(result) == [("expect_column_values_to_be_of_type", "Quantity")]


def test_gate_failed_names_the_dataset_and_every_failure(good_clean: pd.DataFrame) -> None:
    broken = good_clean.copy()
    broken.at[0, "Country"] = "Atlantis"
    broken.at[1, "Age"] = 300

    with pytest.raises(GateFailed) as failed:
        require(validate("clean", broken))

    message = str(failed.value)
    assert message.startswith("gate 'clean' failed 2 of ")
    assert "expect_column_values_to_be_in_set on Country: 1 of 500 rows" in message
    assert "'Atlantis'" in message
    assert "expect_column_values_to_be_between on Age: 1 of 500 rows" in message
    assert "Hint: see expectations/clean.json" in message


def test_the_manifest_entry_is_json(good_clean: pd.DataFrame) -> None:
    entry = json.loads(json.dumps(validate("load", load_frame(3, 4)).as_dict()))
    assert entry["dataset"] == "load"
    assert entry["success"] is False
    assert entry["failed"] == [
        {
            "expectation": "expect_column_pair_values_to_be_equal",
            "column": "clean_rows, hbase_rows",
            "observed": "1 of 1 rows unexpected (100 %), e.g. (3, 4)",
        }
    ]


def test_the_raw_gate_tolerates_a_few_malformed_lines_but_not_half() -> None:
    lines = generate_orders(200, seed=5, error_rate=0.0).lines
    few = ["{not json"] * 10 + lines[10:]
    half = ["{not json" if i % 2 else line for i, line in enumerate(lines)]

    assert validate("raw", parse_lines(pd.Series(few))).success
    assert ("expect_column_values_to_be_null", "parse_error") in kinds(
        validate("raw", parse_lines(pd.Series(half)))
    )


# JSON that json reads in its own ways: a lone surrogate escape, NaN, 1e400, nesting, huge ints.
EDGY_LINES = st.sampled_from(
    ['{"Name": "\\ud800", "Age": NaN, "Price": 1e400}', '{"Country": ["\\udc00", {"a": 1}]}',
     '{"Age": 123456789012345678901234567890, "Quantity": true}', "\ud800 not json"]
)  # fmt: skip


@given(st.lists(ARBITRARY_LINES | EDGY_LINES, max_size=6))
def test_the_raw_gate_reads_each_field_as_text_as_pandas_would_and_utf8_can_hold(
    lines: list[str],
) -> None:
    parsed = parse_lines(pd.Series(lines, dtype=object))
    as_text = parsed.where(parsed.isna(), parsed.astype(str))
    expected = {c: [None if pd.isna(v) else safe_text(v) for v in as_text[c]] for c in as_text}
    texts = raw_texts(lines)
    assert texts == expected
    for values in texts.values():
        pa.array(values, type=pa.string())  # what the Spark gate hands over: never raises


def test_the_quarantine_gate_needs_a_reason_and_the_original_line() -> None:
    quarantine = clean_lines(pd.Series(generate_orders(300, seed=6, error_rate=0.3).lines))
    good = quarantine.quarantine
    assert validate("quarantine", good).success

    broken = good.copy()
    broken.at[0, "reason"] = None
    broken.at[1, "raw"] = None
    assert kinds(validate("quarantine", broken)) == [
        ("expect_column_values_to_not_be_null", "reason"),
        ("expect_column_values_to_not_be_null", "raw"),
    ]


def test_an_unknown_dataset_is_refused_with_the_known_ones(good_clean: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"'orders'.*'raw', 'clean', 'quarantine', 'load'"):
        validate("orders", good_clean)
