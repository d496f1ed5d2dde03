"""The EDA report's numbers, summed chunk by chunk over clean orders: the dashboard's additive
aggregates (``pipeline.aggregate`` partials, combined as chunks arrive) and order counts per order
value band. Pure; what it holds is the sums, never the rows, so a scan of millions of orders needs
the memory of one chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import aggregate

# Order value bands (TotalAmount): [edge_i, edge_i+1), the last one open.
ORDER_VALUE_EDGES: tuple[float, ...] = (0, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)
SUMMED: tuple[str, ...] = ("cube", "ages", "products")


def order_value_counts(totals: pd.Series | np.ndarray) -> np.ndarray:
    """Orders per ORDER_VALUE_EDGES band."""
    bands = np.searchsorted(ORDER_VALUE_EDGES, np.asarray(totals, dtype=np.float64), "right") - 1
    return np.bincount(np.clip(bands, 0, None), minlength=len(ORDER_VALUE_EDGES))


def band_labels() -> list[str]:
    edges = [f"{e:,.0f}" for e in ORDER_VALUE_EDGES]
    return [f"{a}-{b}" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+"]


@dataclass
class EdaTotals:
    rows: int = 0
    parts: dict[str, pd.DataFrame] = field(default_factory=dict)
    order_values: np.ndarray = field(
        default_factory=lambda: np.zeros(len(ORDER_VALUE_EDGES), dtype=np.int64)
    )

    def add(self, chunk: pd.DataFrame) -> None:
        """Fold one chunk of clean orders into the sums."""
        if chunk.empty:
            return
        for name in SUMMED:
            part = aggregate.partial(name, chunk)
            known = self.parts.get(name)
            self.parts[name] = part if known is None else aggregate.combine([known, part])
        self.order_values += order_value_counts(chunk["TotalAmount"])
        self.rows += len(chunk)
