"""The dashboard's aggregates of clean orders: additive partials, their sum, the packed customers.

Pure pandas + numpy. Every measure is an integer (orders, quantity, revenue in cents), so partials
of any split of the rows add up to exactly the aggregate of the whole; a local run calls
``combine``. The Spark job (pipeline.jobs.aggregate) computes the same sums as grouping sets over
the same keys, and the integration tests hold the two equal.

Aggregates (keys -> measures) and the filters each one can answer:

- ``cube``: month, Category, Country, AgeGroup, Segment -> orders, quantity, revenue_cents. Every
  filter.
- ``ages``: Age, AgeGroup, Country, Category, Segment -> orders, revenue_cents. Not the month range.
- ``products``: ProductID, ProductName, Category, Country, AgeGroup, Segment -> orders, quantity,
  revenue_cents. Not the month range.
- ``customers``: CustomerID, Name, Country, AgeGroup, Segment -> orders, revenue_cents (lifetime)
  and ``cells``, a bit set of the (month, Category) pairs the customer ordered in, laid out by
  ``layout``. Distinct customers are not additive; this bit set makes the "customers" KPI exact
  for every filter: a customer counts when a row of theirs matches Country/AgeGroup and its bit
  set meets the selected months x categories. One row per customer (50k here, ~50 bytes of bits
  each); at millions of customers an approximate sketch per cube cell would be the next step.
  It is built from the additive ``customer_cells`` partial (keys + month, Category), which
  is an intermediate and is not published.
- ``layout``: axis ("month" | "category"), position, value: the bit positions of ``cells``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

MEASURES: tuple[str, ...] = ("orders", "quantity", "revenue_cents")


class AggregateError(ValueError):
    """Input that cannot be aggregated; the message names what is wrong and what is there."""


@dataclass(frozen=True)
class Spec:
    keys: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.measures)


# The customer's segment (pipeline.segments), a key of every aggregate so that it filters every
# chart; NO_SEGMENT for orders of a run (or a local source) without segments.
SEGMENT = "Segment"
NO_SEGMENT = ""
ADDITIVE: dict[str, Spec] = {
    "cube": Spec(("month", "Category", "Country", "AgeGroup", SEGMENT), MEASURES),
    "ages": Spec(("Age", "AgeGroup", "Country", "Category", SEGMENT), ("orders", "revenue_cents")),
    "products": Spec(
        ("ProductID", "ProductName", "Category", "Country", "AgeGroup", SEGMENT), MEASURES
    ),
    "customer_cells": Spec(
        ("CustomerID", "Name", "Country", "AgeGroup", SEGMENT, "month", "Category"),
        ("orders", "revenue_cents"),
    ),
}
CUSTOMER_KEYS: tuple[str, ...] = ("CustomerID", "Name", "Country", "AgeGroup", SEGMENT)
CUSTOMERS_COLUMNS: tuple[str, ...] = (*CUSTOMER_KEYS, "orders", "revenue_cents", "cells")
LAYOUT_COLUMNS: tuple[str, ...] = ("axis", "position", "value")
PUBLISHED: tuple[str, ...] = ("cube", "ages", "products", "customers", "layout")

# Spark SQL type of every column an aggregate can hold; everything else is STRING.
_TYPES: dict[str, str] = {
    "Age": "INT",
    "position": "INT",
    **{m: "BIGINT" for m in MEASURES},
}
# Clean columns each partial reads.
_INPUTS: dict[str, tuple[str, ...]] = {
    "OrderDate": ("month",),
    "TotalAmount": ("revenue_cents",),
    "Quantity": ("quantity",),
}


def columns_of(name: str) -> tuple[str, ...]:
    """The columns of a published or additive aggregate, in order."""
    if name == "customers":
        return CUSTOMERS_COLUMNS
    if name == "layout":
        return LAYOUT_COLUMNS
    return ADDITIVE[name].columns


def column_types(name: str) -> dict[str, str]:
    return {c: _TYPES.get(c, "STRING") for c in columns_of(name)}


def ddl(name: str) -> str:
    """The Spark schema of an aggregate, e.g. for ``mapInPandas``."""
    return ", ".join(f"`{c}` {t}" for c, t in column_types(name).items())


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AggregateError(
            f"{what}: missing columns {missing}; present: {list(frame.columns)}. "
            "Hint: aggregate the clean output (schema.CLEAN_COLUMNS), not raw or quarantine rows."
        )


def months_of(order_dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates (datetime.date objects or datetime64) -> "YYYY-MM" text, any year."""
    values = np.asarray(order_dates)
    days = values.astype("datetime64[D]") if values.dtype.kind == "M" else values
    try:
        months = np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]")
    except (TypeError, ValueError) as exc:
        raise AggregateError(f"OrderDate holds a value that is not a date: {exc}") from None
    if np.isnat(months).any():
        at = int(np.flatnonzero(np.isnat(months))[0])
        raise AggregateError(f"OrderDate is missing at position {at}; clean rows always have one")
    distinct, inverse = np.unique(months, return_inverse=True)
    labels = np.asarray(np.datetime_as_string(distinct, unit="M"), dtype=object)
    return labels[inverse.reshape(-1)]


