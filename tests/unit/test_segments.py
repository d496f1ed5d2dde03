"""The segmentation's pure rules: RFM + tenure per customer, unit-free features, the choice of k,
names from centroids alone, and the check that every customer is in exactly one segment."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import segments
from pipeline.gates import validate

pytestmark = pytest.mark.unit

AS_OF = dt.date(2025, 1, 1)


def orders(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["CustomerID", "OrderDate", "RegistrationDate", "TotalAmount"]
    )
    for column in ("OrderDate", "RegistrationDate"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def test_rfm_of_two_customers() -> None:
    rfm = segments.customer_rfm(
        orders(
            [
                ("b", "2024-12-31", "2024-01-01", 10.0),
                ("a", "2024-06-01", "2023-01-01", 1.25),
                ("a", "2024-12-01", "2023-06-01", 2.5),
                ("b", "2024-11-30", "2024-01-01", 0.01),
            ]
        ),
        AS_OF,
    )
    assert rfm.to_dict("records") == [
        {"CustomerID": "a", "recency_days": 31, "frequency": 2, "monetary_cents": 375,
         "tenure_days": 731},
        {"CustomerID": "b", "recency_days": 1, "frequency": 2, "monetary_cents": 1001,
         "tenure_days": 366},
    ]  # fmt: skip


def test_tenure_reaches_back_to_a_first_order_before_its_registration() -> None:
    rfm = segments.customer_rfm(orders([("a", "2024-12-01", "2024-12-20", 1.0)]), AS_OF)
    assert (rfm["recency_days"].iloc[0], rfm["tenure_days"].iloc[0]) == (31, 31)


def test_an_order_on_or_after_the_reference_day_is_refused() -> None:
    with pytest.raises(segments.SegmentError, match="reference day"):
        segments.customer_rfm(orders([("a", "2025-01-01", "2024-01-01", 1.0)]), AS_OF)


def test_no_orders_give_no_customers() -> None:
    empty = orders([])
    assert list(segments.customer_rfm(empty, AS_OF).columns) == list(segments.RFM_COLUMNS)


ORDER = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4", "c5"]),
    st.integers(1, 900),  # days before AS_OF
    st.integers(0, 900),  # registration: days before the order
    st.integers(1, 10**7).map(lambda cents: cents / 100),
)


def frame_of(rows: list[tuple[str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CustomerID": [r[0] for r in rows],
            "OrderDate": [AS_OF - dt.timedelta(days=r[1]) for r in rows],
            "RegistrationDate": [AS_OF - dt.timedelta(days=r[1] + r[2]) for r in rows],
            "TotalAmount": [r[3] for r in rows],
        }
    )


@settings(max_examples=150)
@given(st.lists(ORDER, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_rfm_has_one_row_per_customer_whatever_the_order_of_the_rows(rows, random) -> None:
    frame = frame_of(rows)
    rfm = segments.customer_rfm(frame, AS_OF)
    assert list(rfm["CustomerID"]) == sorted(set(frame["CustomerID"]))
    assert rfm["frequency"].sum() == len(frame)
    assert rfm["monetary_cents"].sum() == round(sum(round(r[3] * 100) for r in rows))
    assert (rfm["recency_days"] >= 1).all() and (rfm["tenure_days"] >= rfm["recency_days"]).all()
    shuffled = frame.sample(frac=1, random_state=random.randint(0, 2**31))
    pd.testing.assert_frame_equal(segments.customer_rfm(shuffled, AS_OF), rfm)


RFM_ROW = st.tuples(
    st.integers(1, 2000), st.integers(1, 500), st.integers(1, 10**9), st.integers(0, 3000)
)


@settings(max_examples=150)
@given(
    st.lists(RFM_ROW, min_size=2, max_size=30),
    st.sampled_from([0.01, 0.5, 7, 100, 1e4]),
    st.sampled_from(["recency_days", "monetary_cents", "tenure_days", "frequency"]),
)
def test_standardised_features_do_not_depend_on_units(rows, factor, column) -> None:
    rfm = pd.DataFrame(rows, columns=["recency_days", "frequency", "monetary_cents", "extra"])
    rfm["tenure_days"] = rfm["recency_days"] + rfm.pop("extra")
    rfm.insert(0, "CustomerID", [f"c{i}" for i in range(len(rfm))])
    scaled = rfm.assign(**{column: rfm[column] * factor})
    scaled = scaled[scaled[list(segments.MEASURES)].min(axis=1) >= 1]  # logs need values >= 1
    original = rfm.loc[scaled.index]
    if len(scaled) < 2:
        return
    a = segments.standardize(segments.log_features(original))
    b = segments.standardize(segments.log_features(scaled))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_standardize_centres_and_scales_like_mllib() -> None:
    z = segments.standardize(np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]]))
    np.testing.assert_allclose(z, [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])


def test_values_below_one_cannot_be_logged() -> None:
    rfm = pd.DataFrame([["a", 0, 1, 1, 1]], columns=list(segments.RFM_COLUMNS))
    with pytest.raises(segments.SegmentError, match="'a'"):
        segments.log_features(rfm)


@pytest.mark.parametrize(
    ("silhouettes", "k"),
    [({3: 0.2, 4: 0.5, 5: 0.4}, 4), ({3: 0.5, 4: 0.5}, 3), ({3: None, 4: 0.1}, 4),
     ({3: None}, None), ({}, None), ({3: float("nan"), 5: -0.2}, 5)],
)  # fmt: skip
def test_the_best_silhouette_chooses_k(silhouettes, k) -> None:
    assert segments.choose_k(silhouettes) == k


def test_each_prototype_is_named_after_itself() -> None:
    names = list(segments.PROTOTYPES)
    for size in range(2, len(names) + 1):
        for chosen in itertools.combinations(names, size):
            centres = [segments.PROTOTYPES[n] for n in chosen]
            assert segments.name_clusters(centres) == list(chosen)


CENTRES = st.lists(
    st.tuples(*[st.floats(-3, 3, allow_nan=False) for _ in segments.FEATURES]),
    min_size=2,
    max_size=len(segments.PROTOTYPES),
    unique=True,
)


@settings(max_examples=200)
@given(CENTRES, st.randoms(use_true_random=False))
def test_names_are_distinct_and_follow_their_centroids(centres, random) -> None:
    names = segments.name_clusters(centres)
    assert len(set(names)) == len(names) and set(names) <= set(segments.PROTOTYPES)
    order = list(range(len(centres)))
    random.shuffle(order)
    shuffled = segments.name_clusters([centres[i] for i in order])
    costs = _assignment_costs(centres)
    if len(costs) < 2 or costs[1] - costs[0] > 1e-6:  # a unique best naming
        assert shuffled == [names[i] for i in order]
    assert segments.name_clusters(centres) == names  # the centroids alone decide


def _assignment_costs(centres) -> list[float]:
    points = np.asarray(centres)
    protos = np.asarray(list(segments.PROTOTYPES.values()))
    cost = ((points[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2)
    rows = np.arange(len(points))
    return sorted(
        float(cost[rows, list(p)].sum())
        for p in itertools.permutations(range(len(protos)), len(points))
    )


def test_one_cluster_is_all_customers_and_seven_have_no_names() -> None:
    assert segments.name_clusters([[0.1, 0.2, 0.3, 0.4]]) == ["all customers"]
    with pytest.raises(segments.SegmentError, match="at most 6"):
        segments.name_clusters(np.eye(7, 4))


def tables(customers: list[tuple[str, str]], sizes: dict[str, int]) -> dict[str, pd.DataFrame]:
    rows = pd.DataFrame(customers, columns=["CustomerID", "segment"])
    for column in segments.TABLES["segments"]:
        rows[column] = rows.get(column, 1)
    centroids = pd.DataFrame({"segment": list(sizes), "customers": list(sizes.values())})
    for column in segments.TABLES["segment_centroids"]:
        centroids[column] = centroids.get(column, 0)
    return {"segments": rows, "segment_centroids": centroids}


def test_tables_with_every_customer_once_pass() -> None:
    good = tables([("a", "new"), ("b", "loyal"), ("c", "new")], {"new": 2, "loyal": 1})
    assert segments.check_tables(good, pd.Series(["c", "b", "a", "a"])) == {"loyal": 1, "new": 2}


@pytest.mark.parametrize(
    ("customers", "sizes", "ids", "message"),
    [([("a", "new"), ("a", "loyal")], {"new": 1, "loyal": 1}, ["a"], "more than one segment"),
     ([("a", "new")], {"new": 1}, ["a", "b"], r"not segmented \['b'\]"),
     ([("a", "new"), ("z", "new")], {"new": 2}, ["a"], r"unknown \['z'\]"),
     ([("a", "new")], {"new": 2}, ["a"], "sizes")],
)  # fmt: skip
def test_tables_that_lose_or_repeat_a_customer_are_refused(customers, sizes, ids, message) -> None:
    with pytest.raises(segments.SegmentError, match=message):
        segments.check_tables(tables(customers, sizes), pd.Series(ids))


def segment_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CustomerID": ["a", "b"],
            "recency_days": np.array([1, 30], dtype=np.int32),
            "frequency": np.array([3, 1], dtype=np.int64),
            "monetary_cents": np.array([500, 1], dtype=np.int64),
            "tenure_days": np.array([10, 30], dtype=np.int32),
            "cluster": np.array([0, 1], dtype=np.int32),
            "segment": ["champions", "new"],
        }
    )


def test_the_segments_gate_passes_sound_rows_and_names_each_fault() -> None:
    assert validate("segments", segment_rows()).success
    faults = {
        "CustomerID": ("expect_column_values_to_be_unique", ["a", "a"]),
        "segment": ("expect_column_values_to_be_in_set", ["champions", "whales"]),
        "tenure_days": ("expect_column_pair_values_a_to_be_greater_than_b", [0, 30]),
    }
    for column, (expectation, values) in faults.items():
        broken = segment_rows()
        broken[column] = np.asarray(values, dtype=broken[column].dtype)
        failed = [f.expectation for f in validate("segments", broken).failed]
        assert expectation in failed, (column, failed)


def brute_silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """The definition, pair by pair (squared Euclidean, as MLlib's evaluator by default)."""
    scores = []
    for i, x in enumerate(points):
        distances = ((points - x) ** 2).sum(axis=1)
        own = labels == labels[i]
        if own.sum() == 1:
            scores.append(0.0)
            continue
        within = distances[own].sum() / (own.sum() - 1)
        between = min(distances[labels == j].mean() for j in set(labels) - {labels[i]})
        widest = max(within, between)
        scores.append(0.0 if widest == 0 else (between - within) / widest)
    return float(np.mean(scores))


point_sets = st.integers(3, 40).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(-50, 50).map(lambda v: v / 10), min_size=4, max_size=4),
        min_size=n,
        max_size=n,
    )
)


