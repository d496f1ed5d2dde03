"""The aggregates of one pipeline run, prepared once for fast filtering, and what a filter selects.

Pure: frames in (``pipeline.aggregate`` shapes), arrays out. Each aggregate becomes a ``Table`` of
numpy arrays (integer codes per key, rows in month order), so a request is a slice, a few integer
comparisons and ``bincount`` sums, with no pandas on its path: pandas' fixed cost per operation
made most of a request's ~20 ms at 6M orders (184k cube rows), whatever the row count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from dashboard.filters import FILTER_COLUMNS, Filters, Vocabulary
from pipeline import aggregate, segments

_KEYS = ("month", "Category", "Country", "AgeGroup", "ProductID", "ProductName", "Age", "Segment")
# Equality filters: the aggregate column each one compares (the month range is apart).
_EQUALS = tuple((name, column) for name, column in FILTER_COLUMNS.items() if column != "month")
# The cube's rows with orders, for the monthly charts (the ``_monthly`` charts count only those).
ROWS_WITH_ORDERS, REVENUE_WITH_ORDERS = "rows_with_orders", "revenue_cents_with_orders"
# A product is its (ProductID, ProductName) pair: one axis, never a dense id x name grid.
PRODUCT = "product"


class SnapshotError(ValueError):
    """Aggregates that cannot be served (incomplete, inconsistent); the message says which."""


def categorical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    for column in _KEYS:
        if column in out.columns:
            out[column] = out[column].astype("category")
    return out


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A categorical key's labels and each row's code into them; a missing key gets
    ``len(labels)``, one past the labels, so sums can drop it as a last bucket."""
    labels = np.asarray(column.cat.categories, dtype=object)
    codes = column.cat.codes.to_numpy().astype(np.intp)
    codes[codes < 0] = len(labels)
    return labels, codes


