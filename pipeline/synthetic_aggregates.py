"""The dashboard's published aggregates of N synthetic orders, built in-process: the dashboard's
latency at the seed's volume (6M orders) without the half-hour stack run (the bench session calls
``bench_dashboard``).

The orders are the generator's own clean values (``generate_values.draw`` / ``truth_frame``, no
errors) and the aggregates come from the real functions (``aggregate.partials``, ``combine``,
``pack_customers``), so the cube, ages, products and customers have the shape and size a run of
that many orders publishes. Segments are not clustered (that is ``segment_bench``'s part): the
customers are split into four segments by revenue quartile under real segment names, with their
true RFM values and centres, so the segment filter and pages see what a run publishes.

Two passes over the orders, in chunks of CHUNK_ROWS, keep memory bounded: the first sums per
customer (a segment needs the customer's whole revenue), the second aggregates with the segment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import aggregate, segments
from pipeline.generate_values import N_CUSTOMERS, TOTAL, customers, draw, no_errors, truth_frame

CHUNK_ROWS = 500_000
SEED = 5
# Lowest revenue quartile first. Names a clustering could give (segments.PROTOTYPES).
QUARTILE_SEGMENTS: tuple[str, ...] = ("hibernating", "needs attention", "loyal", "champions")


@dataclass(frozen=True)
class CustomerTotals:
    """Per customer number (``generate_values.Customers`` index): what the segments are made of."""

    orders: np.ndarray  # int64
    revenue_cents: np.ndarray  # int64
    first_order: np.ndarray  # int64 day offset; meaningless where orders == 0
    last_order: np.ndarray  # int64 day offset; meaningless where orders == 0


def _chunks(orders: int) -> range:
    return range(0, orders, CHUNK_ROWS)


def customer_totals(orders: int, seed: int = SEED) -> CustomerTotals:
    """Orders, revenue and first and last order day of each customer over ``orders`` rows."""
    counts = np.zeros(N_CUSTOMERS, np.int64)
    cents = np.zeros(N_CUSTOMERS, np.int64)
    first = np.full(N_CUSTOMERS, np.iinfo(np.int64).max)
    last = np.full(N_CUSTOMERS, np.iinfo(np.int64).min)
    for start in _chunks(orders):
        draws = draw(min(CHUNK_ROWS, orders - start), seed, start)
        counts += np.bincount(draws.customer, minlength=N_CUSTOMERS)
        np.add.at(cents, draws.customer, aggregate.revenue_cents(TOTAL[draws.product_quantity]))
        np.minimum.at(first, draws.customer, draws.ordered)
        np.maximum.at(last, draws.customer, draws.ordered)
    return CustomerTotals(counts, cents, first, last)


def quartile_clusters(totals: CustomerTotals) -> np.ndarray:
    """Each customer's cluster (index into QUARTILE_SEGMENTS): its revenue quartile among the
    customers who ordered."""
    bounds = np.quantile(totals.revenue_cents[totals.orders > 0], [0.25, 0.5, 0.75])
    return np.searchsorted(bounds, totals.revenue_cents, side="right").astype(np.int32)


def published_aggregates(orders: int, segment_of: np.ndarray, seed: int = SEED) -> dict[str, Any]:
    """``aggregate.PUBLISHED`` of ``orders`` rows whose customer number ``c`` is in segment
    ``segment_of[c]``; partials per chunk, summed at the end as a Spark run sums its partitions."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in aggregate.ADDITIVE}
    for start in _chunks(orders):
        rows = min(CHUNK_ROWS, orders - start)
        draws = draw(rows, seed, start)
        frame = truth_frame(draws, no_errors(rows), no_errors(rows))
        frame[aggregate.SEGMENT] = segment_of[draws.customer]
        for name, part in aggregate.partials(frame).items():
            parts[name].append(part)
        del frame
    whole = {name: aggregate.combine(chunks) for name, chunks in parts.items()}
    layout = aggregate.layout_of(whole["customer_cells"])
    return {
        "cube": whole["cube"],
        "ages": whole["ages"],
        "products": whole["products"],
        "customers": aggregate.pack_customers(whole["customer_cells"], layout),
        "layout": aggregate.layout_frame(layout),
    }