@settings(max_examples=150)
@given(point_sets, st.integers(2, 4), st.integers(0, 10_000))
def test_kmeans_labels_each_point_with_its_nearest_centre_and_scores_it_by_definition(
    rows, k, seed
) -> None:
    points = np.array(rows)
    fit = segments.kmeans(points, k, seed)
    assert len(fit.centres) <= k
    assert (fit.labels == segments.nearest(points, fit.centres)).all()
    assert fit.cost == pytest.approx(((points - fit.centres[fit.labels]) ** 2).sum())
    assert segments.kmeans(points, k, seed).cost == fit.cost  # seeded: the same answer
    score = segments.silhouette(points, fit.labels, k)
    if len(set(fit.labels)) < k:
        assert score is None
    else:
        assert score == pytest.approx(brute_silhouette(points, fit.labels), abs=1e-9)


def test_kmeans_finds_separate_blobs_and_the_silhouette_prefers_their_number() -> None:
    rng = np.random.default_rng(4)
    blobs = np.array([[0, 0, 0, 0], [6, 0, 0, 0], [0, 6, 0, 0], [0, 0, 6, 6]], dtype=float)
    points = np.concatenate([blob + rng.normal(0, 0.3, (50, 4)) for blob in blobs])
    truth = np.repeat(np.arange(4), 50)
    fits = segments.fit_clusterings(points, [3, 4, 5, 6], seed=1, starts=3)
    assert segments.choose_k({k: s for k, (_, s) in fits.items()}) == 4
    labels = fits[4][0].labels
    # The same partition as the blobs, whatever the numbering.
    assert len({(a, b) for a, b in zip(truth, labels, strict=True)}) == 4


def test_fewer_distinct_points_than_k_give_fewer_centres_and_no_score() -> None:
    points = np.array([[1.0, 0, 0, 0]] * 5 + [[2.0, 0, 0, 0]] * 5)
    fit = segments.kmeans(points, 3, seed=0)
    assert len(fit.centres) == 2 and fit.cost == 0
    assert segments.silhouette(points, fit.labels, 3) is None


def test_assign_scales_with_the_fitted_scaler() -> None:
    rfm = pd.DataFrame(
        [["a", 1, 1, 100, 10], ["b", 300, 9, 90_000, 900]], columns=list(segments.RFM_COLUMNS)
    )
    logs = segments.log_features(rfm)
    mean, spread = segments.scaling(logs)
    centres = segments.scale(logs, mean, spread)[::-1]  # b's point first
    assert segments.assign(rfm, mean, spread, centres).tolist() == [1, 0]
