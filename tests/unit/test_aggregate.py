"""The aggregates: additive partials (any split sums to the whole), the packed customers, the
layout, and their HBase cell encoding."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from dashboard_data import clean_orders
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hbase_codec import ESCAPED_TEXT, parse_line

from pipeline import aggregate, segments
from pipeline.adapters import hbase_aggregates
from pipeline.schema import CLEAN_COLUMNS

pytestmark = pytest.mark.unit

# Example counts come from the loaded profile (tests/conftest.py: "dev" 100, "ci" 1,000).
PROPERTY = settings(deadline=None)

CUSTOMERS = tuple(f"C{i}" for i in range(6))
COUNTRIES = ("Japan", "Côte d'Ivoire", "A|B")  # a key part with the HBase key separator
CATEGORIES = ("Books", "Home & Kitchen", "Toys")
PRODUCTS = (("P1", "Kite", "Toys"), ("P2", "Atlas", "Books"), ("P3", "Pan", "Home & Kitchen"))
FIRST_DAY = dt.date(2023, 11, 1)


@st.composite
def clean_row(draw: st.DrawFn) -> dict[str, object]:
    customer = draw(st.sampled_from(CUSTOMERS))
    age = 18 + 7 * CUSTOMERS.index(customer)  # a customer's attributes agree across rows
    pid, name, category = draw(st.sampled_from(PRODUCTS))
    quantity = draw(st.integers(1, 8))
    cents = draw(st.integers(1, 50_000))
    return {
        "row_key": "",
        "CustomerID": customer,
        "Name": f"Name of {customer}",
        "Age": age,
        "AgeGroup": aggregate_age_group(age),
        "Country": COUNTRIES[CUSTOMERS.index(customer) % len(COUNTRIES)],
        "RegistrationDate": dt.date(2023, 1, 1),
        "OrderDate": FIRST_DAY + dt.timedelta(days=draw(st.integers(0, 120))),
        "Quantity": quantity,
        "TotalAmount": round(cents * quantity / 100, 2),
        "TotalAmountNormalized": 0.0,
        "ProductID": pid,
        "ProductName": name,
        "Category": category,
        "Price": cents / 100,
        "ShippingAddress": "1 Main St",
        "ShippingDate": FIRST_DAY,
    }


def aggregate_age_group(age: int) -> str:
    from pipeline.clean import age_groups

    return str(age_groups(np.array([age]))[0])


def to_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(CLEAN_COLUMNS))
    frame["row_key"] = [f"r{i}" for i in range(len(frame))]
    return frame.astype({"Age": "int32", "Quantity": "int32"})


clean_frames = st.lists(clean_row(), min_size=1, max_size=60).map(to_frame)
split_frames = st.tuples(clean_frames, st.lists(st.integers(0, 60), max_size=4)).map(
    lambda pair: (pair[0], sorted({c % (len(pair[0]) + 1) for c in pair[1]}))
)


def pieces(frame: pd.DataFrame, cuts: list[int]) -> list[pd.DataFrame]:
    bounds = [0, *cuts, len(frame)]
    return [frame.iloc[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@pytest.mark.parametrize("name", list(aggregate.ADDITIVE))
@PROPERTY
@given(case=split_frames)
def test_partials_of_any_split_combine_to_the_partial_of_the_whole(name, case) -> None:
    frame, cuts = case
    parts = [aggregate.partial(name, piece) for piece in pieces(frame, cuts)]
    pd.testing.assert_frame_equal(aggregate.combine(parts), aggregate.partial(name, frame))


@PROPERTY
@given(case=split_frames, order=st.randoms())
def test_combine_ignores_the_order_of_the_partials(case, order) -> None:
    frame, cuts = case
    parts = [aggregate.partial("cube", piece) for piece in pieces(frame, cuts)]
    shuffled = parts[:]
    order.shuffle(shuffled)
    pd.testing.assert_frame_equal(aggregate.combine(shuffled), aggregate.combine(parts))


@PROPERTY
@given(frame=clean_frames)
def test_combining_a_combined_partial_again_changes_nothing(frame) -> None:
    once = aggregate.partial("products", frame)
    pd.testing.assert_frame_equal(aggregate.combine([once]), once)
    pd.testing.assert_frame_equal(aggregate.combine([once, once.iloc[0:0]]), once)


@PROPERTY
@given(case=split_frames)
def test_customers_packed_from_split_cells_equal_those_of_the_whole(case) -> None:
    frame, cuts = case
    whole = aggregate.partial("customer_cells", frame)
    layout = aggregate.layout_of(whole)
    # Spark: partials per partition, summed by key, then packed per CustomerID partition.
    cells = aggregate.combine(
        [aggregate.partial("customer_cells", piece) for piece in pieces(frame, cuts)]
    )
    by_customer = [cells[cells["CustomerID"] == c] for c in cells["CustomerID"].unique()]
    packed = pd.concat([aggregate.pack_customers(p, layout) for p in by_customer])
    expected = aggregate.pack_customers(whole, layout)
    pd.testing.assert_frame_equal(
        packed.sort_values("CustomerID").reset_index(drop=True), expected.reset_index(drop=True)
    )


@PROPERTY
@given(frame=clean_frames)
def test_every_aggregate_holds_every_order_and_cent(frame) -> None:
    built = aggregate.build_aggregates(frame)
    cents = round(float(frame["TotalAmount"].sum()) * 100)
    for name in ("cube", "ages", "products", "customers"):
        assert int(built[name]["orders"].sum()) == len(frame), name
        assert int(built[name]["revenue_cents"].sum()) == cents, name
    assert aggregate.check(built) == {
        "orders": len(frame),
        "quantity": int(frame["Quantity"].sum()),
        "revenue_cents": cents,
    }


@PROPERTY
@given(frame=clean_frames)
def test_a_customers_bits_are_exactly_the_months_and_categories_they_ordered_in(frame) -> None:
    built = aggregate.build_aggregates(frame)
    layout = aggregate.layout_from_frame(built["layout"])
    bits = aggregate.cell_matrix(built["customers"]["cells"], layout)
    months = aggregate.months_of(frame["OrderDate"])
    for row, customer in enumerate(built["customers"]["CustomerID"]):
        theirs = frame["CustomerID"] == customer
        for m in layout.months:
            for c in layout.categories:
                ordered = bool((theirs & (months == m) & (frame["Category"] == c)).any())
                assert bool((bits[row] & layout.selection([m], [c])).any()) == ordered


def test_the_cube_of_realistic_orders_is_keyed_by_month_category_country_age_group() -> None:
    frame = clean_orders(rows=500)
    cube = aggregate.partial("cube", frame)
    keys = ["month", "Category", "Country", "AgeGroup", "Segment"]
    assert list(cube.columns) == [*keys, *aggregate.MEASURES]
    assert not cube.duplicated(keys).any()
    assert set(cube["Segment"]) == {aggregate.NO_SEGMENT}, "orders without segments"
    assert cube["month"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert cube["orders"].sum() == 500
    japan = frame[(frame["Country"] == "Japan") & (frame["Category"] == "Books")]
    got = cube[(cube["Country"] == "Japan") & (cube["Category"] == "Books")]
    assert got["revenue_cents"].sum() == round(japan["TotalAmount"].sum() * 100)
    assert got["quantity"].sum() == japan["Quantity"].sum()


def test_the_segment_splits_every_aggregate_and_the_totals_stay() -> None:
    frame = clean_orders(rows=600)
    big = frame.groupby("CustomerID")["TotalAmount"].transform("sum") > 2_000
    segmented = frame.assign(Segment=np.where(big, "champions", "new"))
    plain, split = aggregate.build_aggregates(frame), aggregate.build_aggregates(segmented)
    assert aggregate.check(split) == aggregate.check(plain)
    for name in ("cube", "ages", "products", "customers"):
        assert set(split[name]["Segment"]) == {"champions", "new"}, name
    customers = split["customers"].set_index("CustomerID")["Segment"]
    assert customers.to_dict() == segmented.groupby("CustomerID")["Segment"].first().to_dict()


def test_months_of_accepts_date_objects_and_datetime64_in_any_year() -> None:
    days = [dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    assert list(aggregate.months_of(pd.Series(days, dtype=object))) == [
        "2024-02",
        "0001-01",
        "9999-12",
    ]
    stamps = pd.Series(pd.to_datetime(["2024-02-29", "2023-12-01"]))
    assert list(aggregate.months_of(stamps)) == ["2024-02", "2023-12"]


def test_a_missing_order_date_or_amount_names_the_position() -> None:
    frame = clean_orders(rows=5)
    frame.loc[3, "OrderDate"] = None
    with pytest.raises(aggregate.AggregateError, match="OrderDate is missing at position 3"):
        aggregate.partial("cube", frame)
    frame = clean_orders(rows=5)
    frame.loc[2, "TotalAmount"] = float("nan")
    with pytest.raises(aggregate.AggregateError, match="TotalAmount is nan at position 2"):
        aggregate.partial("cube", frame)


def test_missing_columns_are_named_with_the_present_ones() -> None:
    with pytest.raises(aggregate.AggregateError, match=r"missing columns \[.*'Country'.*present"):
        aggregate.partial("cube", pd.DataFrame({"OrderDate": [], "TotalAmount": []}))


def test_inconsistent_aggregates_are_refused_before_publishing() -> None:
    built = aggregate.build_aggregates(clean_orders(rows=50))
    built["ages"] = built["ages"].iloc[1:]
    with pytest.raises(aggregate.AggregateError, match="disagree on"):
        aggregate.check(built)
    with pytest.raises(aggregate.AggregateError, match=r"\['layout'\] are missing"):
        aggregate.check({k: v for k, v in built.items() if k != "layout"})


def test_layout_round_trips_through_its_frame_and_bits_must_fit_it() -> None:
    layout = aggregate.Layout(("2023-01", "2023-02", "2023-03"), ("Books", "Toys", "X"))
    assert aggregate.layout_from_frame(aggregate.layout_frame(layout)) == layout
    assert layout.n_bytes == 2
    assert aggregate.cell_matrix(["ff01"], layout).tolist() == [[255, 1]]
    with pytest.raises(aggregate.AggregateError, match="has 2 hex digits.*needs 4"):
        aggregate.cell_matrix(["ff"], layout)


def test_the_spark_schemas_name_every_column_a_partial_returns() -> None:
    frame = clean_orders(rows=50)
    for name in aggregate.ADDITIVE:
        got = aggregate.partial(name, frame)
        assert list(got.columns) == list(aggregate.column_types(name)), name
    assert aggregate.ddl("ages").startswith("`Age` INT, `AgeGroup` STRING")
    assert "`revenue_cents` BIGINT" in aggregate.ddl("cube")


@pytest.mark.parametrize("name", aggregate.PUBLISHED)
def test_aggregates_round_trip_through_hbase_cells(name: str) -> None:
    frame = aggregate.build_aggregates(clean_orders(rows=300))[name]
    rows = list(hbase_aggregates.encode_rows(name, frame, "run-1"))
    keys = [key for key, _ in rows]
    assert len(set(keys)) == len(frame), "one row key per aggregate row"
    assert all(key.startswith(f"{name}|".encode()) for key in keys)
    back, runs = hbase_aggregates.decode_rows(name, rows)
    assert runs == {"run-1"}
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), check_dtype=False)
    assert list(back.dtypes.astype(str)) == list(frame.dtypes.astype(str))


def test_segment_tables_round_trip_through_hbase_cells_floats_exactly() -> None:
    centroids = pd.DataFrame(
        {c: [1, 2] if t in ("INT", "BIGINT") else [0.1, -1 / 3] if t == "DOUBLE" else ["a", "b"]
         for c, t in segments.TABLES["segment_centroids"].items()}
    )  # fmt: skip
    rows = list(hbase_aggregates.encode_rows("segment_centroids", centroids, "run-1"))
    assert [key for key, _ in rows] == [b"segment_centroids|1", b"segment_centroids|2"]
    back, _ = hbase_aggregates.decode_rows("segment_centroids", rows)
    pd.testing.assert_frame_equal(back, centroids, check_dtype=False)
    assert back["centre_tenure"].tolist() == [0.1, -1 / 3]


def test_row_key_parts_are_escaped_so_different_keys_never_collide() -> None:
    assert hbase_aggregates.row_key("cube", ["A|B", "C"]) != hbase_aggregates.row_key(
        "cube", ["A", "B|C"]
    )
    assert hbase_aggregates.row_key("cube", ["50%", None]) == b"cube|50%25|%N"


def published_frames() -> dict[str, pd.DataFrame]:
    """Every published table: the aggregates of some orders, and segment tables with nulls."""
    frames = aggregate.build_aggregates(clean_orders(rows=300))
    for name in segments.TABLES:
        types = segments.TABLES[name]
        frames[name] = pd.DataFrame(
            {c: [1, 2] if t in ("INT", "BIGINT") else [0.1, np.nan] if t == "DOUBLE"
                else ["a\tb\\", None] for c, t in types.items()}
        )  # fmt: skip
    return frames


def read_lines(lines: hbase_aggregates.CellLines) -> dict[bytes, dict[bytes, bytes]]:
    """What the bulk loader stores from the lines: per key, its cells."""
    stored = {}
    for line in lines.lines:
        key, *values = parse_line(line)
        assert key is not None
        stored[key] = {c: v for c, v in zip(lines.columns, values, strict=True) if v is not None}
    return stored


@given(
    st.lists(st.tuples(ESCAPED_TEXT, st.none() | ESCAPED_TEXT), max_size=6),
    st.none() | ESCAPED_TEXT.filter(bool),
)
def test_the_bulk_lines_hold_the_cells_the_thrift_path_writes(
    layout: list[tuple[str, str | None]], run_id: str | None
) -> None:
    """Keys and values with tabs, newlines, backslashes and nulls: each line reads back as the
    row encode_rows gives, sorted by key, the columns in HBase's order."""
    frames = published_frames()
    frames["layout"] = pd.DataFrame(
        {"axis": [a for a, _ in layout], "position": range(len(layout)),
         "value": [v for _, v in layout]}
    )  # fmt: skip
    run = run_id or "run-1"
    names = [*aggregate.PUBLISHED, *segments.TABLES]
    lines = hbase_aggregates.cell_lines(frames, names, run)
    expected = {
        key: cells
        for name in names
        for key, cells in hbase_aggregates.encode_rows(name, frames[name], run)
    }
    assert read_lines(lines) == expected
    assert lines.keys == sorted(expected) == [parse_line(line)[0] for line in lines.lines]
    assert lines.columns == sorted(lines.columns)
    assert lines.rows == {name: len(frames[name]) for name in names}
