"""Clean values for the generator: Faker pools, the per-seed customer table, per-row draws, and
from them the truth frame and the text of the lines (see ``pipeline.generate`` for the overview).

Per-row work is numpy, plus one f-string per line: Faker fills small pools once per seed; every
customer's attributes and JSON text are built once per seed (``customers``); each day and each
(product, quantity) pair is rendered once, so a clean line is its row_key and five pre-built
strings in one template. Fresh memory costs a page fault per 4 KiB, a good part of the time: hence
the scratch arrays and in-place arithmetic in ``draw``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from faker import Faker
from faker.providers.person.en_US import Provider as _Person

from pipeline.schema import AGE_MAX, AGE_MIN, CATALOGUE, CLEAN_COLUMNS, COUNTRIES

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


def objects(values: Any) -> np.ndarray:
    """A 1-d object array of `values` (never a 2-d array of tuples or characters)."""
    values = values if isinstance(values, list) else list(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# --------------------------------------------------------------------------------------------
# Tables that do not depend on the seed: days, ages, countries, products


_DAY0 = REGISTRATION_START.toordinal()  # day offsets below count from here
_N_DAYS = (ORDER_END - REGISTRATION_START).days + MAX_SHIPPING_DAYS + 1
DAY_DATE = objects(dt.date.fromordinal(_DAY0 + d) for d in range(_N_DAYS))
DAY_TEXT = objects(d.isoformat() for d in DAY_DATE)
_AGES = np.arange(AGE_MIN, AGE_MAX + 1)
_AGE_CDF = np.cumsum(np.exp(-(((_AGES - 38.0) / 16.0) ** 2)))  # most buyers 25-55, a long tail
_AGE_CDF /= _AGE_CDF[-1]
_COUNTRY_CDF = np.cumsum(1.0 / np.arange(1, len(COUNTRIES) + 1) ** 0.8)
_COUNTRY_CDF /= _COUNTRY_CDF[-1]
_COUNTRY = objects(COUNTRIES)
# The UN M49 region of each country the generator draws, written out here rather than taken from
# the cleaner's table (pipeline/country_regions.csv), so that the truth can catch an error in it.
_TRUTH_REGIONS: dict[str, str] = {
    "United States": "Americas", "United Kingdom": "Europe", "Germany": "Europe",
    "France": "Europe", "Canada": "Americas", "Australia": "Oceania", "Japan": "Asia",
    "India": "Asia", "Brazil": "Americas", "Mexico": "Americas", "Spain": "Europe",
    "Italy": "Europe", "Netherlands": "Europe", "Sweden": "Europe", "Norway": "Europe",
    "Poland": "Europe", "South Korea": "Asia", "China": "Asia", "Singapore": "Asia",
    "South Africa": "Africa", "Nigeria": "Africa", "Argentina": "Americas", "Ireland": "Europe",
    "New Zealand": "Oceania", "Switzerland": "Europe", "Turkey": "Asia", "Egypt": "Africa",
    "Kenya": "Africa", "Portugal": "Europe", "Belgium": "Europe",
}  # fmt: skip
_REGION = objects([_TRUTH_REGIONS[c] for c in COUNTRIES])

_N_QUANTITIES = len(QUANTITY_WEIGHTS)
PRODUCT_ID = objects(p.product_id for p in CATALOGUE)
PRODUCT_NAME = objects(p.name for p in CATALOGUE)
CATEGORY = objects(p.category for p in CATALOGUE)
PRICE = np.array([p.price for p in CATALOGUE], dtype=np.float64)
# Per (product, quantity) pair, index product * _N_QUANTITIES + quantity - 1: the TotalAmount and
# the line text from the OrderDate's closing quote to the ShippingAddress key.
TOTAL = np.round(np.arange(1, _N_QUANTITIES + 1)[None, :] * PRICE[:, None], 2).ravel()
_PRODUCT_TEXT = objects(
    f'","Quantity":{k % _N_QUANTITIES + 1},"TotalAmount":{TOTAL[k]:.2f},'
    f'"ProductID":"{p.product_id}","ProductName":{json.dumps(p.name)},'
    f'"Category":{json.dumps(p.category)},"Price":{p.price:.2f},"ShippingAddress":'
    for k, p in ((k, CATALOGUE[k // _N_QUANTITIES]) for k in range(len(TOTAL)))
)


_BUCKETS = 1 << 16


@dataclass(frozen=True)
class Sampler:
    """``rng.choice(len(p), size, p=p)`` without its binary search per draw: the same cumulative
    probabilities and the same uniforms, so the same values. A uniform's 1/65536 bucket gives the
    value, unless a step of the cdf falls inside the bucket (a few buckets): then the search does.
    """

    cdf: np.ndarray
    value: np.ndarray  # int64: the value at the bucket's start
    inexact: np.ndarray  # bool: a step of the cdf falls inside the bucket

    @classmethod
    def of(cls, p: Any) -> Sampler:
        cdf = np.asarray(p, dtype=np.float64).cumsum()
        cdf /= cdf[-1]
        buckets = np.arange(_BUCKETS, dtype=np.float64)
        first = cdf.searchsorted(buckets / _BUCKETS, side="right")
        last = cdf.searchsorted(np.nextafter((buckets + 1) / _BUCKETS, 0.0), side="right")
        return cls(cdf, first.astype(np.int64), first != last)

    def __call__(
        self, rng: np.random.Generator, uniform: np.ndarray, bucket: np.ndarray
    ) -> np.ndarray:
        """len(uniform) values; `uniform` (float64) and `bucket` (intp) are scratch space."""
        rng.random(out=uniform)
        uniform *= _BUCKETS  # exact: a power of two
        np.copyto(bucket, uniform, casting="unsafe")  # truncates, as astype does
        out: np.ndarray = self.value[bucket]
        inexact = np.flatnonzero(self.inexact[bucket])
        out[inexact] = self.cdf.searchsorted(uniform[inexact] / _BUCKETS, side="right")
        return out


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
    return np.array(starts) - _DAY0, np.array(lengths), w / w.sum()


_MONTH_START, _MONTH_DAYS, _MONTH_P = _months()
_MONTH = Sampler.of(_MONTH_P)
_SHIPPING_DAYS = Sampler.of(SHIPPING_WEIGHTS)
_QUANTITY = Sampler.of(QUANTITY_WEIGHTS)


# --------------------------------------------------------------------------------------------
# Per seed: Faker pools and the customer table


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
    popularity: Sampler  # products by a seed-specific Zipf-like ranking


@functools.lru_cache(maxsize=4)
def _pools(seed: int) -> _Pools:
    # Person names keep Faker's frequency weights (common names are common), drawn in one call per
    # pool: Faker rebuilds the cumulative weights of all names on every weighted call (~40 us).
    # The names inside street and city names are drawn without weights: rarer ones as likely.
    fake = Faker("en_US", providers=["faker.providers.address", "faker.providers.person"],
                 use_weighting=False)  # fmt: skip
    fake.seed_instance(seed)

    def pool(values: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        distinct = sorted(set(values))
        return objects(distinct), objects(json.dumps(v)[1:-1] for v in distinct)

    def names(weighted: OrderedDict[str, float]) -> list[str]:
        return list(fake.random_elements(weighted, length=POOL_SIZE, use_weighting=True))

    def calls(make: Callable[[], str]) -> list[str]:
        return [make() for _ in range(POOL_SIZE)]

    (first, first_j), (last, last_j), (street, street_j), (city, city_j), (region, region_j) = (
        pool(names(_Person.first_names)),
        pool(names(_Person.last_names)),
        pool(calls(fake.street_address)),
        pool(calls(fake.city)),
        pool(calls(lambda: f"{fake.state_abbr()} {fake.zipcode()}")),
    )
    ranks = np.random.default_rng([seed, 1 << 20]).permutation(len(CATALOGUE))
    weights = 1.0 / (ranks + 1.0) ** POPULARITY_EXPONENT
    return _Pools(
        first, last, street, city, region, first_j, last_j, street_j, city_j, region_j,
        popularity=Sampler.of(weights / weights.sum()),
    )  # fmt: skip


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread hash of uint64 values (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


def _uniform(seed: int, customers: np.ndarray, salt: int) -> np.ndarray:
    """Deterministic uniform [0, 1) per (seed, customer, salt)."""
    base = _mix(np.full(1, seed, dtype=np.uint64) ^ np.uint64(salt * 0x632BE59BD9B4E019 % 2**64))
    h = _mix(customers.astype(np.uint64) ^ base)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _pick(pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    return pool[(u * len(pool)).astype(np.intp)]


_LOW_DIGITS = [f"{i:03d}" for i in range(1000)]


def numbered(prefix: str, digits: int, start: int, count: int) -> list[str]:
    """``f"{prefix}{i:0{digits}d}"`` for i in [start, start + count): the thousand numbers that
    share their leading digits are one string each added to the 1000 possible last three."""
    out: list[str] = []
    end = start + count
    for block in range(start // 1000, (end + 999) // 1000):
        head = f"{prefix}{block:0{digits - 3}d}"
        low, high = max(start - 1000 * block, 0), min(end - 1000 * block, 1000)
        out += map(head.__add__, _LOW_DIGITS[low:high])
    return out


@dataclass(frozen=True)
class Customers:
    """Every customer of a seed (index = customer number): truth values and line text."""

    customer_id: np.ndarray  # object
    name: np.ndarray  # object
    age: np.ndarray  # int32
    age_group: np.ndarray  # object
    country: np.ndarray  # object
    region: np.ndarray  # object
    registered: np.ndarray  # int64 day offset (DAY_DATE / DAY_TEXT index)
    address: np.ndarray  # object
    head: np.ndarray  # object: line text from the row_key's closing quote to the OrderDate value
    tail: np.ndarray  # object: the ShippingAddress value up to the ShippingDate value


@functools.lru_cache(maxsize=4)
def customers(seed: int) -> Customers:
    """A customer's attributes are a hash of (seed, customer): they agree across rows and chunks."""
    pools = _pools(seed)
    number = np.arange(N_CUSTOMERS, dtype=np.int64)
    u_first, u_last, u_street, u_city, u_region, u_age, u_country, u_reg = (
        _uniform(seed, number, salt) for salt in range(1, 9)
    )
    fields = (
        (pools.first, pools.first_json, u_first),
        (pools.last, pools.last_json, u_last),
        (pools.street, pools.street_json, u_street),
        (pools.city, pools.city_json, u_city),
        (pools.region, pools.region_json, u_region),
    )
    (first, first_j), (last, last_j), (street, street_j), (city, city_j), (region, region_j) = (
        (_pick(plain, u).tolist(), _pick(escaped, u).tolist()) for plain, escaped, u in fields
    )
    age = _AGES[np.searchsorted(_AGE_CDF, u_age, side="right").clip(0, len(_AGES) - 1)]
    country = np.searchsorted(_COUNTRY_CDF, u_country, side="right").clip(0, len(COUNTRIES) - 1)
    registered = (u_reg * ((REGISTRATION_END - REGISTRATION_START).days + 1)).astype(np.int64)
    customer_id = numbered(f"C{seed:x}-", 6, 0, N_CUSTOMERS)
    country_json = [json.dumps(c) for c in COUNTRIES]
    day = DAY_TEXT.tolist()
    head = [
        f'","CustomerID":"{cid}","Name":"{fj} {lj}","Age":{a},"Country":{country_json[co]},'
        f'"RegistrationDate":"{day[r]}","OrderDate":"'
        for cid, fj, lj, a, co, r in zip(
            customer_id, first_j, last_j, age.tolist(), country.tolist(), registered.tolist(),
            strict=True,
        )
    ]  # fmt: skip
    tail = [
        f'"{s}, {c}, {r}","ShippingDate":"'
        for s, c, r in zip(street_j, city_j, region_j, strict=True)
    ]
    name = [f"{f} {la}" for f, la in zip(first, last, strict=True)]
    address = [f"{s}, {c}, {r}" for s, c, r in zip(street, city, region, strict=True)]
    return Customers(
        customer_id=objects(customer_id),
        name=objects(name),
        age=age.astype(np.int32),
        age_group=truth_age_groups(age),
        country=_COUNTRY[country],
        region=_REGION[country],
        registered=registered,
        address=objects(address),
        head=objects(head),
        tail=objects(tail),
    )