def segment_tables(
    totals: CustomerTotals, clusters: np.ndarray, seed: int = SEED
) -> dict[str, pd.DataFrame]:
    """``segments.TABLES`` for the customers who ordered: true RFM values (reference day the day
    after the latest order, as ``segments.reference_day``) and each segment's centre in the
    standardised log features the clustering sees."""
    active = np.flatnonzero(totals.orders > 0)
    registered = customers(seed).registered[active]
    day = totals.last_order[active].max() + 1
    rfm = pd.DataFrame(
        {
            "CustomerID": customers(seed).customer_id[active],
            "recency_days": (day - totals.last_order[active]).astype(np.int32),
            "frequency": totals.orders[active],
            "monetary_cents": totals.revenue_cents[active],
            "tenure_days": (day - np.minimum(totals.first_order[active], registered)).astype(
                np.int32
            ),
        }
    )
    cluster = clusters[active]
    names = np.asarray(QUARTILE_SEGMENTS, dtype=object)
    per_customer = rfm.assign(cluster=cluster, segment=names[cluster])
    per_customer = per_customer.sort_values("CustomerID", ignore_index=True)
    features = pd.DataFrame(
        segments.standardize(segments.log_features(rfm)),
        columns=[f"centre_{f}" for f in segments.FEATURES],
    )
    centres = features.groupby(cluster).mean()
    stats = per_customer.groupby(["cluster", "segment"]).agg(
        customers=("CustomerID", "size"),
        revenue_cents=("monetary_cents", "sum"),
        **{f"mean_{m}": (m, "mean") for m in segments.MEASURES},
    )
    centroids = stats.reset_index().join(centres, on="cluster")
    centroids = centroids.astype({"cluster": np.int32, "customers": np.int64})
    return {
        "segments": per_customer[list(segments.TABLES["segments"])],
        "segment_centroids": centroids[list(segments.TABLES["segment_centroids"])],
    }


def build(orders: int, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Every table the dashboard reads (``aggregate.PUBLISHED`` and ``segments.TABLES``) for
    ``orders`` synthetic clean orders; checked with ``aggregate.check``."""
    if orders <= 0:
        raise ValueError(f"orders={orders} must be positive")
    totals = customer_totals(orders, seed)
    clusters = quartile_clusters(totals)
    names = np.asarray(QUARTILE_SEGMENTS, dtype=object)
    frames = published_aggregates(orders, names[clusters], seed)
    frames.update(segment_tables(totals, clusters, seed))
    aggregate.check(frames)
    return frames


def bench_dashboard(orders: int, requests: int = 300) -> dict[str, Any]:
    """Build the aggregates of ``orders`` synthetic orders (timed), then the latency of ``/`` and
    ``/api/summary`` over them from memory (``dashboard_bench.measure_dashboard``)."""
    from dashboard.sources import MemoryAggregateSource
    from pipeline.dashboard_bench import measure_dashboard

    started = time.perf_counter()
    frames = build(orders)
    build_seconds = time.perf_counter() - started
    source = MemoryAggregateSource(frames, run_id=f"synthetic-{orders}", name=f"{orders} orders")
    return {
        "orders": orders,
        "build_seconds": round(build_seconds, 1),
        "cube_rows": len(frames["cube"]),
        "customers": len(frames["customers"]),
        "aggregate_rows": sum(len(frames[name]) for name in aggregate.PUBLISHED),
        "segments": {
            str(name): int(size)
            for name, size in zip(
                frames["segment_centroids"]["segment"],
                frames["segment_centroids"]["customers"],
                strict=True,
            )
        },
        "page": measure_dashboard(source, requests=requests, path="/"),
        "api_summary": measure_dashboard(source, requests=requests, path="/api/summary"),
    }
