"""Rows checked by the rules -> the public frames: the clean rows (statistics filled), the
quarantine, the duplicates; the customers' agreement and the second check of pending rows."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.catalogue import Catalogue
from pipeline.clean.fields import CUSTOMER_FIELDS, DEFAULT_AGE_MEDIAN
from pipeline.clean.parsing import parse_columns, safe_text
from pipeline.clean.rules import Checked, age_groups, check, columns_of
from pipeline.clean.values import COUNTRY_NAME_ARRAY, COUNTRY_REGION_ARRAY, objects
from pipeline.date_forms import day_first_of
from pipeline.schema import (
    AGE_MAX,
    AGE_MIN,
    CLEAN_COLUMNS,
    CLEAN_TYPES,
    FIELDS,
    QUARANTINE_COLUMNS,
)


@dataclass(frozen=True)
class CleanStats:
    """Global statistics the stats-dependent rules need (Age fill, TotalAmount scaling)."""

    age_median: float
    total_min: float
    total_max: float


@dataclass(frozen=True)
class CleanResult:
    """A cleaned batch: each input row is in `clean`, `quarantine`, or counted in `duplicates`."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    duplicates: int


# --------------------------------------------------------------------------------------------
# Statistics


def stat_inputs(raw: pd.DataFrame, *, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Age (valid ages, else NaN) and TotalAmount (as kept by the cleaner; NaN if quarantined).

    Spark aggregates these per partition (median Age, min/max TotalAmount) with the same rules.
    """
    return _stat_frame(_check_all(columns_of(raw), catalogue))


def _stat_frame(checked: Checked) -> pd.DataFrame:
    return pd.DataFrame({"Age": checked.age, "TotalAmount": checked.total})


def compute_stats(inputs: pd.DataFrame) -> CleanStats:
    """Median of non-null Age; min/max of non-null TotalAmount; safe defaults when empty."""
    return _stats(inputs["Age"].to_numpy(np.float64), inputs["TotalAmount"].to_numpy(np.float64))


def _stats(ages: np.ndarray, totals: np.ndarray) -> CleanStats:
    ages, totals = ages[~np.isnan(ages)], totals[~np.isnan(totals)]
    return CleanStats(
        age_median=float(np.median(ages)) if len(ages) else DEFAULT_AGE_MEDIAN,
        total_min=float(totals.min()) if len(totals) else 0.0,
        total_max=float(totals.max()) if len(totals) else 0.0,
    )


def fill_age(stats: CleanStats) -> int:
    """The Age given to rows whose Age is missing or invalid: the median, rounded half up."""
    median = stats.age_median if math.isfinite(stats.age_median) else DEFAULT_AGE_MEDIAN
    return int(min(max(math.floor(median + 0.5), AGE_MIN), AGE_MAX))


def normalise_totals(totals: Any, stats: CleanStats) -> np.ndarray:
    """TotalAmount scaled to [0, 1] by the global min/max (0 when max <= min)."""
    totals = np.asarray(totals, dtype=np.float64)
    span = stats.total_max - stats.total_min
    if not (math.isfinite(span) and span > 0):
        return np.zeros(len(totals), dtype=np.float64)
    scaled: np.ndarray = np.clip((totals - stats.total_min) / span, 0.0, 1.0)
    return scaled


# --------------------------------------------------------------------------------------------
# Cleaning


def clean_batch(
    raw: pd.DataFrame, stats: CleanStats, *, catalogue: Catalogue | None = None
) -> CleanResult:
    """Apply the rule set to a parsed batch (output of parse_lines) with global statistics.

    Products resolve against `catalogue` (default: Catalogue.default(), schema.CATALOGUE).
    """
    return _assemble(_check_all(columns_of(raw), catalogue), stats)


def clean_lines(
    lines: pd.Series | Iterable[Any],
    stats: CleanStats | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> CleanResult:
    """Parse, compute the statistics from this batch when none are given, and clean.

    Products resolve against `catalogue` (default: Catalogue.default(), schema.CATALOGUE).
    """
    checked = _check_all(parse_columns(lines), catalogue)
    if stats is None:
        stats = _stats(checked.age, checked.total)
    return _assemble(checked, stats)


# A rejected row's raw fields as text, next to the clean columns in check_lines' frame.
QUARANTINE_TEXT: dict[str, str] = {f: f"q_{f}" for f in FIELDS}
# The clean columns fill_stats gives (they need the global statistics).
STATS_COLUMNS: tuple[str, ...] = ("Age", "AgeGroup", "TotalAmountNormalized")
# check_lines' columns as Spark SQL types. Age and Quantity are DOUBLE: NaN marks an Age still to
# fill and a Quantity of a rejected row.
CHECKED_TYPES: dict[str, str] = {
    "reason": "STRING",
    **{c: t for c, t in CLEAN_TYPES.items() if c not in STATS_COLUMNS[1:]},
    "Age": "DOUBLE",
    "Quantity": "DOUBLE",
    **{q: "STRING" for q in QUARANTINE_TEXT.values()},
    "raw": "STRING",
    "pending": "BOOLEAN",
    "slash_votes": "TINYINT",
}


def check_lines(
    lines: pd.Series | Iterable[Any],
    *,
    catalogue: Catalogue | None = None,
    known: pd.DataFrame | None = None,
    day_first: bool | None = None,
) -> pd.DataFrame:
    """Every rule that needs neither the global statistics nor other customers' rows.

    One row per line. A passing row (null `reason`) has its clean values but those fill_stats
    gives; a rejected row has `reason`, its fields as text (QUARANTINE_TEXT) and `raw`. Age and
    TotalAmount are every row's stat_inputs. CustomerID and CUSTOMER_FIELDS hold every row's valid
    values (what agreed_customers reads). Without `known`, a row whose customer values may be
    repaired from the customer's other orders is `pending` and keeps `raw`: the caller checks
    those lines again with `known`, the agreed_customers values of each line's CustomerID (a
    frame aligned with `lines`), and `day_first`, the source's slash order decided from every
    row's `slash_votes` (slash_tally, date_forms.day_first_of), and uses that result instead.
    The Spark job runs this (as checked_arrays) once per batch, then drops repeated row_keys and
    fills the statistics' columns across all batches. Products resolve against `catalogue`
    (default: Catalogue.default(), schema.CATALOGUE).
    """
    columns = checked_arrays(lines, catalogue=catalogue, known=known, day_first=day_first)
    return pd.DataFrame(columns, columns=list(CHECKED_TYPES))


def checked_arrays(
    lines: pd.Series | Iterable[Any],
    *,
    catalogue: Catalogue | None = None,
    known: pd.DataFrame | None = None,
    day_first: bool | None = None,
) -> dict[str, np.ndarray]:
    """check_lines' columns as arrays: the Spark job makes its Arrow batches of them, without a
    pandas frame between."""
    return _checked_columns(check(parse_columns(lines), catalogue, known, day_first))


def agreed_customers(facts: pd.DataFrame) -> pd.DataFrame:
    """Per CustomerID, each CUSTOMER_FIELDS value all its valid values agree on (else null).

    `facts`: check_lines' CustomerID and CUSTOMER_FIELDS columns (null where not valid). Index:
    CustomerID. The Spark job computes the same as min == max per customer.
    """
    rows = facts[facts["CustomerID"].notna()]
    grouped = rows.groupby("CustomerID", sort=False)[list(CUSTOMER_FIELDS)]
    first, distinct = grouped.first(), grouped.nunique(dropna=True)
    return first.where(distinct == 1).astype(object).where(distinct == 1, None)


def _check_all(columns: dict[str, np.ndarray], catalogue: Catalogue | None) -> Checked:
    """check, then the pending rows again with their customers' agreed values (one batch)."""
    first = check(columns, catalogue)
    rows = np.flatnonzero(first.pending)
    if not len(rows):
        return first
    day_first = day_first_of(*slash_tally(first.slash_votes))
    facts = pd.DataFrame(_customer_facts(first))
    customers = facts["CustomerID"].to_numpy()[rows]
    concerned = facts[facts["CustomerID"].isin(pd.unique(customers))]  # only these can matter
    agreed = agreed_customers(concerned).reindex(customers)
    second = check({c: v[rows] for c, v in columns.items()}, first.catalogue, agreed, day_first)
    return _merged(first, second, rows)


