"""The rules per row (everything that needs neither the global statistics nor other rows), the
customer repair from agreed values, and the reasons and flags they give."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import hbase_codec
from pipeline.catalogue import Catalogue
from pipeline.clean.fields import (
    CUSTOMER_FIELDS,
    DATE_FIELDS,
    FALLBACK_FIELDS,
    ID_FIELDS,
    QUANTITY_MAX,
    SET_ASIDE_FIELDS,
    SNAKE,
    TEXT_FIELDS,
)
from pipeline.clean.parsing import RAW_COLUMNS
from pipeline.clean.values import (
    COUNTRY_INDEX,
    country_value,
    factorize,
    not_none,
    objects,
    positive,
    product_id_value,
    text_column,
    vocabulary,
    whole_in,
)
from pipeline.date_forms import parse_date, slash_order
from pipeline.number_forms import canonical_id
from pipeline.schema import (
    AGE_GROUPS,
    AGE_MAX,
    AGE_MIN,
    FIELDS,
)
from pipeline.value_status import AMBIGUOUS, IMPOSSIBLE, INVALID, MISSING, OK, WRONG_TYPE

# --------------------------------------------------------------------------------------------
# Checking a batch (everything that does not depend on the global statistics)

# The first age of each of schema.AGE_GROUPS, in order.
AGE_GROUP_LOWER: tuple[int, ...] = tuple(int(g.rstrip("+").split("-")[0]) for g in AGE_GROUPS)
_AGE_GROUP_NAMES = np.array(AGE_GROUPS, dtype=object)


def age_groups(ages: Any) -> np.ndarray:
    """AgeGroup label for each age (ages >= AGE_MIN), by the bounds in schema.AGE_GROUPS."""
    index = np.searchsorted(AGE_GROUP_LOWER, np.asarray(ages), side="right") - 1
    return _AGE_GROUP_NAMES[np.clip(index, 0, len(AGE_GROUPS) - 1)]


@dataclass
class Checked:
    """Per-row outcome of the rules that need no global statistics."""

    raw: dict[str, np.ndarray]  # the parsed columns
    reason: np.ndarray  # object: None for rows that pass
    passed: np.ndarray  # bool
    text: dict[str, np.ndarray]
    age: np.ndarray  # float, NaN where missing or invalid
    country: np.ndarray
    product: np.ndarray  # index into catalogue
    catalogue: Catalogue
    quantity: np.ndarray
    total: np.ndarray  # round(Quantity * Price, 2), NaN where unknown
    dates: dict[str, np.ndarray]  # proleptic ordinals, -1 where not valid
    valid: dict[str, np.ndarray]  # per CUSTOMER_FIELDS and CustomerID: the value is valid (bool)
    pending: np.ndarray  # bool: the customer's other orders or the source's slash order may help
    slash_votes: np.ndarray  # int8: slash_order summed over the row's dates
    flags: np.ndarray  # object: quality_flags text


class _Reasons:
    """First failing rule per row, in the order the rules are applied."""

    def __init__(self, n: int) -> None:
        self.code = np.full(n, None, dtype=object)
        self.bad = np.zeros(n, dtype=bool)

    def flag(self, mask: np.ndarray, code: str) -> None:
        new = mask & ~self.bad
        if new.any():
            self.code[new] = code
            self.bad |= new


def columns_of(raw: pd.DataFrame) -> dict[str, np.ndarray]:
    """The parsed columns of a parse_lines frame, checked first so a wrong input fails clearly."""
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"clean: input frame lacks columns {missing}; present: {list(raw.columns)}. "
            "Hint: pass the output of parse_lines()."
        )
    return {c: raw[c].to_numpy(dtype=object) for c in RAW_COLUMNS}


def check(
    columns: dict[str, np.ndarray],
    catalogue: Catalogue | None = None,
    known: pd.DataFrame | None = None,
    day_first: bool | None = None,
) -> Checked:
    """The rules per row; `known`: the customers' agreed values (agreed_customers) per row;
    `day_first`: the source's slash-date order (day_first_of), when decided."""
    if catalogue is None:
        catalogue = Catalogue.default()
    n = len(columns["raw"])
    reasons = _Reasons(n)
    parse_error = columns["parse_error"]
    failed = np.array([isinstance(e, str) and e != "" for e in parse_error], dtype=bool)
    reasons.code[failed] = parse_error[failed]
    reasons.bad |= failed

    status: dict[str, np.ndarray] = {}
    text: dict[str, np.ndarray] = {}
    for f in TEXT_FIELDS:
        text[f], status[f] = text_column(columns[f], canonical_id if f in ID_FIELDS else None)

    def convert(field: str, converter: Callable[[Any], tuple[Any, int]], dtype: Any) -> Any:
        idx, values, st = factorize(columns[field], converter)
        status[field] = st[idx]
        return values.astype(dtype)[idx]

    age = convert("Age", whole_in(AGE_MIN, AGE_MAX), np.float64)
    quantity = convert("Quantity", whole_in(1, QUANTITY_MAX), np.float64)
    total_raw = convert("TotalAmount", positive, np.float64)
    price_raw = convert("Price", positive, np.float64)
    country = convert("Country", country_value, np.intp)
    category = convert("Category", vocabulary(catalogue.match_category), np.intp)
    by_name = convert("ProductName", vocabulary(catalogue.match_name), np.intp)
    by_id = convert("ProductID", product_id_value(catalogue), np.intp)
    dates = {f: convert(f, lambda v: parse_date(v, day_first), np.int64) for f in DATE_FIELDS}
    ambiguous_date = np.logical_or.reduce([status[f] == AMBIGUOUS for f in DATE_FIELDS])
    values = {"Name": text["Name"], "Age": age, "Country": country,
              "RegistrationDate": dates["RegistrationDate"]}  # fmt: skip
    customer = status["CustomerID"] == OK
    broken = customer & np.logical_or.reduce([status[f] != OK for f in CUSTOMER_FIELDS])
    if known is not None:
        _repair_customers(status, values, broken, known)
    flags = _Flags(n)

    # Structural problems first: row_key, then any field of the wrong JSON type.
    reasons.flag(status["row_key"] == MISSING, "missing_row_key")
    for f in FIELDS:
        if f in FALLBACK_FIELDS and f != "Quantity":
            status[f][status[f] == WRONG_TYPE] = MISSING
        elif f not in (*SET_ASIDE_FIELDS, *FALLBACK_FIELDS):
            reasons.flag(status[f] == WRONG_TYPE, f"wrong_type_{SNAKE[f]}")
    for f in TEXT_FIELDS:
        report = flags.flag if f in SET_ASIDE_FIELDS else reasons.flag
        report(status[f] == MISSING, f"missing_{SNAKE[f]}")
        report(status[f] == INVALID, f"invalid_{SNAKE[f]}")
        if f in SET_ASIDE_FIELDS:
            report(status[f] == WRONG_TYPE, f"wrong_type_{SNAKE[f]}")
    reasons.flag(status["Country"] == MISSING, "missing_country")
    reasons.flag(status["Country"] == INVALID, "unknown_country")
    reasons.flag(status["Country"] == AMBIGUOUS, "ambiguous_country")

    product, price = _resolve_product(
        status, by_id, by_name, category, price_raw, reasons, catalogue
    )
    quantity = _resolve_quantity(status, quantity, total_raw, price, reasons)
    total = np.round(quantity * price, 2)
    _check_dates(status, dates, reasons, flags)
    reasons.flag(_key_too_long(text, dates["OrderDate"], ~reasons.bad), "row_key_too_long")

    passed = ~reasons.bad
    valid = {f: status[f] == OK for f in ("CustomerID", *CUSTOMER_FIELDS)}
    return Checked(
        raw=columns,
        reason=reasons.code,
        passed=passed,
        text=text,
        age=age,
        country=country,
        product=product,
        catalogue=catalogue,
        quantity=quantity,
        total=np.where(passed, total, np.nan),
        dates=dates,
        valid=valid,
        pending=(broken | ambiguous_date) if known is None else np.zeros(n, dtype=bool),
        slash_votes=_slash_votes(columns),
        flags=flags.text(),
    )


