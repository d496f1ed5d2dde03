"""Synthetic e-commerce orders as raw JSON lines, with deliberate errors and their truth twin.

Fast: Faker only builds small value pools (cached per seed); rows are sampled from them with numpy
and error-free rows are filled into one line template. Everything is a pure function of (rows, seed,
error_rate, start) except `write_orders` and `read_truth`, which do the file I/O.

- Row keys are ``f"{seed:x}-{index:09d}"``; CustomerIDs ``f"C{seed:x}-{customer:06d}"``.
- A customer's Name, Age, Country, RegistrationDate and ShippingAddress are a hash of (seed,
  customer), so they agree across rows and chunks.
- Per-row randomness comes from ``numpy.random.default_rng([seed, start, k])``, one stream for the
  values and one for the errors: the truth values do not depend on error_rate.
- Each erroneous row gets one error kind (ERROR_KINDS), and with MULTI_ERROR_SHARE a second one on
  another field group (FIELD_GROUP), so that errors never hide each other.
- ``mixed_date_format`` uses formats that cannot be misread: ``MM/DD/YYYY`` (only when the day is
  > 12), ``DD.MM.YYYY``, ``YYYY/MM/DD``, ``March 15, 2024``, ``15 March 2024``, ``15 Mar 2024``.
- Malformed lines are truncated JSON, a JSON array of the values, a doubly encoded JSON string, or
  an object with a wrong JSON type (e.g. Age as a list). All keep the row_key in their text (it is
  the first key of every line), so a quarantined line can be traced to its truth row.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker
from tqdm import tqdm

from pipeline.clean import age_groups
from pipeline.schema import AGE_MAX, AGE_MIN, CATALOGUE, CLEAN_COLUMNS, COUNTRIES, FIELDS

DEFAULT_ERROR_RATE = 0.05
MULTI_ERROR_SHARE = 0.1  # share of erroneous rows that get a second error kind

ERROR_KINDS: dict[str, float] = {
    "missing_value": 3.0,
    "typo_country": 2.0,
    "typo_category": 1.0,
    "typo_product": 2.0,
    "invalid_age": 1.0,
    "invalid_quantity": 1.0,
    "invalid_price": 1.0,
    "number_as_text": 2.0,
    "non_numeric_text": 1.0,
    "total_mismatch": 1.0,
    "mixed_date_format": 2.0,
    "impossible_date": 1.0,
    "ship_before_order": 1.0,
    "duplicate": 1.0,
    "malformed": 1.0,
}
ROW_KINDS = frozenset({"duplicate", "malformed"})  # whole-line errors: never combined

_DATES = ("RegistrationDate", "OrderDate", "ShippingDate")
_NUMBERS = ("Age", "Quantity", "Price", "TotalAmount")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "missing_value": (
        "Age", "Country", "Category", "Price", "ProductName", "ProductID", "Quantity",
        "TotalAmount", *_DATES, "Name", "ShippingAddress",
    ),
    "typo_country": ("Country",),
    "typo_category": ("Category",),
    "typo_product": ("ProductName",),
    "invalid_age": ("Age",),
    "invalid_quantity": ("Quantity",),
    "invalid_price": ("Price",),
    "number_as_text": _NUMBERS,
    "non_numeric_text": _NUMBERS,
    "total_mismatch": ("TotalAmount",),
    "mixed_date_format": _DATES,
    "impossible_date": _DATES,
    "ship_before_order": ("ShippingDate",),
    "duplicate": (),
    "malformed": (),
}  # fmt: skip
# Fields whose errors may interact share a group; a second error goes to another group.
FIELD_GROUP: dict[str, str] = {
    "Age": "age",
    "Country": "country",
    "Name": "contact",
    "ShippingAddress": "contact",
    **{f: "product" for f in ("ProductID", "ProductName", "Category", "Price", "Quantity")},
    "TotalAmount": "product",
    **{f: "dates" for f in _DATES},
}

N_CUSTOMERS = 50_000
REGISTRATION_START = dt.date(2019, 1, 1)
REGISTRATION_END = dt.date(2025, 6, 30)
ORDER_START = dt.date(2023, 1, 1)
ORDER_END = dt.date(2025, 12, 31)
MAX_SHIPPING_DAYS = 10
# Relative order volume per calendar month: a holiday peak and a summer dip.
MONTH_WEIGHTS = (0.85, 0.75, 0.9, 0.9, 0.95, 0.85, 0.8, 0.85, 0.95, 1.05, 1.45, 1.75)
QUANTITY_WEIGHTS = (0.45, 0.22, 0.12, 0.08, 0.05, 0.04, 0.02, 0.02)  # for 1, 2, ... 8
SHIPPING_WEIGHTS = (0.05, 0.2, 0.25, 0.2, 0.12, 0.08, 0.04, 0.03, 0.01, 0.01, 0.01)  # 0..10 days
POPULARITY_EXPONENT = 1.1  # Zipf-like product popularity
POOL_SIZE = 1000


@dataclass(frozen=True)
class Orders:
    """Raw lines (the record contract) and the truth: one row of clean values per distinct row_key.

    truth columns: schema.CLEAN_COLUMNS (TotalAmountNormalized is NaN: it needs global statistics),
    `errors` (injected kinds) and `error_fields` (the field each kind touched, None for whole-line
    kinds): tuples of equal length, empty for error-free rows.
    """

    lines: list[str]
    truth: pd.DataFrame


@dataclass(frozen=True)
class GenerateSummary:
    """What write_orders wrote."""

    rows: int
    lines: int
    errors: dict[str, int]
    orders_path: Path
    truth_paths: tuple[Path, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Pools and per-seed tables (built once per seed, then sampled with numpy)


@dataclass(frozen=True)
class _Pools:
    first: np.ndarray
    last: np.ndarray
    street: np.ndarray
    city: np.ndarray
    region: np.ndarray
    first_json: np.ndarray  # the same values escaped for a JSON string (without the quotes)
    last_json: np.ndarray
    street_json: np.ndarray
    city_json: np.ndarray
    region_json: np.ndarray
    popularity: np.ndarray  # product probabilities, a seed-specific Zipf-like ranking


@functools.lru_cache(maxsize=4)
def _pools(seed: int) -> _Pools:
    fake = Faker("en_US")
    fake.seed_instance(seed)

    def pool(make: Any) -> tuple[np.ndarray, np.ndarray]:
        values = sorted({make() for _ in range(POOL_SIZE)})
        return _objects(values), _objects([json.dumps(v)[1:-1] for v in values])

    (first, first_j), (last, last_j), (street, street_j), (city, city_j), (region, region_j) = (
        pool(fake.first_name),
        pool(fake.last_name),
        pool(fake.street_address),
        pool(fake.city),
        pool(lambda: f"{fake.state_abbr()} {fake.zipcode()}"),
    )
    ranks = np.random.default_rng([seed, 1 << 20]).permutation(len(CATALOGUE))
    weights = 1.0 / (ranks + 1.0) ** POPULARITY_EXPONENT
    return _Pools(
        first, last, street, city, region, first_j, last_j, street_j, city_j, region_j,
        popularity=weights / weights.sum(),
    )  # fmt: skip


_DAY0 = REGISTRATION_START.toordinal()
_DAYS = _DAY0 + np.arange((ORDER_END - REGISTRATION_START).days + MAX_SHIPPING_DAYS + 1)
_DAY_TEXT = np.array([dt.date.fromordinal(int(d)).isoformat() for d in _DAYS], dtype=object)
_DAY_DATE = np.empty(len(_DAYS), dtype=object)
_DAY_DATE[:] = [dt.date.fromordinal(int(d)) for d in _DAYS]
_AGES = np.arange(AGE_MIN, AGE_MAX + 1)
_AGE_CDF = np.cumsum(np.exp(-(((_AGES - 38.0) / 16.0) ** 2)))  # most buyers 25-55, a long tail
_AGE_CDF /= _AGE_CDF[-1]
_COUNTRY_CDF = np.cumsum(1.0 / np.arange(1, len(COUNTRIES) + 1) ** 0.8)
_COUNTRY_CDF /= _COUNTRY_CDF[-1]


def _months() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order months: first day (ordinal), length in days, probability (seasonal, growing)."""
    starts, lengths, weights = [], [], []
    year, month = ORDER_START.year, ORDER_START.month
    while dt.date(year, month, 1) <= ORDER_END:
        first = dt.date(year, month, 1)
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        starts.append(first.toordinal())
        lengths.append((nxt - first).days)
        weights.append(MONTH_WEIGHTS[month - 1] * (1 + 0.02 * len(starts)) * lengths[-1] / 30)
        year, month = nxt.year, nxt.month
    w = np.array(weights)
    return np.array(starts), np.array(lengths), w / w.sum()


