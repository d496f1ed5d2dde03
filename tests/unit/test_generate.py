"""The generator: deterministic, realistic, error-free lines equal the truth, every error kind."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from rapidfuzz.distance import DamerauLevenshtein
from strategies import RANDOMS, clean_records

import pipeline.orders_files as orders_files
from pipeline.clean import age_groups, clean_lines
from pipeline.generate import (
    DEFAULT_ERROR_RATE,
    ERROR_KINDS,
    KIND_FIELDS,
    ROW_KINDS,
    Orders,
    dirty_lines,
    error_counts,
    generate_orders,
    naive_faker_rows,
    other_date_format,
    typo,
)
from pipeline.generate_errors import (
    MULTI_ERROR_SHARE,
    draw_kinds,
    dumps,
    inject_kinds,
    replace_fields,
)
from pipeline.generate_values import Sampler, truth_age_groups
from pipeline.orders_files import read_truth, write_orders
from pipeline.schema import (
    AGE_MAX,
    AGE_MIN,
    CATALOGUE,
    CATEGORIES,
    CLEAN_COLUMNS,
    COUNTRIES,
    FIELDS,
    PRODUCTS_BY_ID,
)

pytestmark = pytest.mark.unit

ROWS = 20_000
DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31))


@pytest.fixture(scope="module")
def orders():
    return generate_orders(ROWS, seed=11)


@pytest.fixture(scope="module")
def clean_orders():
    return generate_orders(5_000, seed=12, error_rate=0.0)


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


# ---------------------------------------------------------------------------------------------
# Vocabularies


@pytest.mark.parametrize(
    "vocabulary",
    [COUNTRIES, CATEGORIES, tuple(p.name for p in CATALOGUE)],
    ids=["countries", "categories", "products"],
)
def test_vocabulary_values_are_three_edits_apart(vocabulary: tuple[str, ...]) -> None:
    keys = [normalise(v) for v in vocabulary]
    closest = min(
        DamerauLevenshtein.distance(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]
    )
    assert closest >= 3


def test_catalogue_has_enough_products_with_two_decimal_prices() -> None:
    assert len(COUNTRIES) >= 20 and 60 <= len(CATALOGUE) <= 100
    assert all(round(p.price, 2) == p.price > 0 for p in CATALOGUE)
    assert {p.category for p in CATALOGUE} == set(CATEGORIES)


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_arguments_give_the_same_orders() -> None:
    first, second = generate_orders(3_000, seed=5), generate_orders(3_000, seed=5)
    assert first.lines == second.lines
    assert_frame_equal(first.truth, second.truth)


def test_another_seed_gives_other_orders() -> None:
    assert generate_orders(200, seed=5).lines != generate_orders(200, seed=6).lines


def test_truth_values_do_not_depend_on_the_error_rate() -> None:
    dirty = generate_orders(2_000, seed=5, error_rate=0.5)
    clean = generate_orders(2_000, seed=5, error_rate=0.0)
    assert_frame_equal(dirty.truth[list(CLEAN_COLUMNS)], clean.truth[list(CLEAN_COLUMNS)])


def iter_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, chunk_rows: int = 100_000
) -> Iterator[Orders]:
    """`rows` orders in chunks of `chunk_rows`, as write_orders generates them."""
    for start in range(0, rows, chunk_rows):
        yield generate_orders(min(chunk_rows, rows - start), seed, error_rate, start=start)


def test_chunks_continue_the_row_keys_and_equal_a_call_with_start() -> None:
    chunks = list(iter_orders(2_500, seed=3, chunk_rows=1_000))
    assert [len(c.truth) for c in chunks] == [1_000, 1_000, 500]
    keys = pd.concat([c.truth["row_key"] for c in chunks], ignore_index=True)
    assert keys.tolist() == [f"3-{i:09d}" for i in range(2_500)]
    assert chunks[1].lines == generate_orders(1_000, seed=3, start=1_000).lines


def test_zero_rows_give_no_lines_and_an_empty_truth_with_the_columns() -> None:
    orders = generate_orders(0, seed=1)
    assert orders.lines == [] and orders.truth.empty
    assert list(orders.truth.columns) == [*CLEAN_COLUMNS, "errors", "error_fields"]


@pytest.mark.parametrize("kwargs", [{"rows": -1}, {"seed": -1}, {"start": -1}, {"error_rate": 1.5}])
def test_bad_arguments_are_rejected_with_their_values(kwargs: dict) -> None:
    args = {"rows": 10, "seed": 1, **kwargs}
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        generate_orders(**args)


# ---------------------------------------------------------------------------------------------
# Realistic relations (on the truth)


def test_amounts_and_products_follow_the_catalogue(orders) -> None:
    truth = orders.truth
    products = truth[["ProductID", "ProductName", "Category", "Price"]].values
    for pid, name, category, price in products:
        product = PRODUCTS_BY_ID[pid]
        assert (name, category, price) == (product.name, product.category, product.price)
    quantities, prices = truth["Quantity"].tolist(), truth["Price"].tolist()
    expected = [round(q * p, 2) for q, p in zip(quantities, prices, strict=True)]
    assert truth["TotalAmount"].tolist() == expected


def test_dates_are_ordered_and_values_in_range(orders) -> None:
    truth = orders.truth
    assert (truth["RegistrationDate"] <= truth["OrderDate"]).all()
    assert (truth["OrderDate"] <= truth["ShippingDate"]).all()
    assert truth["Age"].between(AGE_MIN, AGE_MAX).all()
    assert (truth["AgeGroup"] == age_groups(truth["Age"])).all()
    assert truth["Country"].isin(COUNTRIES).all()
    assert truth["row_key"].is_unique


@pytest.mark.parametrize(
    ("age", "group"),
    [(18, "18-24"), (24, "18-24"), (25, "25-34"), (34, "25-34"), (35, "35-44"), (44, "35-44"),
     (45, "45-54"), (54, "45-54"), (55, "55-64"), (64, "55-64"), (65, "65+"), (100, "65+")],
)  # fmt: skip
def test_truth_and_cleaner_band_ages_alike_at_every_edge(age: int, group: str) -> None:
    """Two independent bandings (the truth twin's and the cleaner's) against the spec."""
    assert truth_age_groups([age])[0] == group
    assert age_groups(np.array([age]))[0] == group


def test_repeat_customers_keep_their_attributes(orders) -> None:
    per_customer = orders.truth.groupby("CustomerID")
    assert (per_customer.size() > 1).sum() > 1_000
    attributes = ["Name", "Age", "Country", "RegistrationDate", "ShippingAddress"]
    assert (per_customer[attributes].nunique() == 1).all().all()


def test_orders_peak_before_christmas(orders) -> None:
    months = pd.Series([d.month for d in orders.truth["OrderDate"]]).value_counts(normalize=True)
    assert months[12] > 1.5 * months[2] and months[11] > months[7]


def test_a_few_products_sell_most(orders) -> None:
    share = orders.truth["ProductID"].value_counts(normalize=True)
    assert share.iloc[0] > 5 * share.median()
    assert share.head(len(CATALOGUE) // 5).sum() > 0.5


# ---------------------------------------------------------------------------------------------
# Error-free lines are the truth, exactly


def test_error_free_lines_are_json_objects_with_exact_types(clean_orders) -> None:
    assert len(clean_orders.lines) == len(clean_orders.truth)
    for text in clean_orders.lines[:500]:
        record = json.loads(text)
        assert list(record) == ["row_key", *(f for f in FIELDS if f != "row_key")]
        assert type(record["Age"]) is int and type(record["Quantity"]) is int
        assert re.search(r'"Price":\d+\.\d\d,', text) and re.search(
            r'"TotalAmount":\d+\.\d\d,', text
        )
        for field in ("RegistrationDate", "OrderDate", "ShippingDate"):
            assert dt.date.fromisoformat(record[field]).isoformat() == record[field]
        others = set(FIELDS) - {"Age", "Quantity", "Price", "TotalAmount"}
        assert all(type(record[f]) is str for f in others)


def test_error_free_lines_clean_to_the_truth(clean_orders) -> None:
    result = clean_lines(clean_orders.lines)
    assert result.quarantine.empty and result.duplicates == 0
    compared = [c for c in CLEAN_COLUMNS if c != "TotalAmountNormalized"]
    assert_frame_equal(result.clean[compared], clean_orders.truth[compared])


# ---------------------------------------------------------------------------------------------
# Errors


def test_every_error_kind_is_injected_near_the_error_rate(orders) -> None:
    counts = error_counts(orders.truth)
    assert all(n >= 20 for n in counts.values()), counts
    with_errors = (orders.truth["errors"].str.len() > 0).mean()
    assert abs(with_errors - DEFAULT_ERROR_RATE) < 0.01


def test_errors_name_the_field_they_touched(orders) -> None:
    for kinds, fields in orders.truth[["errors", "error_fields"]].values:
        assert len(kinds) == len(fields)
        for kind, field in zip(kinds, fields, strict=True):
            assert (field is None) if kind in ROW_KINDS else (field in KIND_FIELDS[kind])


def test_duplicates_repeat_their_line_later_and_add_lines(orders) -> None:
    duplicated = orders.truth["errors"].map(lambda e: "duplicate" in e)
    assert len(orders.lines) == ROWS + duplicated.sum()
    keys = [re.search(r'"row_key":"([^"]+)"', text) for text in orders.lines]
    seen = pd.Series([k.group(1) if k else None for k in keys]).value_counts()
    assert set(seen[seen > 1].index) == set(orders.truth.loc[duplicated, "row_key"])


def test_malformed_lines_still_contain_their_row_key(orders) -> None:
    truth = orders.truth
    malformed = set(truth.loc[truth["errors"].map(lambda e: "malformed" in e), "row_key"])
    found = {k for text in orders.lines for k in re.findall(r"[0-9a-f]+-\d{9}", text)}
    assert malformed <= found


@given(st.sampled_from([*COUNTRIES, *CATEGORIES, *(p.name for p in CATALOGUE)]), RANDOMS)
def test_a_typo_is_one_edit_after_normalising(value: str, rnd: random.Random) -> None:
    typed = typo(value, rnd)
    assert typed != value
    assert DamerauLevenshtein.distance(normalise(typed), normalise(value)) <= 1


@given(clean_records(row_key="ab-000000001"), DAYS, RANDOMS)
def test_other_date_formats_clean_back_to_the_same_date(
    record: dict, day: dt.date, rnd: random.Random
) -> None:
    dates = dict.fromkeys(("RegistrationDate", "OrderDate", "ShippingDate"), day.isoformat())
    text = json.dumps({**record, **dates, "OrderDate": other_date_format(day.isoformat(), rnd)})
    assert clean_lines([text]).clean["OrderDate"].tolist() == [day]


@given(clean_records(row_key="ab-000000001"), st.sampled_from(list(ERROR_KINDS)), RANDOMS)
def test_dirty_lines_apply_each_kind(record: dict, kind: str, rnd: random.Random) -> None:
    lines, fields = dirty_lines(record, [kind], rnd)
    assert len(lines) == (2 if kind == "duplicate" else 1)
    assert "ab-000000001" in lines[0]
    unchanged = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    assert (lines[0] == unchanged) == (kind == "duplicate")
    assert fields == [None] if kind in ROW_KINDS else fields[0] in KIND_FIELDS[kind]


def test_error_kinds_are_drawn_by_weight_with_a_share_of_second_field_kinds() -> None:
    drawn = draw_kinds(np.random.default_rng(3), 100_000)
    total = sum(ERROR_KINDS.values())
    first = pd.Series([kinds[0] for kinds in drawn]).value_counts(normalize=True)
    assert all(abs(first[k] - w / total) < 0.005 for k, w in ERROR_KINDS.items())
    pairs = [kinds for kinds in drawn if len(kinds) > 1]
    assert all(len(kinds) == 2 and not set(kinds) & ROW_KINDS for kinds in pairs)
    field_share = sum(w for k, w in ERROR_KINDS.items() if k not in ROW_KINDS) / total
    assert abs(len(pairs) / len(drawn) - MULTI_ERROR_SHARE * field_share) < 0.005


@given(
    clean_records(row_key="ab-000000001"),
    st.lists(
        st.sampled_from([k for k in ERROR_KINDS if k not in ROW_KINDS]), min_size=1, max_size=2
    ),
    RANDOMS,
)
def test_replacing_the_touched_fields_of_a_line_gives_the_dirty_record(
    record: dict, kinds: list[str], rnd: random.Random
) -> None:
    dirty = dict(record)
    touched = [f for f in inject_kinds(dirty, kinds, rnd) if f]
    assert replace_fields(dumps(record), dirty, touched) == dumps(dirty)


def test_erroneous_lines_keep_the_clean_text_of_the_fields_they_do_not_touch() -> None:
    dirty, clean = (
        generate_orders(2_000, seed=5, error_rate=0.5),
        generate_orders(2_000, seed=5, error_rate=0.0),
    )
    clean_line = {json.loads(text)["row_key"]: text for text in clean.lines}
    truth = dirty.truth.set_index("row_key")
    checked = 0
    for text in dirty.lines:
        key = re.search(r"[0-9a-f]+-\d{9}", text).group(0)
        if "malformed" in truth.at[key, "errors"]:
            continue
        record = json.loads(text)
        want = json.loads(clean_line[record["row_key"]])
        for field in truth.at[key, "error_fields"]:
            record.pop(field, None)
            want.pop(field, None)
        assert record == want
        if "Price" in record:
            assert re.search(r'"Price":\d+\.\d\d[,}]', text), text
        checked += 1
    assert checked > 1_900


@pytest.mark.parametrize("size", [2, 8, 11, 36, 80])
def test_the_bucketed_sampler_draws_exactly_what_rng_choice_draws(size: int) -> None:
    p = np.random.default_rng(size).random(size) ** 3
    p /= p.sum()
    rows = 200_000
    expected = np.random.default_rng(7).choice(size, size=rows, p=p)
    got = Sampler.of(p)(np.random.default_rng(7), np.empty(rows), np.empty(rows, dtype=np.intp))
    assert np.array_equal(got, expected)


# ---------------------------------------------------------------------------------------------
# Baseline and files


def test_naive_faker_rows_are_lines_that_follow_the_record_contract() -> None:
    lines = naive_faker_rows(20, seed=1)
    records = [json.loads(text) for text in lines]
    assert len(lines) == 20 and all(
        list(r)[0] == "row_key" and set(r) == set(FIELDS) for r in records
    )
    assert clean_lines(lines).quarantine.empty


def test_write_orders_writes_lines_and_truth_chunks(tmp_path: Path) -> None:
    (tmp_path / "truth-00009.parquet").write_bytes(b"stale")
    summary = write_orders(2_500, seed=4, error_rate=0.1, output=tmp_path, chunk_rows=1_000)
    text = (tmp_path / "orders.jsonl").read_text(encoding="utf-8")
    assert text.endswith("\n") and len(text.split("\n")) - 1 == summary.lines >= 2_500
    assert [p.name for p in summary.truth_paths] == [f"truth-0000{i}.parquet" for i in range(3)]
    truth = read_truth(tmp_path)
    assert len(truth) == summary.rows == 2_500
    assert sum(summary.errors.values()) == sum(len(e) for e in truth["errors"])
    assert np.array_equal(truth["row_key"], [f"4-{i:09d}" for i in range(2_500)])


def test_large_outputs_are_written_by_workers_and_equal_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, write_chunk = os.getpid(), orders_files._write_chunk

    def in_a_worker(*args):  # forked workers inherit the patch, a forkserver's run the original
        assert os.getpid() != caller, "a chunk was written by the calling process"
        return write_chunk(*args)

    monkeypatch.setattr(orders_files, "_write_chunk", in_a_worker)
    summary = write_orders(4_500, seed=4, error_rate=0.1, output=tmp_path, chunk_rows=1_000)
    chunks = list(iter_orders(4_500, seed=4, error_rate=0.1, chunk_rows=1_000))
    text = (tmp_path / "orders.jsonl").read_text(encoding="utf-8")
    assert text == "".join(f"{line}\n" for chunk in chunks for line in chunk.lines)
    assert summary.lines == sum(len(c.lines) for c in chunks)
    assert summary.errors == error_counts(pd.concat([c.truth for c in chunks]))
    truth = read_truth(tmp_path)
    expected = pd.concat([c.truth for c in chunks], ignore_index=True)
    assert_frame_equal(truth[list(CLEAN_COLUMNS)], expected[list(CLEAN_COLUMNS)])
    assert [tuple(e) for e in truth["errors"]] == list(expected["errors"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "orders.jsonl",
        *(f"truth-{i:05d}.parquet" for i in range(5)),
    ]


def test_a_caller_with_threads_still_has_workers_write_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline run` has threads (Spark's, a meter's): its workers come from a forkserver."""

    def in_the_caller(*args):  # a forkserver's workers import the module afresh: never patched
        raise AssertionError("a chunk was written by the calling process")

    release = threading.Event()
    busy = threading.Thread(target=release.wait, daemon=True)
    busy.start()
    try:
        monkeypatch.setattr(orders_files, "_write_chunk", in_the_caller)
        summary = write_orders(4_500, seed=4, error_rate=0.1, output=tmp_path, chunk_rows=1_000)
    finally:
        release.set()
        busy.join(timeout=10)
    chunks = list(iter_orders(4_500, seed=4, error_rate=0.1, chunk_rows=1_000))
    text = (tmp_path / "orders.jsonl").read_text(encoding="utf-8")
    assert text == "".join(f"{line}\n" for chunk in chunks for line in chunk.lines)
    assert summary.lines == sum(len(c.lines) for c in chunks)