def _flat(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """Row-major positions of the code combinations (``np.ravel_multi_index``, 5x faster)."""
    flat = np.asarray(codes[0], dtype=np.intp)
    for more, size in zip(codes[1:], sizes[1:], strict=True):
        flat = flat * size + more
    return flat


def _joint(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The combinations of several keys present in the rows, in the keys' label order, as one
    axis (labels are tuples); a row missing any of the keys gets the code past the labels."""
    sizes = [len(labels) + 1 for labels, _ in parts]
    flat = _flat([codes for _, codes in parts], sizes)
    missing = np.logical_or.reduce([codes == len(labels) for labels, codes in parts])
    present, codes = np.unique(np.where(missing, -1, flat), return_inverse=True)
    known = present >= 0
    at = np.unravel_index(present[known], sizes)
    labels = np.empty(int(known.sum()), dtype=object)
    labels[:] = list(zip(*(lab[i] for (lab, _), i in zip(parts, at, strict=True)), strict=True))
    codes = codes.reshape(-1) - (len(present) - len(labels))  # -1 was the first value
    codes[codes < 0] = len(labels)
    return labels, codes.astype(np.intp)


@dataclass(frozen=True, eq=False)
class Table:
    """One aggregate as arrays: per axis (a key column, or ``PRODUCT``) its sorted labels and
    each row's code, per measure its values as float64 (``bincount`` weights; exact while sums
    stay below 2**53). Rows are in month order, so a month range is one slice; within a month
    they are shuffled (a fixed permutation): ``bincount`` adds to one bin after the other, so
    the long runs of equal keys of a sorted aggregate made its sums three times slower."""

    columns: tuple[str, ...]  # the aggregate's columns: which filters it can apply
    labels: Mapping[str, np.ndarray]
    codes: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]
    coarser: Table | None = None  # summed over a key, for the sums that need not split by it

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Table:
        """``frame``: an aggregate (``pipeline.aggregate`` shapes)."""
        frame = categorical(frame)
        keys = {c: _codes(frame[c]) for c in frame.columns if c in _KEYS}
        measures = {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns if c not in keys}
        if "month" in keys and "orders" in measures:
            with_orders = measures["orders"] > 0
            measures[ROWS_WITH_ORDERS] = with_orders.astype(np.float64)
            measures[REVENUE_WITH_ORDERS] = np.where(with_orders, measures["revenue_cents"], 0.0)
        labels = {column: labels for column, (labels, _) in keys.items()}
        return cls._ordered(tuple(frame.columns), labels, {c: k for c, (_, k) in keys.items()},
                            measures)  # fmt: skip

    @classmethod
    def _ordered(
        cls,
        columns: tuple[str, ...],
        labels: dict[str, np.ndarray],
        codes: dict[str, np.ndarray],
        values: dict[str, np.ndarray],
    ) -> Table:
        """The rows in month order (shuffled within a month), with the ``PRODUCT`` axis."""
        if "month" in codes:
            shuffled = np.random.default_rng(0).permutation(len(codes["month"]))
            order = np.lexsort((shuffled, codes["month"]))
            codes = {c: k[order] for c, k in codes.items()}
            values = {m: v[order] for m, v in values.items()}
        if "ProductID" in codes and "ProductName" in codes:
            parts = [(labels[c], codes[c]) for c in ("ProductID", "ProductName")]
            labels[PRODUCT], codes[PRODUCT] = _joint(parts)
        return cls(columns=columns, labels=labels, codes=codes, values=values)

    def summed_over(self, column: str) -> Table:
        """This table with a ``coarser`` copy summed over ``column``: the cube without Segment
        has a quarter of its rows, and most requests neither filter nor split by segment."""
        kept = [c for c in self.columns if c in self.codes and c != column]
        shape = [len(self.labels[c]) + 1 for c in kept]
        flat = _flat([self.codes[c] for c in kept], shape)
        groups, inverse = np.unique(flat, return_inverse=True)
        codes = dict(zip(kept, np.unravel_index(groups, shape), strict=True))
        values = {m: np.bincount(inverse.reshape(-1), weights=v, minlength=len(groups))
                  for m, v in self.values.items()}  # fmt: skip
        columns = tuple(c for c in self.columns if c != column)
        coarser = Table._ordered(columns, {c: self.labels[c] for c in kept}, codes, values)
        return replace(self, coarser=coarser)

    def __len__(self) -> int:
        return len(next(iter(self.values.values())))

    def _months(self, filters: Filters) -> slice:
        """The rows within the month range (all rows when the table has no month)."""
        if "month" not in self.codes or (filters.start is None and filters.end is None):
            return slice(0, len(self))
        chosen = np.flatnonzero(
            np.isin(self.labels["month"], filters.in_range(self.labels["month"]))
        )
        if not len(chosen):
            return slice(0, 0)
        # Labels are sorted like the months, so the chosen ones are the codes chosen[0]..[-1].
        months = self.codes["month"]
        first, last = np.searchsorted(months, (chosen[0], chosen[-1] + 1))
        return slice(int(first), int(last))

    def select(self, filters: Filters) -> Part:
        """The rows matching every filter whose column the table has (``Filters.mask``)."""
        rows = self._months(filters)
        keep: np.ndarray | None = None
        for name, column in _EQUALS:
            value = getattr(filters, name)
            if value is None or column not in self.codes:
                continue
            at = np.flatnonzero(self.labels[column] == value)
            code = at[0] if len(at) else -1  # not in the table: no row matches
            match = self.codes[column][rows] == code
            keep = match if keep is None else keep & match
        coarser = self.coarser
        if coarser is not None and filters.ignored_by(coarser.columns) == filters.ignored_by(
            self.columns
        ):
            smaller = coarser.select(filters)
        else:
            smaller = None
        chosen = rows if keep is None else rows.start + np.flatnonzero(keep)
        return Part(self, chosen, smaller)


@dataclass(frozen=True, eq=False)
class Part:
    """The rows of a ``Table`` that one set of filters selects (a slice, or their positions),
    and the same selection in its ``coarser`` table when that one applies every filter too.

    A page asks one selection for some twenty sums over a few columns: each column's selected
    rows are gathered once, and each sum is made once (`_kept`)."""

    table: Table
    rows: slice | np.ndarray
    smaller: Part | None = None
    _kept: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.table.columns

    def _once(self, key: tuple[Any, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._kept:
            self._kept[key] = make()
        return self._kept[key]

    def _values(self, measure: str) -> np.ndarray:
        return self._once(("values", measure), lambda: self.table.values[measure][self.rows])

    def _codes(self, axis: str) -> np.ndarray:
        return self._once(("codes", axis), lambda: self.table.codes[axis][self.rows])

    def total(self, measure: str) -> int:
        if self.smaller is not None:
            return self.smaller.total(measure)
        return int(np.rint(self._values(measure).sum()))

    def sums(self, axes: Sequence[str], measure: str) -> np.ndarray:
        """``measure`` summed per combination of the axes' labels: an int64 array with one
        dimension per axis, 0 where no row is; rows missing a key are left out. The caller
        must not change the array (a second call returns the same one)."""
        if self.smaller is not None and all(a in self.smaller.table.codes for a in axes):
            return self.smaller.sums(axes, measure)
        return self._once(("sums", tuple(axes), measure), lambda: self._summed(axes, measure))

    def _summed(self, axes: Sequence[str], measure: str) -> np.ndarray:
        shape = tuple(len(self.table.labels[a]) + 1 for a in axes)
        flat = self._once(
            ("flat", tuple(axes)), lambda: _flat([self._codes(a) for a in axes], shape)
        )
        sums = np.bincount(flat, weights=self._values(measure), minlength=int(np.prod(shape)))
        known = tuple(slice(0, size - 1) for size in shape)
        return np.rint(sums).astype(np.int64).reshape(shape)[known]


def words(bits: np.ndarray) -> np.ndarray:
    """Bit sets as uint8 bytes along the last axis -> little-endian uint64 words (zero-padded):
    testing a customer's bits is then a few word operations instead of one per byte."""
    padding = [(0, 0)] * (bits.ndim - 1) + [(0, -bits.shape[-1] % 8)]
    return np.pad(bits, padding).view("<u8")


@dataclass(frozen=True, eq=False)
class Customers:
    """The ``customers`` aggregate as arrays: one entry per row, ``code`` per distinct CustomerID
    (codes follow the sorted CustomerIDs)."""

    ids: np.ndarray  # CustomerID per code
    names: np.ndarray  # Name per code (of the customer's first row)
    code: np.ndarray  # per row
    orders: np.ndarray  # per row, lifetime
    revenue_cents: np.ndarray  # per row, lifetime

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Customers:
        code, ids = pd.factorize(frame["CustomerID"], sort=True)
        first = np.unique(code, return_index=True)[1]
        return cls(
            ids=np.asarray(ids, dtype=object),
            names=frame["Name"].to_numpy(dtype=object)[first],
            code=code,
            orders=frame["orders"].to_numpy(dtype=np.int64),
            revenue_cents=frame["revenue_cents"].to_numpy(dtype=np.int64),
        )

    def count(self, rows: np.ndarray) -> int:
        """Distinct customers among the given rows."""
        return int(np.count_nonzero(np.bincount(self.code[rows], minlength=len(self.ids))))


@dataclass(frozen=True, eq=False)
class Selection:
    """The aggregate rows one set of filters selects."""

    filters: Filters
    cube: Part
    ages: Part
    products: Part
    customers: Customers
    customer_rows: np.ndarray  # rows of customers with an order in the selection
    customer_count: int  # distinct CustomerIDs among them: exact


@dataclass(frozen=True, eq=False)
class Snapshot:
    run_id: str
    cube: Table
    ages: Table
    products: Table
    customers: Table  # the customers' keys (Country, AgeGroup, Segment) and lifetime measures
    customer_arrays: Customers
    cells: np.ndarray  # customers' bit sets as words (``words``), one row per customer
    layout: aggregate.Layout
    vocabulary: Vocabulary
    segments: pd.DataFrame  # one row per customer; empty when the run has no segments
    segment_centroids: pd.DataFrame

    @classmethod
    def from_aggregates(cls, frames: Mapping[str, pd.DataFrame], run_id: str) -> Snapshot:
        tables = {
            name: frames.get(name, pd.DataFrame(columns=list(columns)))
            for name, columns in segments.TABLES.items()
        }
        try:
            aggregate.check(frames)
            if len(tables["segments"]):
                segments.check_tables(tables, frames["customers"]["CustomerID"])
            layout = aggregate.layout_from_frame(frames["layout"])
            cells = aggregate.cell_matrix(frames["customers"]["cells"], layout)
        except (aggregate.AggregateError, segments.SegmentError) as exc:
            raise SnapshotError(f"aggregates of run {run_id!r} cannot be served: {exc}") from exc
        cube = categorical(frames["cube"])
        customers = categorical(frames["customers"].drop(columns=["cells"]))
        return cls(
            run_id=run_id,
            cube=Table.from_frame(cube).summed_over(aggregate.SEGMENT),
            ages=Table.from_frame(frames["ages"]),
            products=Table.from_frame(frames["products"]),
            customers=Table.from_frame(customers.drop(columns=["CustomerID", "Name"])),
            customer_arrays=Customers.from_frame(customers),
            cells=words(cells),
            layout=layout,
            vocabulary=Vocabulary.from_cube(cube),
            segments=tables["segments"].sort_values("CustomerID").reset_index(drop=True),
            segment_centroids=tables["segment_centroids"],
        )

    def segment_of(self, customer_id: str) -> dict[str, Any] | None:
        """A customer's segment and RFM values, or None (unknown, or no segments published)."""
        ids = self.segments["CustomerID"]
        at = int(ids.searchsorted(customer_id))
        if at == len(ids) or ids.iloc[at] != customer_id:
            return None
        return {k: (v.item() if hasattr(v, "item") else v)
                for k, v in self.segments.iloc[at].items()}  # fmt: skip

    @property
    def orders(self) -> int:
        return self.cube.select(Filters()).total("orders")

    def select(self, filters: Filters) -> Selection:
        # customers: Country/AgeGroup/Segment are columns; months x categories are bits of `cells`.
        rows = np.arange(len(self.customers))[self.customers.select(filters).rows]
        months = filters.in_range(self.layout.months)
        categories = (filters.category,) if filters.category else self.layout.categories
        wanted = words(self.layout.selection(months, categories))
        met = np.zeros(len(rows), dtype=bool)
        for word in np.flatnonzero(wanted):  # a word at a time: a few columns, not every byte
            met |= (self.cells[rows, word] & wanted[word]) != 0
        rows = rows[met]
        return Selection(
            filters=filters,
            cube=self.cube.select(filters),
            ages=self.ages.select(filters),
            products=self.products.select(filters),
            customers=self.customer_arrays,
            customer_rows=rows,
            customer_count=self.customer_arrays.count(rows),
        )
