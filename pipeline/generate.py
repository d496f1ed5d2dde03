"""Synthetic e-commerce orders as raw JSON lines, with deliberate errors and their truth twin.

Fast: Faker only builds small value pools (cached per seed); every customer's values and JSON text
are built once per seed, rows are sampled with numpy, and an error-free line is one template filled
with pre-rendered fragments (pipeline.generate_values). Only the ~error_rate share of erroneous rows
is handled one by one, as dicts (pipeline.generate_errors). Everything is a pure function of (rows,
seed, error_rate, start); pipeline.orders_files writes them to disk and reads the truth back.

- Row keys are ``f"{seed:x}-{index:09d}"``; CustomerIDs ``f"C{seed:x}-{customer:06d}"``.
- A customer's Name, Age, Country, RegistrationDate and ShippingAddress are a hash of (seed,
  customer), so they agree across rows and chunks.
- Per-row randomness comes from ``numpy.random.default_rng([seed, start, k])``, one stream for the
  values and one for the errors: the truth values do not depend on error_rate.
- Each erroneous row gets one error kind (ERROR_KINDS), and with MULTI_ERROR_SHARE a second one on
  another field group (FIELD_GROUP), so that errors never hide each other.
- ``mixed_date_format`` uses formats that cannot be misread: ``MM/DD/YYYY`` (only when the day is
  > 12), ``DD.MM.YYYY``, ``YYYY/MM/DD``, ``March 15, 2024``, ``15 March 2024``, ``15 Mar 2024``.
- An erroneous line is its clean line with the touched fields rendered anew (json) or left out;
  the other fields keep their clean text (prices with two decimals). A duplicate repeats the line a
  little later.
- Malformed lines are truncated JSON, a JSON array of the values, a doubly encoded JSON string, or
  an object with a wrong JSON type (e.g. Age as a list). All keep the row_key in their text (it is
  the first key of every line), so a quarantined line can be traced to its truth row.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from faker import Faker

from pipeline.generate_errors import (
    DEFAULT_ERROR_RATE,
    ERROR_KINDS,
    FIELD_GROUP,
    KIND_FIELDS,
    MULTI_ERROR_SHARE,
    ROW_KINDS,
    dirty_lines,
    draw_kinds,
    inject,
    inject_kinds,
    malformed_line,
    other_date_format,
    replace_fields,
    typo,
)
from pipeline.generate_values import (
    MAX_SHIPPING_DAYS,
    N_CUSTOMERS,
    ORDER_END,
    ORDER_START,
    QUANTITY_WEIGHTS,
    REGISTRATION_START,
    Draws,
    draw,
    lines,
    no_errors,
    objects,
    records,
    truth_frame,
    with_extra,
)
from pipeline.schema import AGE_MAX, AGE_MIN, CATALOGUE, COUNTRIES

__all__ = [
    "DEFAULT_ERROR_RATE",
    "ERROR_KINDS",
    "FIELD_GROUP",
    "KIND_FIELDS",
    "MULTI_ERROR_SHARE",
    "ROW_KINDS",
    "Orders",
    "check_arguments",
    "dirty_lines",
    "error_counts",
    "generate_orders",
    "inject",
    "malformed_line",
    "naive_faker_rows",
    "other_date_format",
    "typo",
]


@dataclass(frozen=True)
class Orders:
    """Raw lines (the record contract) and the truth: one row of clean values per distinct row_key.

    truth columns: schema.CLEAN_COLUMNS (TotalAmountNormalized is NaN: it needs global statistics),
    `errors` (injected kinds) and `error_fields` (the field each kind touched, None for whole-line
    kinds): tuples of equal length, empty for error-free rows.
    """

    lines: list[str]
    truth: pd.DataFrame


def check_arguments(rows: int, seed: int, error_rate: float, start: int) -> None:
    """ValueError for arguments generate_orders (and the file writer) cannot take."""
    if rows < 0 or seed < 0 or start < 0:
        raise ValueError(f"generate_orders: rows={rows}, seed={seed}, start={start} must be >= 0")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"generate_orders: error_rate={error_rate} must be within [0, 1]")


def generate_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, start: int = 0
) -> Orders:
    """`rows` orders starting at row index `start`: raw lines plus the truth twin."""
    check_arguments(rows, seed, error_rate, start)
    draws = draw(rows, seed, start)
    err_rng = np.random.default_rng([seed, start, 1])
    erroneous = np.flatnonzero(err_rng.random(rows) < error_rate)
    kinds = draw_kinds(err_rng, len(erroneous))
    rnd = random.Random(int(err_rng.integers(0, 2**63)))
    text = lines(draws)
    errors, error_fields, extra = _inject(draws, erroneous, kinds, text, rnd)
    return Orders(lines=with_extra(text, extra), truth=truth_frame(draws, errors, error_fields))


def _inject(
    draws: Draws,
    erroneous: np.ndarray,
    kinds: list[tuple[str, ...]],
    text: list[str],
    rnd: random.Random,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, str]]]:
    """The `kinds` of errors for the rows at positions `erroneous`, changing their lines in `text`
    in place.

    A row's line keeps the text of its untouched fields (replace_fields); a malformed line is made
    from the record; a duplicate is placed a little after its original. Returns the truth's
    `errors` and `error_fields` columns, and the duplicates as ``(after, line)``.
    """
    # Tuples, and one object per distinct tuple (the empty one for error-free rows): per-row
    # containers would cost the garbage collector more than the rest of the generator.
    errors, error_fields = no_errors(len(text)), no_errors(len(text))
    row_errors: list[tuple[str | None, ...]] = []
    row_fields: list[tuple[str | None, ...]] = []
    shared: dict[tuple[str | None, ...], tuple[str | None, ...]] = {}  # one object per value
    extra: list[tuple[float, str]] = []
    rows = zip(erroneous.tolist(), kinds, records(draws, erroneous), strict=True)
    for i, row_kinds, record in rows:
        fields = inject_kinds(record, row_kinds, rnd)  # the records are ours: changed in place
        if "malformed" in row_kinds:
            text[i] = malformed_line(record, rnd)
        else:
            text[i] = replace_fields(text[i], record, [f for f in fields if f])
            if "duplicate" in row_kinds:
                extra.append((i + rnd.uniform(0.5, 500.0), text[i]))
        if None in fields and len(row_kinds) > 1:
            # A second kind found no field outside the first one's group: it was not injected.
            kept = [(k, f) for k, f in zip(row_kinds, fields, strict=True) if k in ROW_KINDS or f]
            row_kinds = tuple(k for k, _ in kept)
            fields = [f for _, f in kept]
        fields_key = tuple(fields)
        row_errors.append(shared.setdefault(row_kinds, row_kinds))
        row_fields.append(shared.setdefault(fields_key, fields_key))
    errors[erroneous] = objects(row_errors)
    error_fields[erroneous] = objects(row_fields)
    return errors, error_fields, extra


def error_counts(truth: pd.DataFrame) -> dict[str, int]:
    """Injected errors by kind."""
    counts = Counter(k for kinds in truth["errors"] for k in kinds)
    return {k: counts.get(k, 0) for k in ERROR_KINDS}


# --------------------------------------------------------------------------------------------
# Baseline


def naive_faker_rows(rows: int, seed: int) -> list[str]:
    """The baseline the benchmark compares against: the same product (raw JSON lines, row_key
    first) written the obvious way, with one Faker call per field per row and json.dumps per row."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for i in range(rows):
        product = fake.random_element(CATALOGUE)
        quantity = fake.random_int(1, len(QUANTITY_WEIGHTS))
        ordered = fake.date_between(ORDER_START, ORDER_END)
        registered = fake.date_between(REGISTRATION_START, ordered)
        shipped = ordered + dt.timedelta(days=fake.random_int(0, MAX_SHIPPING_DAYS))
        record = {
            "row_key": f"{seed:x}-{i:09d}",
            "CustomerID": f"C{seed:x}-{fake.random_int(0, N_CUSTOMERS - 1):06d}",
            "Name": fake.name(),
            "Age": fake.random_int(AGE_MIN, AGE_MAX),
            "Country": fake.random_element(COUNTRIES),
            "RegistrationDate": registered.isoformat(),
            "OrderDate": ordered.isoformat(),
            "Quantity": quantity,
            "TotalAmount": round(quantity * product.price, 2),
            "ProductID": product.product_id,
            "ProductName": product.name,
            "Category": product.category,
            "Price": product.price,
            "ShippingAddress": fake.address().replace("\n", ", "),
            "ShippingDate": shipped.isoformat(),
        }
        out.append(json.dumps(record))
    return out