def _slash_votes(columns: dict[str, np.ndarray]) -> np.ndarray:
    """Per row, date_forms.slash_order summed over its dates (each distinct value read once)."""
    votes = np.zeros(len(columns["raw"]), dtype=np.int8)
    for f in DATE_FIELDS:
        texts = objects([v if type(v) is str else "" for v in columns[f].tolist()])
        codes, distinct = pd.factorize(texts)
        votes += np.array([slash_order(v) for v in distinct], dtype=np.int8)[codes]
    return votes


def _repair_customers(
    status: _Statuses, values: dict[str, np.ndarray], broken: np.ndarray, known: pd.DataFrame
) -> None:
    """Broken customer values of `broken` rows <- the customer's agreed value, if there is one."""
    if len(known) != len(broken):
        raise ValueError(f"clean: {len(known)} known customer rows for {len(broken)} lines")
    given = {
        "Name": known["Name"].to_numpy(dtype=object),
        "Age": pd.to_numeric(known["Age"], errors="coerce").to_numpy(np.float64),
        "Country": np.array([COUNTRY_INDEX.get(c, -1) for c in known["Country"]], dtype=np.intp),
        "RegistrationDate": np.array(
            [d.toordinal() if isinstance(d, dt.date) else -1 for d in known["RegistrationDate"]],
            dtype=np.int64,
        ),
    }
    has = {
        "Name": not_none(given["Name"]),
        "Age": ~np.isnan(given["Age"]),
        "Country": given["Country"] >= 0,
        "RegistrationDate": given["RegistrationDate"] >= 0,
    }
    for f in CUSTOMER_FIELDS:
        value = given[f]
        repair = broken & (status[f] != OK) & has[f]
        values[f][repair] = value[repair]
        status[f][repair] = OK


