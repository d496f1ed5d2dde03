"""check_lines + fill_stats, composed the way the Spark job composes them, equal clean_lines.

The Spark job checks each batch on its own, checks the pending rows again with the values their
customers' rows agree on, computes the statistics from every checked row, keeps the first passing
row of each row_key across batches and fills the statistics' columns; here the same steps run on
pandas frames split into arbitrary batches.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from strategies import ANY_BATCHES, JSON_VALUES

from pipeline.clean import (
    CHECKED_TYPES,
    CUSTOMER_FIELDS,
    QUARANTINE_TEXT,
    CleanResult,
    agreed_customers,
    check_lines,
    checked_arrays,
    clean_lines,
    compute_stats,
    fill_stats,
    parse_lines,
    slash_tally,
    stat_inputs,
)
from pipeline.date_forms import day_first_of
from pipeline.generate import generate_orders
from pipeline.jobs.transform import checked_batch
from pipeline.schema import CLEAN_COLUMNS, FIELDS, QUARANTINE_COLUMNS

pytestmark = pytest.mark.unit


def with_repairs(checked: pd.DataFrame, size: int) -> pd.DataFrame:
    """Pending rows checked again, in batches, with their customers' agreed values and the
    input's slash-date order."""
    agreed = agreed_customers(checked[["CustomerID", *CUSTOMER_FIELDS]])
    day_first = day_first_of(*slash_tally(checked["slash_votes"]))
    pending = checked.index[checked["pending"]]
    for start in range(0, len(pending), size):
        rows = pending[start : start + size]
        known = agreed.reindex(checked.loc[rows, "CustomerID"]).reset_index(drop=True)
        again = check_lines(checked.loc[rows, "raw"], known=known, day_first=day_first)
        again = again.set_axis(rows)
        assert not again["pending"].any()
        checked.loc[rows] = again
    return checked


def clean_in_batches(lines: list[str], size: int) -> CleanResult:
    """The Spark job's steps: per-batch check, repairs, stats, first of each row_key, fill."""
    batches = [pd.Series(lines[i : i + size], dtype=object) for i in range(0, len(lines), size)]
    checked = pd.concat([check_lines([]), *map(check_lines, batches)], ignore_index=True)
    checked = with_repairs(checked, size)
    stats = compute_stats(checked[["Age", "TotalAmount"]])
    passed = checked[checked["reason"].isna()]
    kept = passed[~passed["row_key"].duplicated(keep="first")].reset_index(drop=True)
    filled = fill_stats(kept["Age"].to_numpy(), kept["TotalAmount"].to_numpy(), stats)
    clean = pd.DataFrame({c: filled[c] if c in filled else kept[c] for c in CLEAN_COLUMNS})
    clean["Quantity"] = clean["Quantity"].astype(np.int32)
    rejected = checked[checked["reason"].notna()].reset_index(drop=True)
    quarantine = rejected[[*QUARANTINE_TEXT.values(), "raw", "reason"]].set_axis(
        list(QUARANTINE_COLUMNS), axis=1
    )
    return CleanResult(clean, quarantine.astype(object), len(passed) - len(kept))


def assert_same(got: CleanResult, want: CleanResult) -> None:
    assert_frame_equal(got.clean, want.clean, check_dtype=False)
    assert_frame_equal(got.quarantine, want.quarantine)
    assert got.duplicates == want.duplicates


@given(ANY_BATCHES, st.integers(min_value=1, max_value=4))
def test_checking_in_batches_then_filling_equals_clean_lines(lines: list[str], size: int) -> None:
    assert_same(clean_in_batches(lines, size), clean_lines(lines))


def test_checking_in_batches_equals_clean_lines_on_generated_messy_lines() -> None:
    lines = generate_orders(3_000, seed=4, error_rate=0.3).lines
    lines += [lines[0], lines[5], "{", "[1]", "null", json.dumps({"row_key": "k", "Age": True})]
    assert_same(clean_in_batches(lines, 700), clean_lines(lines))


def test_checked_rows_hold_the_stat_inputs_and_the_declared_columns() -> None:
    lines = generate_orders(500, seed=6, error_rate=0.5).lines
    checked = check_lines(lines)
    assert list(checked.columns) == list(CHECKED_TYPES)
    assert_frame_equal(
        with_repairs(checked, 100)[["Age", "TotalAmount"]],
        stat_inputs(parse_lines(lines)),
        check_dtype=False,
    )


# JSON escapes of lone surrogates: valid JSON, text no UTF-8 can hold.
SURROGATES = st.sampled_from(["\ud800", "Ann \udc00", "\udfff\ud800"])
ODD_VALUES = SURROGATES | st.lists(SURROGATES, max_size=2) | JSON_VALUES


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=59), st.sampled_from(FIELDS), ODD_VALUES),
        min_size=1,
        max_size=6,
    )
)
def test_every_checked_batch_is_arrow_whatever_text_the_json_holds(
    changes: list[tuple[int, str, object]],
) -> None:
    """The Spark job hands each checked batch to Arrow as UTF-8: a row whose fields hold lone
    surrogates (passing, set aside or quarantined) never makes that raise."""
    records = [json.loads(line) for line in generate_orders(60, seed=8, error_rate=0.0).lines]
    for row, field, value in changes:
        records[row][field] = value
    lines = [json.dumps(r) for r in records]
    batch = checked_batch(checked_arrays(lines), pa.array(range(len(lines)), pa.int64()))
    assert batch.num_rows == len(lines)
    result = clean_lines(lines)
    for frame in (result.clean, result.quarantine):
        pa.Table.from_pandas(frame, preserve_index=False)