_MONTH_START, _MONTH_DAYS, _MONTH_P = _months()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread hash of uint64 values (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(seed: int, customers: np.ndarray, salt: int) -> np.ndarray:
    """Deterministic uniform [0, 1) per (seed, customer, salt)."""
    base = _mix(np.full(1, seed, dtype=np.uint64) ^ np.uint64(salt * 0x632BE59BD9B4E019 % 2**64))
    h = _mix(customers.astype(np.uint64) ^ base)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _pick(pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    return pool[(u * len(pool)).astype(np.intp)]


# --------------------------------------------------------------------------------------------
# Clean values


def _clean_values(rows: int, seed: int, start: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, start, 0])
    pools = _pools(seed)
    customer = (N_CUSTOMERS * rng.random(rows) ** 2).astype(np.int64)  # some customers buy a lot
    c_first, c_last, c_street, c_city, c_region, c_age, c_country, c_reg = (
        _uniform(seed, customer, salt) for salt in range(1, 9)
    )
    parts = [
        (_pick(pool, u), _pick(escaped, u))
        for pool, escaped, u in (
            (pools.first, pools.first_json, c_first),
            (pools.last, pools.last_json, c_last),
            (pools.street, pools.street_json, c_street),
            (pools.city, pools.city_json, c_city),
            (pools.region, pools.region_json, c_region),
        )
    ]
    (first, first_j), (last, last_j), (street, street_j), (city, city_j), (region, region_j) = parts
    name, name_json = first + " " + last, '"' + first_j + " " + last_j + '"'
    address = street + ", " + city + ", " + region
    address_json = '"' + street_j + ", " + city_j + ", " + region_j + '"'
    age = _AGES[np.searchsorted(_AGE_CDF, c_age, side="right").clip(0, len(_AGES) - 1)]
    country = np.searchsorted(_COUNTRY_CDF, c_country, side="right").clip(0, len(COUNTRIES) - 1)
    reg_span = (REGISTRATION_END - REGISTRATION_START).days + 1
    registered = _DAY0 + (c_reg * reg_span).astype(np.int64)

    month = rng.choice(len(_MONTH_P), size=rows, p=_MONTH_P)
    ordered = _MONTH_START[month] + (rng.random(rows) * _MONTH_DAYS[month]).astype(np.int64)
    early = ordered < registered  # a first order follows soon after registering
    ordered = np.where(early, registered + rng.integers(0, 30, rows), ordered)
    shipped = ordered + rng.choice(len(SHIPPING_WEIGHTS), size=rows, p=SHIPPING_WEIGHTS)

    product = rng.choice(len(CATALOGUE), size=rows, p=pools.popularity)
    quantity = 1 + rng.choice(len(QUANTITY_WEIGHTS), size=rows, p=QUANTITY_WEIGHTS)
    price = np.array([p.price for p in CATALOGUE])[product]
    return {
        "index": start + np.arange(rows, dtype=np.int64),
        "customer": customer,
        "name": name,
        "name_json": name_json,
        "age": age,
        "country": country,
        "address": address,
        "address_json": address_json,
        "registered": registered - _DAY0,
        "ordered": ordered - _DAY0,
        "shipped": shipped - _DAY0,
        "product": product,
        "quantity": quantity,
        "total": np.round(quantity * price, 2),
    }


def _truth(values: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    n = len(values["index"])
    products = [CATALOGUE[i] for i in values["product"].tolist()]
    age = values["age"].astype(np.int32)
    columns: dict[str, Any] = {
        "row_key": _objects([f"{seed:x}-{i:09d}" for i in values["index"].tolist()]),
        "CustomerID": _objects([f"C{seed:x}-{c:06d}" for c in values["customer"].tolist()]),
        "Name": values["name"],
        "Age": age,
        "AgeGroup": age_groups(age),
        "Country": np.array(COUNTRIES, dtype=object)[values["country"]],
        "RegistrationDate": _DAY_DATE[values["registered"]],
        "OrderDate": _DAY_DATE[values["ordered"]],
        "Quantity": values["quantity"].astype(np.int32),
        "TotalAmount": values["total"].astype(np.float64),
        "TotalAmountNormalized": np.full(n, np.nan),
        "ProductID": _objects([p.product_id for p in products]),
        "ProductName": _objects([p.name for p in products]),
        "Category": _objects([p.category for p in products]),
        "Price": np.array([p.price for p in products], dtype=np.float64),
        "ShippingAddress": values["address"],
        "ShippingDate": _DAY_DATE[values["shipped"]],
    }
    return pd.DataFrame({c: columns[c] for c in CLEAN_COLUMNS})


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


_JSON_COUNTRY = [json.dumps(c) for c in COUNTRIES]
_JSON_PRODUCT = [
    f'"ProductID":"{p.product_id}","ProductName":{json.dumps(p.name)},'
    f'"Category":{json.dumps(p.category)},"Price":{p.price:.2f}'
    for p in CATALOGUE
]


def _clean_lines(truth: pd.DataFrame, values: dict[str, np.ndarray]) -> list[str]:
    """Lines of error-free rows: one template filled per row (row_key first, then FIELDS order)."""
    name = values["name_json"].tolist()
    address = values["address_json"].tolist()
    country = np.array(_JSON_COUNTRY, dtype=object)[values["country"]].tolist()
    product = np.array(_JSON_PRODUCT, dtype=object)[values["product"]].tolist()
    return [
        f'{{"row_key":"{rk}","CustomerID":"{cid}","Name":{nm},"Age":{age},"Country":{co},'
        f'"RegistrationDate":"{rd}","OrderDate":"{od}","Quantity":{q},"TotalAmount":{t:.2f},'
        f'{pr},"ShippingAddress":{ad},"ShippingDate":"{sd}"}}'
        for rk, cid, nm, age, co, rd, od, q, t, pr, ad, sd in zip(
            truth["row_key"].tolist(),
            truth["CustomerID"].tolist(),
            name,
            values["age"].tolist(),
            country,
            _DAY_TEXT[values["registered"]].tolist(),
            _DAY_TEXT[values["ordered"]].tolist(),
            values["quantity"].tolist(),
            values["total"].tolist(),
            product,
            address,
            _DAY_TEXT[values["shipped"]].tolist(),
            strict=True,
        )
    ]


# --------------------------------------------------------------------------------------------
# Error injection (per erroneous row, on a plain dict record)


def _record_of(row: dict[str, Any]) -> dict[str, Any]:
    """A clean row (truth columns) as a raw record: row_key first, JSON-ready values."""
    record = {"row_key": row["row_key"]}
    for f in FIELDS:
        if f != "row_key":
            value = row[f]
            record[f] = value.isoformat() if isinstance(value, dt.date) else value
    for f in ("Age", "Quantity"):
        record[f] = int(record[f])
    for f in ("Price", "TotalAmount"):
        record[f] = float(record[f])
    return record


_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_QWERTY):
    for _c, _ch in enumerate(_row):
        _near = [_row[j] for j in (_c - 1, _c + 1) if 0 <= j < len(_row)]
        _near += [_QWERTY[k][_c] for k in (_r - 1, _r + 1) if 0 <= k < 3 and _c < len(_QWERTY[k])]
        _NEIGHBOURS[_ch] = "".join(_near)


def typo(text: str, rnd: random.Random) -> str:
    """One recoverable edit: drop, double, swap or mistype a letter; change case; add whitespace."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    op = rnd.choice(("drop", "double", "swap", "neighbour", "case", "space"))
    i = rnd.choice(letters)
    if op == "drop":
        out = text[:i] + text[i + 1 :]
    elif op == "swap" and i + 1 < len(text) and text[i] != text[i + 1]:
        out = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    elif op == "neighbour" and text[i].lower() in _NEIGHBOURS:
        near = rnd.choice(_NEIGHBOURS[text[i].lower()])
        out = text[:i] + (near.upper() if text[i].isupper() else near) + text[i + 1 :]
    elif op == "case":
        out = rnd.choice(
            (text.lower(), text.upper(), text[:i] + text[i].swapcase() + text[i + 1 :])
        )
    elif op == "space":
        out = rnd.choice((f" {text}", f"{text} ", f"  {text}  ", text.replace(" ", "  ", 1)))
    else:
        out = text[: i + 1] + text[i:]
    return out if out != text else text[: i + 1] + text[i:]


_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def other_date_format(iso: str, rnd: random.Random) -> str:
    """The same date in another unambiguous format (see the module docstring)."""
    d = dt.date.fromisoformat(iso)
    month = _MONTH_NAMES[d.month - 1]
    formats = [
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.year}/{d.month:02d}/{d.day:02d}",
        f"{month} {d.day}, {d.year}",
        f"{d.day} {month} {d.year}",
        f"{d.day} {month[:3]} {d.year}",
    ]
    if d.day > 12:
        formats.append(f"{d.month:02d}/{d.day:02d}/{d.year}")
    return rnd.choice(formats)


def _impossible_date(iso: str, rnd: random.Random) -> str:
    d = dt.date.fromisoformat(iso)
    year, month, day = rnd.choice(
        ((d.year, 2, 30), (d.year, 2, 31), (d.year, 4, 31), (d.year, 11, 31), (d.year, 13, d.day),
         (d.year, d.month, 32), (d.year, d.month, 0), (d.year, 0, d.day))
    )  # fmt: skip
    return f"{year:04d}-{month:02d}-{day:02d}"


def _number_text(field_name: str, value: float, rnd: random.Random) -> str:
    if field_name in ("Age", "Quantity"):
        return rnd.choice((f"{int(value)}", f" {int(value)} ", f"{int(value)}.0"))
    return rnd.choice((f"${value:,.2f}", f"{value:.2f}", f" {value:,.2f} ", f"${value:.2f}"))


def _mismatched_total(total: float, price: float, rnd: random.Random) -> float:
    out = rnd.choice(
        (total * 10, total / 10, total + price, total + rnd.randint(1, 999) / 100, total * 1.1)
    )
    out = round(out, 2)
    return out if out > 0 and abs(out - total) >= 0.01 else round(total + 1.0, 2)


def inject(
    record: dict[str, Any], kind: str, rnd: random.Random, avoid: frozenset[str] = frozenset()
) -> str | None:
    """Apply one field-level error of `kind` to `record` in place; return the field it touched.

    Returns None (record unchanged) when the kind has no field outside the groups in `avoid`.
    """
    choices = [f for f in KIND_FIELDS[kind] if FIELD_GROUP[f] not in avoid]
    if not choices:
        return None
    target = rnd.choice(choices)
    value = record.get(target)
    if kind == "missing_value":
        how = rnd.choice(("null", "absent", "empty"))
        if how == "absent":
            record.pop(target, None)
        else:
            record[target] = None if how == "null" else ""
    elif kind.startswith("typo_"):
        record[target] = typo(value, rnd)
    elif kind == "invalid_age":
        record[target] = rnd.choice((-value, 0, value + 150, 999, -1, rnd.randint(1, AGE_MIN - 1)))
    elif kind == "invalid_quantity":
        record[target] = rnd.choice((0, -value))
    elif kind == "invalid_price":
        record[target] = rnd.choice((0, 0.0, -value))
    elif kind == "number_as_text":
        record[target] = _number_text(target, value, rnd)
    elif kind == "non_numeric_text":
        record[target] = rnd.choice(("abc", "N/A", "unknown", "twelve", "--", "?"))
    elif kind == "total_mismatch":
        record[target] = _mismatched_total(value, record["Price"], rnd)
    elif kind == "mixed_date_format":
        record[target] = other_date_format(value, rnd)
    elif kind == "impossible_date":
        record[target] = _impossible_date(value, rnd)
    elif kind == "ship_before_order":
        ordered = dt.date.fromisoformat(record["OrderDate"])
        record[target] = (ordered - dt.timedelta(days=rnd.randint(1, 14))).isoformat()
    else:
        raise ValueError(f"inject: {kind!r} is not a field-level error kind; see KIND_FIELDS")
    return target


def malformed_line(record: dict[str, Any], rnd: random.Random) -> str:
    """A line that is not a usable record but still contains the row_key text."""
    line = _dumps(record)
    how = rnd.choice(("truncated", "array", "string", "wrong_type"))
    if how == "truncated":
        keep_from = len(_dumps({"row_key": record["row_key"]})) - 1
        return line[: rnd.randint(keep_from, len(line) - 1)]
    if how == "array":
        return _dumps(list(record.values()))
    if how == "string":
        return json.dumps(line)
    bad = dict(record)
    target = rnd.choice(("Age", "Quantity", "Price", "Name", "Country", "OrderDate"))
    original = record[target]
    bad[target] = {
        "Age": [original],
        "Quantity": {"value": original},
        "Price": True,
        "Name": 12345,
        "Country": [original],
        "OrderDate": 20240315,
    }[target]
    return _dumps(bad)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dirty_lines(
    record: dict[str, Any], kinds: list[str], rnd: random.Random
) -> tuple[list[str], list[str | None]]:
    """Apply `kinds` to a clean record; return its line(s) and the field each kind touched."""
    fields: list[str | None] = []
    record = dict(record)
    for kind in kinds:
        if kind in ROW_KINDS:
            fields.append(None)
        else:
            fields.append(inject(record, kind, rnd, frozenset(FIELD_GROUP[f] for f in fields if f)))
    if "malformed" in kinds:
        return [malformed_line(record, rnd)], fields
    line = _dumps(record)
    return ([line, line] if "duplicate" in kinds else [line]), fields


def _draw_kinds(rnd: random.Random) -> list[str]:
    names, weights = list(ERROR_KINDS), list(ERROR_KINDS.values())
    first = rnd.choices(names, weights)[0]
    if first in ROW_KINDS or rnd.random() >= MULTI_ERROR_SHARE:
        return [first]
    field_kinds = [k for k in names if k not in ROW_KINDS]
    second = rnd.choices(field_kinds, [ERROR_KINDS[k] for k in field_kinds])[0]
    return [first, second]


# --------------------------------------------------------------------------------------------
# Public API


def generate_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, start: int = 0
) -> Orders:
    """`rows` orders starting at row index `start`: raw lines plus the truth twin."""
    if rows < 0 or seed < 0 or start < 0:
        raise ValueError(f"generate_orders: rows={rows}, seed={seed}, start={start} must be >= 0")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"generate_orders: error_rate={error_rate} must be within [0, 1]")
    values = _clean_values(rows, seed, start)
    truth = _truth(values, seed)
    lines = _clean_lines(truth, values)

    err_rng = np.random.default_rng([seed, start, 1])
    erroneous = np.flatnonzero(err_rng.random(rows) < error_rate)
    rnd = random.Random(int(err_rng.integers(0, 2**63)))
    extra: list[tuple[float, str]] = []  # duplicate lines, placed a little after their original
    # Tuples, not lists: the shared empty tuple costs nothing, and 2 x rows lists would cost the
    # garbage collector more than the rest of the generator.
    errors, error_fields = _objects([()] * rows), _objects([()] * rows)
    if len(erroneous):
        records = truth.iloc[erroneous][list(CLEAN_COLUMNS)].to_dict("records")
        for i, row in zip(erroneous.tolist(), records, strict=True):
            kinds = _draw_kinds(rnd)
            out, fields = dirty_lines(_record_of(row), kinds, rnd)
            kept = [(k, f) for k, f in zip(kinds, fields, strict=True) if k in ROW_KINDS or f]
            errors[i] = tuple(k for k, _ in kept)
            error_fields[i] = tuple(f for _, f in kept)
            lines[i] = out[0]
            extra += [(i + rnd.uniform(0.5, 500.0), line) for line in out[1:]]
    truth["errors"] = errors
    truth["error_fields"] = error_fields
    if extra:
        order = np.argsort([*range(len(lines)), *(at for at, _ in extra)], kind="stable")
        lines = _objects(lines + [line for _, line in extra])[order].tolist()
    return Orders(lines=lines, truth=truth)


def iter_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, chunk_rows: int = 100_000
) -> Iterator[Orders]:
    """`rows` orders in chunks of `chunk_rows` (the dataset depends on chunk_rows)."""
    if chunk_rows <= 0:
        raise ValueError(f"iter_orders: chunk_rows={chunk_rows} must be > 0")
    for start in range(0, rows, chunk_rows):
        yield generate_orders(min(chunk_rows, rows - start), seed, error_rate, start=start)


def error_counts(truth: pd.DataFrame) -> dict[str, int]:
    """Injected errors by kind."""
    counts = Counter(k for kinds in truth["errors"] for k in kinds)
    return {k: counts.get(k, 0) for k in ERROR_KINDS}


def write_orders(
    rows: int,
    seed: int,
    error_rate: float,
    output: Path,
    chunk_rows: int = 100_000,
    progress: bool = True,
) -> GenerateSummary:
    """Write output/orders.jsonl and output/truth-NNNNN.parquet (one per chunk): the only I/O."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob("truth-*.parquet"):
        stale.unlink()
    orders_path = output / "orders.jsonl"
    truth_paths: list[Path] = []
    errors: Counter[str] = Counter()
    lines = 0
    with (
        orders_path.open("w", encoding="utf-8") as out,
        tqdm(total=rows, unit="rows", disable=not progress, desc="generate") as bar,
    ):
        for n, chunk in enumerate(iter_orders(rows, seed, error_rate, chunk_rows)):
            out.write("\n".join(chunk.lines))
            out.write("\n" if chunk.lines else "")
            path = output / f"truth-{n:05d}.parquet"
            chunk.truth.to_parquet(path, index=False)
            truth_paths.append(path)
            errors.update(error_counts(chunk.truth))
            lines += len(chunk.lines)
            bar.update(len(chunk.truth))
    return GenerateSummary(
        rows=rows,
        lines=lines,
        errors={k: errors.get(k, 0) for k in ERROR_KINDS},
        orders_path=orders_path,
        truth_paths=tuple(truth_paths),
    )


def read_truth(output: Path) -> pd.DataFrame:
    """The truth chunks written by write_orders, concatenated (I/O)."""
    paths = sorted(Path(output).glob("truth-*.parquet"))
    if not paths:
        raise FileNotFoundError(f"read_truth: no truth-*.parquet in {output}; run write_orders")
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def naive_faker_rows(rows: int, seed: int) -> list[dict[str, Any]]:
    """The baseline the benchmark compares against: Faker called per field per row."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for i in range(rows):
        product = fake.random_element(CATALOGUE)
        quantity = fake.random_int(1, len(QUANTITY_WEIGHTS))
        ordered = fake.date_between(ORDER_START, ORDER_END)
        registered = fake.date_between(REGISTRATION_START, ordered)
        shipped = ordered + dt.timedelta(days=fake.random_int(0, MAX_SHIPPING_DAYS))
        out.append(
            {
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
        )
    return out