def slash_tally(votes: Any) -> tuple[int, int]:
    """(rows voting day-first, rows voting month-first): day_first_of's input."""
    votes = np.asarray(votes)
    return int((votes > 0).sum()), int((votes < 0).sum())


def _merged(first: Checked, second: Checked, rows: np.ndarray) -> Checked:
    def put(into: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = into.copy()
        out[rows] = values
        return out

    def put_all(
        into: dict[str, np.ndarray], values: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        return {k: put(v, values[k]) for k, v in into.items()}

    return Checked(
        raw=first.raw,
        reason=put(first.reason, second.reason),
        passed=put(first.passed, second.passed),
        text=put_all(first.text, second.text),
        age=put(first.age, second.age),
        country=put(first.country, second.country),
        product=put(first.product, second.product),
        catalogue=first.catalogue,
        quantity=put(first.quantity, second.quantity),
        total=put(first.total, second.total),
        dates=put_all(first.dates, second.dates),
        valid=put_all(first.valid, second.valid),
        pending=put(first.pending, second.pending),
        slash_votes=first.slash_votes,
        flags=put(first.flags, second.flags),
    )


def _customer_facts(checked: Checked) -> dict[str, np.ndarray]:
    """CustomerID and CUSTOMER_FIELDS per row, null where not valid."""
    valid = checked.valid
    country = np.where(valid["Country"], checked.country, 0)
    return {
        "CustomerID": _spread(valid["CustomerID"], checked.text["CustomerID"][valid["CustomerID"]]),
        "Name": _spread(valid["Name"], checked.text["Name"][valid["Name"]]),
        "Age": checked.age,
        "Country": _spread(valid["Country"], COUNTRY_NAME_ARRAY[country][valid["Country"]]),
        "RegistrationDate": _dates(checked.dates["RegistrationDate"]),
    }


def fill_stats(ages: Any, totals: Any, stats: CleanStats) -> dict[str, np.ndarray]:
    """STATS_COLUMNS for passing rows, from their checked Age (NaN: fill) and TotalAmount."""
    ages = np.asarray(ages, dtype=np.float64)
    age = np.where(np.isnan(ages), fill_age(stats), ages).astype(np.int32)
    return {
        "Age": age,
        "AgeGroup": age_groups(age),
        "TotalAmountNormalized": normalise_totals(totals, stats),
    }


def _checked_columns(checked: Checked) -> dict[str, np.ndarray]:
    passed = checked.passed
    rejected = ~passed
    product = checked.product[passed]
    catalogue = checked.catalogue
    clean: dict[str, np.ndarray] = {
        "row_key": checked.text["row_key"][passed],
        "Region": COUNTRY_REGION_ARRAY[checked.country[passed]],
        "Quantity": checked.quantity[passed],
        "ProductID": catalogue.id_array[product],
        "ProductName": catalogue.name_array[product],
        "Category": catalogue.category_name_array[product],
        "Price": catalogue.price_array[product],
        "ShippingAddress": checked.text["ShippingAddress"][passed],
        **{f: _dates(checked.dates[f][passed]) for f in ("OrderDate", "ShippingDate")},
        "quality_flags": checked.flags[passed],
    }
    columns = {c: _spread(passed, v) for c, v in clean.items()}
    columns.update(_customer_facts(checked))  # every row's valid values: agreed_customers' input
    columns["TotalAmount"] = checked.total
    columns["reason"] = checked.reason
    raw = checked.raw
    for f, q in QUARANTINE_TEXT.items():
        columns[q] = _spread(rejected, objects([_as_text(v) for v in raw[f][rejected]]))
    kept = rejected | checked.pending
    columns["raw"] = _spread(kept, raw["raw"][kept])
    columns["pending"] = checked.pending
    columns["slash_votes"] = checked.slash_votes
    return columns


def _spread(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` at the rows where `rows` is True, null (None or NaN) elsewhere."""
    if rows.all():
        return values
    out = np.full(len(rows), None if values.dtype == object else np.nan, dtype=values.dtype)
    out[rows] = values
    return out


def _assemble(checked: Checked, stats: CleanStats) -> CleanResult:
    """check_lines' columns -> clean (first of each row_key, filled), quarantine, duplicates."""
    columns = _checked_columns(checked)
    passed = checked.passed
    keep = passed.copy()
    if passed.any():
        keep[passed] = ~pd.Series(columns["row_key"][passed]).duplicated(keep="first").to_numpy()
    filled = fill_stats(columns["Age"][keep], columns["TotalAmount"][keep], stats)
    clean = pd.DataFrame({c: filled[c] if c in filled else columns[c][keep] for c in CLEAN_COLUMNS})
    clean["Quantity"] = clean["Quantity"].astype(np.int32)

    rejected = ~passed
    quarantine = {f: columns[q][rejected] for f, q in QUARANTINE_TEXT.items()}
    quarantine["raw"] = columns["raw"][rejected]
    quarantine["reason"] = checked.reason[rejected]
    return CleanResult(
        clean=clean,
        quarantine=pd.DataFrame(quarantine, columns=list(QUARANTINE_COLUMNS), dtype=object),
        duplicates=int(passed.sum() - keep.sum()),
    )


def _dates(ordinals: np.ndarray) -> np.ndarray:
    """Proleptic ordinals -> dates, None where the ordinal is not a date (-1)."""
    distinct, inverse = np.unique(ordinals, return_inverse=True)
    dates = [dt.date.fromordinal(int(o)) if o > 0 else None for o in distinct]
    return objects(dates)[inverse.reshape(-1)]


def _as_text(value: Any) -> str | None:
    """A raw field value as text for the quarantine: strings as they are, others as JSON."""
    if value is None:
        return None
    if type(value) is str:
        return safe_text(value)
    try:
        return safe_text(json.dumps(value, ensure_ascii=False, allow_nan=True))
    except (TypeError, ValueError, RecursionError):
        return safe_text(repr(value))