# The AgeGroup bands of the spec, written out here rather than taken from the cleaner
# (clean.age_groups): the truth twin must be able to catch a bug in the cleaner's banding.
_TRUTH_BANDS = ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64"))


def truth_age_groups(ages: Any) -> np.ndarray:
    """AgeGroup of each age by the spec's bands: 18-24, 25-34, ..., 55-64, 65+."""
    ages = np.asarray(ages)
    return np.select(
        [ages <= upper for upper, _ in _TRUTH_BANDS],
        [label for _, label in _TRUTH_BANDS],
        default="65+",
    ).astype(object)


# --------------------------------------------------------------------------------------------
# Per row: draws, truth, records and text


@dataclass(frozen=True)
class Draws:
    """The clean values of a chunk's rows, as indices into the tables above."""

    seed: int
    row_key: list[str]
    customer: np.ndarray  # int64 customer number (Customers index)
    ordered: np.ndarray  # int64 day offsets
    shipped: np.ndarray
    product: np.ndarray  # int64 CATALOGUE index
    quantity: np.ndarray  # int64, 1..len(QUANTITY_WEIGHTS)
    product_quantity: np.ndarray  # int64 TOTAL index: product * _N_QUANTITIES + quantity - 1


def draw(rows: int, seed: int, start: int) -> Draws:
    """Per-row values from ``numpy.random.default_rng([seed, start, 0])``."""
    rng = np.random.default_rng([seed, start, 0])
    uniform, index = np.empty(rows), np.empty(rows, dtype=np.intp)
    rng.random(out=uniform)
    np.square(uniform, out=uniform)  # some customers buy a lot
    uniform *= N_CUSTOMERS
    customer = uniform.astype(np.int64)
    registered = customers(seed).registered[customer]
    month = _MONTH(rng, uniform, index)
    rng.random(out=uniform)
    uniform *= np.take(_MONTH_DAYS, month, out=index)
    ordered = uniform.astype(np.int64)
    ordered += np.take(_MONTH_START, month, out=index)
    late = rng.integers(0, 30, rows)
    early = np.flatnonzero(ordered < registered)  # a first order follows soon after registering
    ordered[early] = registered[early] + late[early]
    del registered, late
    shipped = _SHIPPING_DAYS(rng, uniform, index)
    shipped += ordered
    product = _pools(seed).popularity(rng, uniform, index)
    quantity = _QUANTITY(rng, uniform, index)
    quantity += 1
    product_quantity = product * _N_QUANTITIES
    product_quantity += quantity - 1
    return Draws(
        seed=seed,
        row_key=numbered(f"{seed:x}-", 9, start, rows),
        customer=customer,
        ordered=ordered,
        shipped=shipped,
        product=product,
        quantity=quantity,
        product_quantity=product_quantity,
    )