def revenue_cents(totals: pd.Series | np.ndarray) -> np.ndarray:
    """TotalAmount (always round(Quantity * Price, 2) in clean rows) as whole cents."""
    amounts = np.asarray(totals, dtype=np.float64)
    if not np.isfinite(amounts).all():
        at = int(np.flatnonzero(~np.isfinite(amounts))[0])
        raise AggregateError(f"TotalAmount is {amounts[at]} at position {at}; expected a number")
    return np.rint(amounts * 100).astype(np.int64)


def partial(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One additive aggregate of a batch of clean rows (any batch: a file, a Spark partition)."""
    spec = ADDITIVE[name]
    if SEGMENT not in frame.columns:
        frame = frame.assign(**{SEGMENT: NO_SEGMENT})
    sources = [c for c in spec.keys if c != "month"]
    needed = {"OrderDate"} if "month" in spec.keys else set()
    needed |= {src for src, outs in _INPUTS.items() if set(outs) & set(spec.measures)}
    _require(frame, [*sources, *sorted(needed)], f"partial {name!r}")
    data = {c: frame[c].to_numpy() for c in sources}
    if "Age" in data:
        data["Age"] = np.asarray(frame["Age"], dtype=np.int32)
    if "month" in spec.keys:
        data["month"] = months_of(frame["OrderDate"])
    data["orders"] = np.ones(len(frame), dtype=np.int64)
    if "quantity" in spec.measures:
        data["quantity"] = np.asarray(frame["Quantity"], dtype=np.int64)
    data["revenue_cents"] = revenue_cents(frame["TotalAmount"])
    rows = pd.DataFrame({c: data[c] for c in spec.columns})
    return combine([rows])


def partials(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every additive aggregate of one batch."""
    return {name: partial(name, frame) for name in ADDITIVE}


def combine(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Partials summed by their keys (every column that is not a measure), sorted by the keys."""
    frames = list(parts)
    if not frames:
        raise AggregateError("combine: no partials given; pass at least one (it may be empty)")
    columns = list(frames[0].columns)
    for other in frames[1:]:
        if list(other.columns) != columns:
            raise AggregateError(
                f"combine: partials differ in columns: {columns} vs {list(other.columns)}"
            )
    measures = [c for c in columns if c in MEASURES]
    keys = [c for c in columns if c not in MEASURES]
    whole = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not keys:
        return whole[measures].sum().to_frame().T.astype(np.int64)
    summed = whole.groupby(keys, dropna=False, sort=True, observed=True)[measures].sum()
    out = summed.reset_index()
    for m in measures:
        out[m] = out[m].astype(np.int64)
    return out[columns]


@dataclass(frozen=True)
class Layout:
    """Bit positions of a customer's ``cells``: bit ``m * len(categories) + c``."""

    months: tuple[str, ...]
    categories: tuple[str, ...]

    @property
    def n_bytes(self) -> int:
        return (len(self.months) * len(self.categories) + 7) // 8

    def selection(self, months: Iterable[str], categories: Iterable[str]) -> np.ndarray:
        """The bytes whose set bits are the given months x categories."""
        month_at = {m: i for i, m in enumerate(self.months)}
        category_at = {c: i for i, c in enumerate(self.categories)}
        bits = np.zeros(self.n_bytes * 8, dtype=bool)
        ms = [month_at[m] for m in months if m in month_at]
        cs = [category_at[c] for c in categories if c in category_at]
        for m in ms:
            bits[[m * len(self.categories) + c for c in cs]] = True
        return np.packbits(bits, bitorder="little")


def layout_of(cells: pd.DataFrame) -> Layout:
    """The months and categories present (e.g. in ``customer_cells`` or ``cube``), sorted."""
    _require(cells, ("month", "Category"), "layout")
    return Layout(
        months=tuple(sorted(cells["month"].dropna().unique())),
        categories=tuple(sorted(cells["Category"].dropna().unique())),
    )


def layout_frame(layout: Layout) -> pd.DataFrame:
    rows = [("month", i, m) for i, m in enumerate(layout.months)]
    rows += [("category", i, c) for i, c in enumerate(layout.categories)]
    frame = pd.DataFrame(rows, columns=list(LAYOUT_COLUMNS))
    frame["position"] = frame["position"].astype(np.int32)
    return frame


def layout_from_frame(frame: pd.DataFrame) -> Layout:
    _require(frame, LAYOUT_COLUMNS, "layout")
    ordered = frame.sort_values(["axis", "position"], kind="stable")

    def axis(name: str) -> tuple[str, ...]:
        part = ordered[ordered["axis"] == name]
        if list(part["position"]) != list(range(len(part))):
            raise AggregateError(f"layout axis {name!r} has gaps: {list(part['position'])}")
        return tuple(str(v) for v in part["value"])

    return Layout(months=axis("month"), categories=axis("category"))


def pack_customers(cells: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """``customer_cells`` rows (combined or not) -> one row per customer with its bit set.

    Every row of a customer must be in ``cells`` (Spark: repartition by CustomerID first).
    """
    _require(cells, ADDITIVE["customer_cells"].columns, "pack_customers")
    keys = list(CUSTOMER_KEYS)
    if cells.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in CUSTOMERS_COLUMNS})
    grouped = cells.groupby(keys, dropna=False, sort=True, observed=True)
    totals = grouped[["orders", "revenue_cents"]].sum().reset_index()
    row = grouped.ngroup().to_numpy()
    month_at = pd.Index(layout.months).get_indexer(cells["month"])
    category_at = pd.Index(layout.categories).get_indexer(cells["Category"])
    if (month_at < 0).any() or (category_at < 0).any():
        raise AggregateError(
            "pack_customers: a month or category is not in the layout; "
            f"layout months {layout.months[:3]}..., categories {layout.categories}"
        )
    bit = month_at * len(layout.categories) + category_at
    bits = np.zeros((len(totals), layout.n_bytes), dtype=np.uint8)
    np.bitwise_or.at(bits, (row, bit // 8), (1 << (bit % 8)).astype(np.uint8))
    width = 2 * layout.n_bytes
    text = bits.tobytes().hex()
    totals["cells"] = [text[i * width : (i + 1) * width] for i in range(len(totals))]
    for m in ("orders", "revenue_cents"):
        totals[m] = totals[m].astype(np.int64)
    return totals[list(CUSTOMERS_COLUMNS)]


def cell_matrix(cells: Iterable[str], layout: Layout) -> np.ndarray:
    """The hex bit sets of ``customers.cells`` as a (rows, layout.n_bytes) uint8 matrix."""
    texts = list(cells)
    width = 2 * layout.n_bytes
    wrong = next((i for i, t in enumerate(texts) if len(t) != width), None)
    if wrong is not None:
        raise AggregateError(
            f"customers.cells at row {wrong} has {len(texts[wrong])} hex digits, the layout "
            f"({len(layout.months)} months x {len(layout.categories)} categories) needs {width}"
        )
    raw = bytes.fromhex("".join(texts))
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(texts), layout.n_bytes)


def _dtype(column: str) -> str:
    kind = _TYPES.get(column, "STRING")
    return {"INT": "int32", "BIGINT": "int64"}.get(kind, "object")


def build_aggregates(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every published aggregate of a whole clean frame, in pandas (the local equivalent of
    ``pipeline.jobs.aggregate``)."""
    parts = partials(frame)
    layout = layout_of(parts["customer_cells"])
    return {
        "cube": parts["cube"],
        "ages": parts["ages"],
        "products": parts["products"],
        "customers": pack_customers(parts["customer_cells"], layout),
        "layout": layout_frame(layout),
    }


def totals(aggregates: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Orders, quantity and revenue in cents over the whole cube: what must equal the clean rows."""
    cube = aggregates["cube"]
    return {m: int(cube[m].sum()) for m in MEASURES}


def check(aggregates: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Validate a set of published aggregates before they are published; returns the totals.

    Each of cube, ages, products and customers partitions the same clean rows, so their orders and
    revenue must agree exactly; the customers' bit sets must fit the layout.
    """
    missing = [name for name in PUBLISHED if name not in aggregates]
    if missing:
        raise AggregateError(f"aggregates {missing} are missing; present: {sorted(aggregates)}")
    for name in PUBLISHED:
        _require(aggregates[name], columns_of(name), f"aggregate {name!r}")
    sums = {
        name: (int(aggregates[name]["orders"].sum()), int(aggregates[name]["revenue_cents"].sum()))
        for name in ("cube", "ages", "products", "customers")
    }
    if len(set(sums.values())) != 1:
        raise AggregateError(
            f"aggregates disagree on (orders, revenue_cents): {sums}. "
            "Hint: they must come from the same clean rows; re-run the aggregate job."
        )
    cell_matrix(aggregates["customers"]["cells"], layout_from_frame(aggregates["layout"]))
    return totals(aggregates)
