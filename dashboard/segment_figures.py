"""The segments page's numbers and figures, from a run's published segment tables. Pure.

``segment_summary`` is what ``/api/segments`` returns and the page draws: per segment its size,
revenue and their shares, the mean RFM values, the spread of each (5th, 25th, 50th, 75th and 95th
percentiles: a box plot needs five numbers, not 50,000 points) and its centre in feature space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dashboard.figures import TEMPLATE, Figure
from pipeline.segments import FEATURES

MEASURE_LABELS: dict[str, str] = {
    "recency_days": "Days since the last order",
    "frequency": "Orders",
    "monetary": "Sales",
    "tenure_days": "Days since registration",
}
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def segment_summary(customers: pd.DataFrame, centroids: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per segment, the largest revenue first; [] when the run has no segments."""
    if customers.empty:
        return []
    values = customers.assign(monetary=customers["monetary_cents"] / 100)
    total_customers, total_cents = len(values), int(values["monetary_cents"].sum())
    centres = centroids.set_index("segment")
    out = []
    for segment, rows in values.groupby("segment", sort=False):
        cents = int(rows["monetary_cents"].sum())
        out.append(
            {
                "segment": str(segment),
                "customers": len(rows),
                "customer_share": round(len(rows) / total_customers, 4),
                "revenue": cents / 100,
                "revenue_share": round(cents / total_cents, 4) if total_cents else 0.0,
                "means": {m: round(float(rows[m].mean()), 2) for m in MEASURE_LABELS},
                "quantiles": {
                    m: [round(float(q), 2) for q in np.quantile(rows[m], QUANTILES)]
                    for m in MEASURE_LABELS
                },
                "centre": {
                    f: round(float(centres.loc[segment, f"centre_{f}"]), 3)
                    for f in FEATURES
                    if segment in centres.index
                },
            }
        )
    return sorted(out, key=lambda s: (-s["revenue"], s["segment"]))


def _figure(title: str, traces: list[dict[str, Any]], **layout: Any) -> Figure:
    spec = {"title": {"text": title}, "template": TEMPLATE, "margin": {"l": 60, "r": 20, "t": 50,
            "b": 50}, **layout}  # fmt: skip
    return {"data": traces, "layout": spec}


def segment_figures(summary: list[dict[str, Any]]) -> dict[str, Figure]:
    """Sizes and revenue shares side by side, and one box plot per RFM measure."""
    names = [s["segment"] for s in summary]
    shares = {
        "type": "bar",
        "x": names,
        "y": [s["customer_share"] for s in summary],
        "name": "Share of customers",
        "offsetgroup": "customers",
    }
    revenue = {**shares, "y": [s["revenue_share"] for s in summary], "name": "Share of revenue",
               "offsetgroup": "revenue"}  # fmt: skip
    out = {
        "shares": _figure(
            "Segments: share of customers and of revenue",
            [shares, revenue],
            barmode="group",
            yaxis={"title": {"text": "Share"}, "tickformat": ".0%"},
        )
    }
    for measure, label in MEASURE_LABELS.items():
        boxes = [
            {
                "type": "box",
                "name": s["segment"],
                "x": [s["segment"]],  # precomputed boxes need a position each, else all sit at 0
                "lowerfence": [s["quantiles"][measure][0]],
                "q1": [s["quantiles"][measure][1]],
                "median": [s["quantiles"][measure][2]],
                "q3": [s["quantiles"][measure][3]],
                "upperfence": [s["quantiles"][measure][4]],
                "mean": [s["means"][measure]],
            }
            for s in summary
        ]
        log = measure in ("frequency", "monetary")
        out[measure] = _figure(
            f"{label} per segment (5th-95th percentile)",
            boxes,
            showlegend=False,
            yaxis={"title": {"text": label}, "type": "log" if log else "linear"},
        )
    return out
