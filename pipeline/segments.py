"""Customer segments from clean orders: recency, frequency, monetary value and tenure (RFM + T) per
customer, the features the clustering sees, the choice of k, and a name for each cluster.

Pure pandas + numpy. The Spark job (pipeline.jobs.segment) runs `customer_rfm` on whole customers
per partition; on the driver, `scaling` and `fit_clusterings` (k-means, `silhouette`) on the
customers' features, `choose_k` and `name_clusters`; then `assign` labels every customer per batch.

- Reference day: the day after the latest order of the input (not the wall clock), so a re-run of
  the same orders gives the same segments, and the latest buyer has recency 1.
- Recency: days from a customer's last order to the reference day; tenure: days from their
  earliest registration (or first order, if earlier) to it; frequency: their orders; monetary:
  their revenue in cents (pipeline.aggregate.revenue_cents, the dashboard's own sums).
- Features: the natural log of each (every one is >= 1), standardised over all customers. A log
  turns a change of unit (cents or euros, days or weeks) into a shift, which the centring removes:
  the segments do not depend on units, and a few big spenders do not stretch the scale.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.aggregate import revenue_cents

RFM_COLUMNS: tuple[str, ...] = (
    "CustomerID",
    "recency_days",
    "frequency",
    "monetary_cents",
    "tenure_days",
)
RFM_TYPES: dict[str, str] = {
    "CustomerID": "STRING",
    "recency_days": "INT",
    "frequency": "BIGINT",
    "monetary_cents": "BIGINT",
    "tenure_days": "INT",
}
MEASURES: tuple[str, ...] = RFM_COLUMNS[1:]
FEATURES: tuple[str, ...] = ("recency", "frequency", "monetary", "tenure")
K_RANGE: tuple[int, ...] = (3, 4, 5, 6)  # k = 2 splits "good" from "bad" and says little

# Where each named segment sits in feature space (standard deviations from the mean customer:
# recency, frequency, monetary, tenure). Clusters take the names whose prototypes they are
# nearest to, one name per cluster.
PROTOTYPES: dict[str, tuple[float, float, float, float]] = {
    "champions": (-1.0, 1.0, 1.0, 0.5),
    "loyal": (0.0, 1.0, 0.5, 1.0),
    "at risk": (1.0, 0.5, 0.5, 0.5),
    "hibernating": (1.0, -1.0, -1.0, 0.0),
    "new": (-1.0, -1.0, -0.5, -1.5),
    "needs attention": (0.0, 0.0, 0.0, 0.0),
}
SEGMENT_NAMES: tuple[str, ...] = (*PROTOTYPES, "all customers")

# What a run publishes (pipeline.adapters.hbase_aggregates): per customer, and per segment.
TABLES: dict[str, dict[str, str]] = {
    "segments": {**RFM_TYPES, "cluster": "INT", "segment": "STRING"},
    "segment_centroids": {
        "cluster": "INT", "segment": "STRING", "customers": "BIGINT", "revenue_cents": "BIGINT",
        **{f"mean_{m}": "DOUBLE" for m in MEASURES},
        **{f"centre_{f}": "DOUBLE" for f in FEATURES},
    },
}  # fmt: skip
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "segments": ("CustomerID",),
    "segment_centroids": ("cluster",),
}


class SegmentError(ValueError):
    """Input that cannot be segmented; the message names what is wrong."""


def check_tables(tables: Mapping[str, pd.DataFrame], customer_ids: pd.Series) -> dict[str, int]:
    """Every customer in exactly one segment, the segments' sizes adding up; returns the sizes."""
    customers, centroids = tables["segments"], tables["segment_centroids"]
    for name, frame in tables.items():
        missing = [c for c in TABLES[name] if c not in frame.columns]
        if missing:
            raise SegmentError(f"{name}: missing columns {missing}; present {list(frame.columns)}")
    repeated = customers["CustomerID"][customers["CustomerID"].duplicated()]
    if len(repeated):
        raise SegmentError(f"customer {repeated.iloc[0]!r} is in more than one segment")
    expected, got = set(customer_ids), set(customers["CustomerID"])
    if expected != got:
        lost, extra = sorted(expected - got)[:3], sorted(got - expected)[:3]
        raise SegmentError(f"segments and customers differ: not segmented {lost}, unknown {extra}")
    sizes = customers.groupby("segment").size().to_dict()
    stated = dict(zip(centroids["segment"], centroids["customers"], strict=True))
    if sizes != stated:
        raise SegmentError(f"segment sizes {sizes} differ from the centroid table's {stated}")
    return {str(k): int(v) for k, v in sorted(sizes.items())}