class _Flags:
    """Every set-aside field per row, as its reason code (quality_flags)."""

    def __init__(self, n: int) -> None:
        self.rows: list[tuple[np.ndarray, str]] = []
        self.n = n

    def flag(self, mask: np.ndarray, code: str) -> None:
        if mask.any():
            self.rows.append((mask, code))

    def text(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        for mask, code in self.rows:
            for i in np.flatnonzero(mask).tolist():
                out[i] = f"{out[i]},{code}" if out[i] else code
        return out


_Statuses = dict[str, np.ndarray]
# Below this many characters of CustomerID + row_key a key fits whatever they hold (<= 4 bytes a
# character, escapes included), so only longer ones are measured.
_KEY_CHARS_SAFE = (hbase_codec.MAX_ROW_KEY_BYTES - 64) // 4


def _key_too_long(text: dict[str, np.ndarray], orders: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows whose HBase row key would exceed HBase's limit (HBase refuses the whole batch)."""
    ids, keys = text["CustomerID"], text["row_key"]
    chars = np.fromiter(
        ((len(a) if a else 0) + (len(b) if b else 0) for a, b in zip(ids, keys, strict=True)),
        dtype=np.int64,
        count=len(ids),
    )
    suspects = np.flatnonzero(rows & (chars > _KEY_CHARS_SAFE))
    out = np.zeros(len(ids), dtype=bool)
    if len(suspects):
        days = [dt.date.fromordinal(int(o)).isoformat() for o in orders[suspects]]
        lengths = hbase_codec.row_key_lengths(ids[suspects], days, keys[suspects])
        out[suspects] = lengths > hbase_codec.MAX_ROW_KEY_BYTES
    return out


def _resolve_product(
    status: _Statuses,
    by_id: np.ndarray,
    by_name: np.ndarray,
    category: np.ndarray,
    price_raw: np.ndarray,
    reasons: _Reasons,
    catalogue: Catalogue,
) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue index and price per row: id and name must agree; either alone identifies it."""
    has_id, has_name = status["ProductID"] == OK, status["ProductName"] == OK
    reasons.flag(status["ProductID"] == INVALID, "unknown_product_id")
    reasons.flag(status["ProductName"] == INVALID, "unknown_product_name")
    reasons.flag(~has_id & ~has_name, "missing_product")
    reasons.flag(has_id & has_name & (by_id != by_name), "product_mismatch")
    known = has_id | has_name
    product = np.where(has_id, by_id, np.where(known, by_name, 0))
    reasons.flag(status["Category"] == INVALID, "unknown_category")
    given_category = known & (status["Category"] == OK)
    mismatch = category != catalogue.category_array[product]
    reasons.flag(given_category & mismatch, "category_mismatch")
    price = catalogue.price_array[product]
    reasons.flag(known & (status["Price"] == AMBIGUOUS), "ambiguous_price")
    given_price = known & (status["Price"] == OK)
    reasons.flag(given_price & ~(np.abs(price_raw - price) < 0.005), "price_mismatch")
    return product, price


def _resolve_quantity(
    status: _Statuses,
    quantity: np.ndarray,
    total_raw: np.ndarray,
    price: np.ndarray,
    reasons: _Reasons,
) -> np.ndarray:
    """Quantity, recovered as TotalAmount / Price only when that reproduces TotalAmount exactly."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        derived = np.rint(total_raw / price)
        derivable = (
            (status["TotalAmount"] == OK)
            & (derived >= 1)
            & (derived <= QUANTITY_MAX)
            & (np.round(derived * price, 2) == np.round(total_raw, 2))
        )
    given = status["Quantity"] == OK
    unrepaired = ~given & ~derivable
    reasons.flag(unrepaired & (status["Quantity"] == MISSING), "missing_quantity")
    reasons.flag(unrepaired & (status["Quantity"] == INVALID), "invalid_quantity")
    reasons.flag(unrepaired & (status["Quantity"] == AMBIGUOUS), "ambiguous_quantity")
    reasons.flag(unrepaired & (status["Quantity"] == WRONG_TYPE), "wrong_type_quantity")
    return np.where(given, quantity, np.where(derivable, derived, np.nan))


def _check_dates(
    status: _Statuses, dates: dict[str, np.ndarray], reasons: _Reasons, flags: _Flags
) -> None:
    problems = ((MISSING, "missing"), (INVALID, "invalid"), (IMPOSSIBLE, "impossible"),
                (AMBIGUOUS, "ambiguous"))  # fmt: skip
    for f in DATE_FIELDS:
        report = flags.flag if f in SET_ASIDE_FIELDS else reasons.flag
        for code, problem in problems:
            report(status[f] == code, f"{problem}_{SNAKE[f]}")
        if f in SET_ASIDE_FIELDS:
            report(status[f] == WRONG_TYPE, f"wrong_type_{SNAKE[f]}")
    registered, ordered, shipped = (dates[f] for f in DATE_FIELDS)
    reasons.flag(ordered < registered, "order_before_registration")
    shipped_ok = status["ShippingDate"] == OK
    flags.flag(shipped_ok & (shipped < ordered), "shipped_before_order")
    shipped[~shipped_ok | (shipped < ordered)] = -1  # set aside