_NUMERIC = {"Age", "Quantity", "TotalAmount", "TotalAmountNormalized", "Price"}
_TRUTH_COLUMNS = (*CLEAN_COLUMNS, "errors", "error_fields")
_OBJECT_COLUMNS = tuple(c for c in _TRUTH_COLUMNS if c not in _NUMERIC)


def truth_frame(draws: Draws, errors: np.ndarray, error_fields: np.ndarray) -> pd.DataFrame:
    """schema.CLEAN_COLUMNS (TotalAmountNormalized NaN), then `errors` and `error_fields`.

    The text and date columns are gathered into one 2-d object array that becomes the frame's
    object block as it is: a frame built from a dict of columns would copy them all once more.
    """
    cust, c, p, n = customers(draws.seed), draws.customer, draws.product, len(draws.row_key)
    gathered = {
        "CustomerID": (cust.customer_id, c),
        "Name": (cust.name, c),
        "AgeGroup": (cust.age_group, c),
        "Country": (cust.country, c),
        "Region": (cust.region, c),
        "RegistrationDate": (DAY_DATE, cust.registered[c]),
        "OrderDate": (DAY_DATE, draws.ordered),
        "ProductID": (PRODUCT_ID, p),
        "ProductName": (PRODUCT_NAME, p),
        "Category": (CATEGORY, p),
        "ShippingAddress": (cust.address, c),
        "ShippingDate": (DAY_DATE, draws.shipped),
    }
    given = {"row_key": draws.row_key, "errors": errors, "error_fields": error_fields,
             "quality_flags": ""}  # fmt: skip
    block = np.empty((len(_OBJECT_COLUMNS), n), dtype=object)
    for row, column in zip(block, _OBJECT_COLUMNS, strict=True):
        if column in given:
            row[:] = given[column]
        else:
            table, index = gathered[column]
            np.take(table, index, out=row)
    frame = pd.DataFrame(block.T, columns=list(_OBJECT_COLUMNS), dtype=object, copy=False)
    numeric = {
        "Age": cust.age[c],
        "Quantity": draws.quantity.astype(np.int32),
        "TotalAmount": TOTAL[draws.product_quantity],
        "TotalAmountNormalized": np.full(n, np.nan),
        "Price": PRICE[p],
    }
    for column, values in numeric.items():
        frame.insert(_TRUTH_COLUMNS.index(column), column, values)
    return frame