def reference_day(latest_order: dt.date) -> dt.date:
    return latest_order + dt.timedelta(days=1)


def customer_rfm(orders: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Clean orders (every order of each customer present) -> one RFM_COLUMNS row per customer,
    sorted by CustomerID."""
    needed = ["CustomerID", "OrderDate", "RegistrationDate", "TotalAmount"]
    missing = [c for c in needed if c not in orders.columns]
    if missing:
        raise SegmentError(f"customer_rfm: missing columns {missing}; present {list(orders)}")
    if orders.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in RFM_COLUMNS})
    ordered = _days(orders["OrderDate"])
    registered = _days(orders["RegistrationDate"])
    late = ordered >= _days(pd.Series([as_of]))[0]
    if late.any():
        raise SegmentError(
            f"an OrderDate ({orders['OrderDate'].iloc[int(np.flatnonzero(late)[0])]}) is not "
            f"before the reference day {as_of}"
        )
    frame = pd.DataFrame(
        {
            "CustomerID": orders["CustomerID"].to_numpy(),
            "last": ordered,
            "first": np.fmin(ordered, np.where(np.isnan(registered), ordered, registered)),
            "cents": revenue_cents(orders["TotalAmount"]),
        }
    )
    per = frame.groupby("CustomerID", sort=True).agg(
        last=("last", "max"), first=("first", "min"), frequency=("cents", "size"),
        monetary_cents=("cents", "sum"),
    )  # fmt: skip
    day = _days(pd.Series([as_of]))[0]
    return pd.DataFrame(
        {
            "CustomerID": per.index.to_numpy(dtype=object),
            "recency_days": (day - per["last"].to_numpy()).astype(np.int32),
            "frequency": per["frequency"].to_numpy(dtype=np.int64),
            "monetary_cents": per["monetary_cents"].to_numpy(dtype=np.int64),
            "tenure_days": (day - per["first"].to_numpy()).astype(np.int32),
        }
    )


def _days(dates: pd.Series) -> np.ndarray:
    """Dates (date objects or datetime64) -> days since 1970 as float (NaN where missing)."""
    values = pd.to_datetime(pd.Series(dates), errors="coerce").to_numpy("datetime64[D]")
    days: np.ndarray = values.astype("int64").astype(np.float64)
    days[np.isnat(values)] = np.nan
    return days


def _dtype(column: str) -> str:
    return {"STRING": "object", "INT": "int32", "BIGINT": "int64"}[RFM_TYPES[column]]


def log_features(rfm: pd.DataFrame) -> np.ndarray:
    """RFM rows -> (rows, 4) natural logs of recency, frequency, monetary, tenure (each >= 1)."""
    values = rfm[list(MEASURES)].to_numpy(dtype=np.float64)
    if (values < 1).any():
        at = int(np.flatnonzero((values < 1).any(axis=1))[0])
        raise SegmentError(f"RFM values below 1 for customer {rfm['CustomerID'].iloc[at]!r}")
    logs: np.ndarray = np.log(values)
    return logs


def scaling(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and sample standard deviation, as MLlib's StandardScaler(withMean=True,
    withStd=True) takes them; a constant column gets spread 0 (it scales to 0)."""
    if len(features) < 2:
        return np.zeros(features.shape[1]), np.zeros(features.shape[1])
    mean: np.ndarray = features.mean(axis=0)
    spread: np.ndarray = features.std(axis=0, ddof=1)
    # A column equal up to rounding is constant: its spread is noise, not a scale.
    flat = spread <= 1e-9 * np.maximum(1.0, np.abs(features).max(axis=0))
    return mean, np.where(flat, 0.0, spread)


def scale(features: np.ndarray, mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Centre and divide by the spread; a column of spread 0 becomes 0."""
    flat = spread == 0
    return np.where(flat, 0.0, (features - mean) / np.where(flat, 1.0, spread))


def standardize(features: np.ndarray) -> np.ndarray:
    """Centre each column and divide by its sample standard deviation (a constant column -> 0)."""
    return scale(features, *scaling(features))


@dataclass(frozen=True)
class Clustering:
    centres: np.ndarray  # (clusters, features), in the scaled space
    labels: np.ndarray  # the nearest centre of each point
    cost: float  # the sum of squared distances to the nearest centre


def nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The index of each point's nearest centre (squared Euclidean; the lower index on a tie)."""
    distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(distances.argmin(axis=1), dtype=np.int64)


def kmeans(points: np.ndarray, k: int, seed: int, iterations: int = 20) -> Clustering:
    """Lloyd's iterations from a seeded k-means++ start. Fewer distinct points than k give fewer
    centres; a centre left without points stays where it was."""
    rng = np.random.default_rng(seed)
    chosen = [points[rng.integers(len(points))]]
    distances = ((points - chosen[0]) ** 2).sum(axis=1)
    while len(chosen) < k and distances.sum() > 0:
        chosen.append(points[rng.choice(len(points), p=distances / distances.sum())])
        distances = np.minimum(distances, ((points - chosen[-1]) ** 2).sum(axis=1))
    centres = np.array(chosen)
    for _ in range(iterations):
        labels = nearest(points, centres)
        moved = np.array(
            [points[labels == j].mean(axis=0) if (labels == j).any() else centres[j]
             for j in range(len(centres))]
        )  # fmt: skip
        done = np.abs(moved - centres).max() <= 1e-4
        centres = moved
        if done:
            break
    labels = nearest(points, centres)
    return Clustering(centres, labels, float(((points - centres[labels]) ** 2).sum()))


def silhouette(points: np.ndarray, labels: np.ndarray, k: int) -> float | None:
    """The mean silhouette with squared Euclidean distances, as MLlib's ClusteringEvaluator
    computes it by default, in O(points x k): the mean squared distance from x to a cluster is
    |x|^2 - 2 x.mean + mean(|y|^2). None when fewer than 2 or than k clusters hold points."""
    sizes = np.bincount(labels, minlength=k)
    if k < 2 or len(sizes) > k or (sizes == 0).any():
        return None
    squares = (points**2).sum(axis=1)
    means = np.array([points[labels == j].mean(axis=0) for j in range(k)])
    mean_squares = np.array([squares[labels == j].mean() for j in range(k)])
    to_cluster = np.maximum(squares[:, None] - 2 * points @ means.T + mean_squares[None, :], 0)
    rows, own = np.arange(len(points)), sizes[labels]
    within = to_cluster[rows, labels] * own / np.maximum(own - 1, 1)  # the point itself is 0 away
    to_cluster[rows, labels] = np.inf
    between = to_cluster.min(axis=1)
    widest = np.maximum(within, between)
    scores = np.where(
        (own > 1) & (widest > 0), (between - within) / np.where(widest > 0, widest, 1), 0
    )
    return float(scores.mean())


def fit_clusterings(
    points: np.ndarray, ks: Sequence[int], seed: int, starts: int
) -> dict[int, tuple[Clustering, float | None]]:
    """Per k: the best of `starts` seeded k-means runs (least cost: one start can settle in a poor
    local optimum), and its silhouette."""
    fits = {}
    for k in ks:
        best = min((kmeans(points, k, seed + s) for s in range(starts)), key=lambda c: c.cost)
        fits[k] = (best, silhouette(points, best.labels, k))
    return fits


def assign(
    rfm: pd.DataFrame, mean: np.ndarray, spread: np.ndarray, centres: np.ndarray
) -> np.ndarray:
    """RFM rows -> the index of their nearest centre, in the fitted scaled log space."""
    return nearest(scale(log_features(rfm), mean, spread), centres)


def choose_k(silhouettes: Mapping[int, float | None]) -> int | None:
    """The k with the highest silhouette (the smaller k on a tie); None when none was scored."""
    scored = [(s, -k) for k, s in silhouettes.items() if s is not None and np.isfinite(s)]
    return -max(scored)[1] if scored else None


def name_clusters(centroids: Sequence[Sequence[float]]) -> list[str]:
    """A distinct name per centroid (standardised FEATURES): the assignment of PROTOTYPES names to
    clusters with the least total squared distance. A function of the centroids alone."""
    points = np.asarray(centroids, dtype=np.float64).reshape(-1, len(FEATURES))
    if len(points) == 1:
        return ["all customers"]
    if len(points) > len(PROTOTYPES):
        raise SegmentError(f"{len(points)} clusters; names exist for at most {len(PROTOTYPES)}")
    names = list(PROTOTYPES)
    prototypes = np.asarray(list(PROTOTYPES.values()))
    cost = ((points[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2)
    rows = np.arange(len(points))
    best = min(
        itertools.permutations(range(len(names)), len(points)),
        key=lambda chosen: (round(float(cost[rows, list(chosen)].sum()), 9), chosen),
    )
    return [names[i] for i in best]
