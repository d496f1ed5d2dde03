"""The snapshot's array path (``Table.select`` + ``Part.sums``) against the straightforward one
(``Filters.mask`` over the aggregate frames, then a pandas group-by): the same sums for every
filter combination, so the charts show the same numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_data import CATEGORIES, COUNTRIES, clean_orders
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard import figures
from dashboard.filters import Filters
from dashboard.snapshot import (
    PRODUCT,
    REVENUE_WITH_ORDERS,
    ROWS_WITH_ORDERS,
    Part,
    Snapshot,
    Table,
    categorical,
    words,
)
from pipeline import aggregate
from pipeline.schema import AGE_GROUPS

pytestmark = pytest.mark.unit

SEGMENTS = ("champions", "loyal", "hibernating")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    orders = clean_orders(3_000, seed=11)
    number = orders["CustomerID"].str[1:].astype(int)
    orders["Segment"] = [SEGMENTS[n % len(SEGMENTS)] for n in number]
    return aggregate.build_aggregates(orders)


@pytest.fixture(scope="module")
def snapshot(frames: dict[str, pd.DataFrame]) -> Snapshot:
    return Snapshot.from_aggregates(frames, "run-1")


FILTERS = st.builds(
    Filters,
    start=st.none() | st.sampled_from(["2022-11", "2023-01", "2023-08", "2024-06", "2025-01"]),
    end=st.none() | st.sampled_from(["2022-12", "2023-02", "2023-09", "2024-06", "2026-01"]),
    country=st.none() | st.sampled_from([*COUNTRIES, "Nowhere"]),
    category=st.none() | st.sampled_from(CATEGORIES),
    age_group=st.none() | st.sampled_from(AGE_GROUPS),
    segment=st.none() | st.sampled_from(SEGMENTS),
)


def expected_sums(frame: pd.DataFrame, filters: Filters, part: Part, axes: tuple[str, ...],
                  measure: str) -> np.ndarray:  # fmt: skip
    """The straightforward path: mask the aggregate, group by the axes' labels, fill a grid."""
    chosen = frame[filters.mask(frame)]
    if measure == ROWS_WITH_ORDERS:
        chosen, measure = chosen.assign(n=(chosen["orders"] > 0).astype(int)), "n"
    elif measure == REVENUE_WITH_ORDERS:
        chosen, measure = (
            chosen.assign(n=chosen["revenue_cents"].where(chosen["orders"] > 0, 0)),
            "n",
        )
    columns = ["ProductID", "ProductName"] if axes == (PRODUCT,) else list(axes)
    grid = np.zeros([len(part.table.labels[a]) for a in axes], dtype=np.int64)
    at = [{label: i for i, label in enumerate(part.table.labels[a])} for a in axes]
    for key, value in chosen.groupby(columns, observed=True)[measure].sum().items():
        keys = (key,) if len(axes) == 1 else key
        grid[tuple(a[k] for a, k in zip(at, keys, strict=True))] = value
    return grid


CASES = {
    "cube": [(("month", "Category"), REVENUE_WITH_ORDERS), (("month", "Segment"), ROWS_WITH_ORDERS),
             (("Country",), "revenue_cents"), (("AgeGroup",), "orders")],
    "ages": [(("Age",), "orders")],
    "products": [((PRODUCT,), "revenue_cents"), ((PRODUCT,), "quantity")],
}  # fmt: skip


@settings(deadline=None)
@given(filters=FILTERS)
@example(filters=Filters())
@example(filters=Filters(start="2030-01"))  # after the data: nothing
def test_array_selection_sums_equal_the_mask_path(frames, snapshot, filters: Filters) -> None:
    selected = snapshot.select(filters)
    for name, cases in CASES.items():
        frame, part = categorical(frames[name]), getattr(selected, name)
        for axes, measure in cases:
            got = part.sums(axes, measure)
            assert np.array_equal(got, expected_sums(frame, filters, part, axes, measure)), (
                name, axes, measure)  # fmt: skip
        assert part.total("orders") == int(frame[filters.mask(frame)]["orders"].sum())
    customers = categorical(frames["customers"])
    expected_customers = customers[filters.mask(customers)]["CustomerID"]
    picked = set(selected.customers.ids[selected.customers.code[selected.customer_rows]])
    assert picked <= set(expected_customers), "customers pass Country/AgeGroup/Segment too"


@settings(deadline=None)
@given(filters=FILTERS)
def test_a_selection_makes_each_sum_once_whatever_the_order_asked(snapshot, filters) -> None:
    """A page asks one selection for many sums: each is made once and kept, and a kept one is
    the sum of its own axes and measure, not of another asked before it."""
    asked = [(name, axes, measure) for name, cases in CASES.items() for axes, measure in cases]
    forward, backward = snapshot.select(filters), snapshot.select(filters)
    first = {(n, a, m): getattr(forward, n).sums(a, m) for n, a, m in asked}
    reverse = {(n, a, m): getattr(backward, n).sums(a, m) for n, a, m in reversed(asked)}
    for name, axes, measure in asked:
        assert np.array_equal(first[name, axes, measure], reverse[name, axes, measure])
        assert getattr(forward, name).sums(axes, measure) is first[name, axes, measure]


def test_the_cube_uses_its_copy_without_segment_unless_segments_are_filtered(snapshot) -> None:
    assert snapshot.cube.coarser is not None
    assert len(snapshot.cube.coarser) < len(snapshot.cube)
    assert "Segment" not in snapshot.cube.coarser.columns
    assert snapshot.select(Filters(country=COUNTRIES[0])).cube.smaller is not None
    assert snapshot.select(Filters(segment=SEGMENTS[0])).cube.smaller is None


def test_a_table_keeps_every_key_and_sorts_rows_by_month() -> None:
    frame = categorical(pd.DataFrame({
        "month": ["2024-02", "2024-01", None, "2024-01"], "ProductID": ["P2", "P1", "P1", None],
        "ProductName": ["b", "a", "a", "a"], "orders": [1, 2, 3, 4], "revenue_cents": [5, 6, 7, 8],
    }))  # fmt: skip
    table = Table.from_frame(frame)
    assert list(table.codes["month"]) == [0, 0, 1, 2]  # the missing month last
    assert [tuple(p) for p in table.labels[PRODUCT]] == [("P1", "a"), ("P2", "b")]
    part = table.select(Filters())
    assert part.sums((PRODUCT,), "orders").tolist() == [5, 1]  # the row without an id left out
    assert table.select(Filters(start="2024-02")).total("revenue_cents") == 5


def test_words_pack_bytes_little_endian_with_zero_padding() -> None:
    bits = np.array([[1, 0, 0, 0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0, 0, 128, 0]], dtype=np.uint8)
    assert words(bits).tolist() == [[1, 2], [1 << 63, 0]]
    assert words(np.zeros((3, 0), dtype=np.uint8)).shape == (3, 0)


def test_month_span_lists_every_month_between() -> None:
    assert figures.month_span("2023-11", "2024-02") == ("2023-11", "2023-12", "2024-01", "2024-02")