def no_errors(rows: int) -> np.ndarray:
    """An object array of `rows` empty tuples (the shared empty tuple: no per-row objects)."""
    out = np.empty(rows, dtype=object)
    out.fill(())
    return out


def records(draws: Draws, rows: np.ndarray) -> Iterator[dict[str, Any]]:
    """The clean raw records (row_key first, JSON-ready values) of the rows at positions `rows`.

    One at a time: records that are dropped as soon as they are used keep the garbage collector
    from running (it runs after every 700 net new containers).
    """
    cust = customers(draws.seed)
    c, p = draws.customer[rows], draws.product[rows]
    columns = (
        [draws.row_key[i] for i in rows.tolist()],
        cust.customer_id[c].tolist(),
        cust.name[c].tolist(),
        cust.age[c].tolist(),
        cust.country[c].tolist(),
        DAY_TEXT[cust.registered[c]].tolist(),
        DAY_TEXT[draws.ordered[rows]].tolist(),
        draws.quantity[rows].tolist(),
        TOTAL[draws.product_quantity[rows]].tolist(),
        PRODUCT_ID[p].tolist(),
        PRODUCT_NAME[p].tolist(),
        CATEGORY[p].tolist(),
        PRICE[p].tolist(),
        cust.address[c].tolist(),
        DAY_TEXT[draws.shipped[rows]].tolist(),
    )
    return (
        {
            "row_key": rk, "CustomerID": cid, "Name": nm, "Age": age, "Country": co,
            "RegistrationDate": rd, "OrderDate": od, "Quantity": q, "TotalAmount": t,
            "ProductID": pid, "ProductName": pn, "Category": cat, "Price": pr,
            "ShippingAddress": ad, "ShippingDate": sd,
        }
        for rk, cid, nm, age, co, rd, od, q, t, pid, pn, cat, pr, ad, sd
        in zip(*columns, strict=True)
    )  # fmt: skip


