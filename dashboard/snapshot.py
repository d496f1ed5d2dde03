"""The aggregates of one pipeline run, prepared once for fast filtering, and what a filter selects.

Pure: frames in (``pipeline.aggregate`` shapes), frames out. Key columns become categoricals so a
filter is an integer comparison and a chart a small group-by over at most a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dashboard.filters import Filters, Vocabulary
from pipeline import aggregate, segments

_KEYS = ("month", "Category", "Country", "AgeGroup", "ProductID", "ProductName", "Age", "Segment")


class SnapshotError(ValueError):
    """Aggregates that cannot be served (incomplete, inconsistent); the message says which."""


def categorical(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    for column in _KEYS:
        if column in out.columns:
            out[column] = out[column].astype("category")
    return out


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
    cube: pd.DataFrame
    ages: pd.DataFrame
    products: pd.DataFrame
    customers: Customers
    customer_rows: np.ndarray  # rows of customers with an order in the selection
    customer_count: int  # distinct CustomerIDs among them: exact


@dataclass(frozen=True, eq=False)
class Snapshot:
    run_id: str
    cube: pd.DataFrame
    ages: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame  # without the bit sets
    customer_arrays: Customers
    cells: np.ndarray  # customers' bit sets, (len(customers), layout.n_bytes) uint8
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
            cube=cube,
            ages=categorical(frames["ages"]),
            products=categorical(frames["products"]),
            customers=customers,
            customer_arrays=Customers.from_frame(customers),
            cells=cells,
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
        return int(self.cube["orders"].sum())

    def select(self, filters: Filters) -> Selection:
        cube = filters.apply(self.cube)
        # customers: Country/AgeGroup are columns; months x categories are bits of `cells`.
        picked = filters.mask(self.customers)
        months = filters.in_range(self.layout.months)
        categories = (filters.category,) if filters.category else self.layout.categories
        wanted = self.layout.selection(months, categories)
        if self.cells.shape[1]:
            picked &= (self.cells & wanted).any(axis=1)
        else:
            picked &= False
        rows = np.flatnonzero(picked)
        return Selection(
            filters=filters,
            cube=cube,
            ages=filters.apply(self.ages),
            products=filters.apply(self.products),
            customers=self.customer_arrays,
            customer_rows=rows,
            customer_count=self.customer_arrays.count(rows),
        )