_BLOCK = 1 << 16  # rows per block of lines: the block's temporary lists get reused memory


def lines(draws: Draws) -> list[str]:
    """The clean lines: row_key first, then the FIELDS order, one template per row."""
    cust = customers(draws.seed)
    out: list[str] = []
    for start in range(0, len(draws.row_key), _BLOCK):
        block = slice(start, start + _BLOCK)
        c = draws.customer[block]
        out += [
            f'{{"row_key":"{rk}{head}{od}{product}{tail}{sd}"}}'
            for rk, head, od, product, tail, sd in zip(
                draws.row_key[block],
                cust.head[c].tolist(),
                DAY_TEXT[draws.ordered[block]].tolist(),
                _PRODUCT_TEXT[draws.product_quantity[block]].tolist(),
                cust.tail[c].tolist(),
                DAY_TEXT[draws.shipped[block]].tolist(),
                strict=True,
            )
        ]
    return out


def with_extra(lines: list[str], extra: list[tuple[float, str]]) -> list[str]:
    """`lines` with each ``(at, line)`` of `extra` inserted after the lines with index <= at
    (extra lines at the same place in the order given)."""
    if not extra:
        return lines
    merged: list[str] = []
    done = 0
    for at, line in sorted(extra, key=lambda e: e[0]):  # sorted() is stable
        upto = min(len(lines), math.floor(at) + 1)
        merged += lines[done:upto]
        merged.append(line)
        done = upto
    return merged + lines[done:]
