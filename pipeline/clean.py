"""The one cleaning rule set: raw JSON lines -> typed clean rows + quarantined rows with a reason.

Pure (pandas, numpy, rapidfuzz). The unit tests, hypothesis, `pipeline clean` and the Spark
transform (check_lines per batch, then the duplicate rule and fill_stats across batches) all call
these functions; the streaming job lands raw lines as they came, for this rule set to judge.

Rules, field by field (what cannot be repaired with confidence is quarantined, never guessed):

- Line: not JSON -> ``malformed_json``; JSON but not an object -> ``not_an_object``; not text ->
  ``not_text``. A JSON string holding one JSON object (a line encoded twice, a common producer
  bug) is read as that object. Unknown keys are ignored. A field holding a JSON list, object or
  boolean, or a non-string in a text field -> ``wrong_type_<field>``.
- Text fields (row_key, CustomerID, Name, ShippingAddress): surrounding whitespace stripped; absent,
  null or blank -> ``missing_<field>``; not encodable as UTF-8 -> ``invalid_<field>`` (for Name and
  ShippingAddress these are flags, see "Set aside" below). The IDs
  (row_key, CustomerID, and ProductID before its catalogue lookup) may also be a JSON integer or a
  whole float within +-2**53: its decimal text, ``12345`` / ``12345.0`` -> ``"12345"`` (beyond
  +-2**53 -> ``invalid_<field>``; a fraction, boolean, list or object -> ``wrong_type_<field>``).
  Name and ShippingAddress given as numbers -> ``wrong_type_<field>`` (pipeline.number_forms).
- Numbers may be JSON numbers or text (pipeline.number_forms.parse_number): ``"42"``, ``" 42 "``,
  an optional sign and one currency sign or code before or after (``$ € £``, ``USD EUR GBP CHF``):
  ``"$1,234.50"``, ``"12.00 €"``, ``"USD 12.00"``; thousands grouping by ``,`` ``.`` spaces (also
  no-break and thin) or apostrophes, each group 3 digits after a first group of 1-3 not starting
  with 0, with the other of ``.``/``,`` once as decimal mark: ``"1 234.50"``, ``"1'234.50"``,
  ``"1.234,50"``, ``"1 234,50"``; a single comma as decimal mark unless followed by exactly 3
  digits: ``"12,50"``. Exact rule for the one form both ways are used: a single dot is a decimal
  point (``"1.234"`` -> 1.234) and a single comma followed by exactly three digits after a valid
  first group is grouping (``"1,234"`` -> 1234; ``"0,125"`` -> 0.125). Digits joined by
  separators any other way (``"1,234,5"``, ``"1,23,456"``, ``"1.234.567,8.9"``) -> AMBIGUOUS,
  never guessed: ``ambiguous_quantity`` / ``ambiguous_price`` (ambiguous Age is filled and an
  ambiguous TotalAmount ignored, as invalid ones are); anything else (``"abc"``, ``"1e3"``) is
  invalid.
- Age: an integer in [AGE_MIN, AGE_MAX]; missing or invalid -> the batch statistics' median age
  (rounded half up). AgeGroup follows from Age.
- Country (pipeline.countries): any ISO 3166-1 country or territory by its ISO name, official
  name, common name, alpha-2 or alpha-3 code (``DE``, ``GBR``, ``U.S.A.``), or a listed alias
  (``UK``, ``Great Britain``, ``Deutschland``, ``Russia``, ...); case, accents, dots and
  whitespace are normalised. Out: the canonical name (the 30 names of schema.COUNTRIES unchanged,
  else ISO's common or short name). A typo of a name is repaired by the rule below (codes never);
  a value about as close to two countries as to one (``Nigera``: Niger or Nigeria?) or a name of
  several (``Korea``) -> ``ambiguous_country``; else ``unknown_country``. Missing ->
  ``missing_country``.
- Region: the UN M49 region of the Country (Africa, Americas, Asia, Europe, Oceania; "" for
  Antarctica), from pipeline/country_regions.csv.
- Category / ProductName: case and whitespace are normalised; a value within one edit
  (two for values of 8+ characters) of exactly one vocabulary entry (the catalogue's categories /
  product names), and at most half as far as the runner-up, is mapped to it; else
  ``unknown_<field>``.
- Product: resolved against a catalogue (pipeline.catalogue.Catalogue: schema.CATALOGUE unless
  the caller passes another shop's, e.g. read from a CSV or Parquet file). ProductID (compared
  case-insensitively) and ProductName must name the same catalogue product (``product_mismatch``);
  either one alone is enough and the other is restored. Unknown id -> ``unknown_product_id``;
  neither -> ``missing_product``. Category: missing -> the product's; different ->
  ``category_mismatch``. Price: missing or not positive -> the catalogue price; a positive price
  differing from the catalogue -> ``price_mismatch`` (we cannot tell which side is wrong).
- Quantity: an integer in [1, QUANTITY_MAX]; missing or invalid -> TotalAmount / Price when that is
  a whole number within range that reproduces TotalAmount exactly; else ``missing_quantity`` /
  ``invalid_quantity``.
- TotalAmount: always round(Quantity * Price, 2) (the raw value only serves to recover Quantity).
- Dates (pipeline.date_forms): year-first dates (``-``, ``/``, ``.``, compact ``YYYYMMDD``),
  ISO-8601 timestamps with or without a zone (the date in UTC; no zone is taken as UTC), day-first
  ``DD.MM.YYYY``, ``MM/DD/YYYY`` or ``DD/MM/YYYY`` only when unambiguous (one part > 12, or both
  equal), English month names (``March 15, 2024``, ``15 Mar 2024``, ``15-Mar-2024``,
  ``March 15th, 2024``, with or without a weekday, RFC 2822). Missing -> ``missing_<field>``;
  unparseable, a bad time or a weekday that is not the date's -> ``invalid_<field>``; a
  calendar-impossible date (2024-02-30, or a UTC date outside 0001..9999) ->
  ``impossible_<field>``; slashes with both parts in 1..12 and different -> ``ambiguous_<field>``,
  unless the same input decides its order: at least 20 of its rows hold a slash date only
  day-first (``25/03/2024``) or only month-first (``03/25/2024``) can read, and at most 1 % of
  that number the other way (date_forms.day_first_of); then every slash date is read that way.
  OrderDate < RegistrationDate -> ``order_before_registration``; ShippingDate < OrderDate ->
  ``shipped_before_order`` (never repaired: which date is wrong is unknown).
- Customer-consistent repair: a missing or broken Name, Age, Country or RegistrationDate (any
  status but OK: missing, invalid, ambiguous, impossible, wrong type) is taken from the same
  CustomerID's other orders when every valid value they hold for it agrees (one distinct value);
  otherwise the rules above and below apply (Age: the median; Name: set aside; Country and
  RegistrationDate: quarantined). check_lines marks such rows `pending` and keeps their line; the
  caller gathers the agreed values over the whole input (agreed_customers) and passes them back
  (`known`) for those rows. clean_lines and clean_batch do both passes themselves.
- Set aside, the order kept: a Name or ShippingAddress that is missing, invalid or of the wrong
  type, and a ShippingDate that is (missing, invalid, impossible, ambiguous, wrong type, or before
  the OrderDate - the OrderDate is taken as the sound one when it is not before the
  RegistrationDate), become null and the row's ``quality_flags`` names each (the reason code the
  value would have had, e.g. ``missing_name,shipped_before_order``; "" when nothing was set
  aside). Such an order's sale still counts everywhere.
- Row key: the HBase row key built from CustomerID, OrderDate and row_key (pipeline.hbase_codec)
  longer than HBase allows (32,767 bytes) -> ``row_key_too_long``.
- Duplicates: among rows that pass, only the first of each row_key is kept; the rest are counted.
- TotalAmountNormalized = (TotalAmount - total_min) / (total_max - total_min), clipped to [0, 1]
  (0 when max <= min).

A row gets the first failing reason in the order above (line, row_key, wrong types, text fields,
country, product, category, price, quantity, dates, date order).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import countries, hbase_codec
from pipeline.catalogue import Catalogue
from pipeline.date_forms import day_first_of, parse_date, slash_order
from pipeline.number_forms import canonical_id, parse_number, stripped_text
from pipeline.schema import (
    AGE_GROUPS,
    AGE_MAX,
    AGE_MIN,
    CLEAN_COLUMNS,
    CLEAN_TYPES,
    FIELDS,
    NULLABLE_COLUMNS,
    QUARANTINE_COLUMNS,
)
from pipeline.value_status import AMBIGUOUS, IMPOSSIBLE, INVALID, MISSING, OK, WRONG_TYPE

QUANTITY_MAX = 1000
DEFAULT_AGE_MEDIAN = 40.0  # only used when a whole dataset has no valid Age at all


TEXT_FIELDS: tuple[str, ...] = ("row_key", "CustomerID", "Name", "ShippingAddress")
ID_FIELDS: tuple[str, ...] = ("row_key", "CustomerID")  # text fields also taken as JSON integers
NUMBER_FIELDS: tuple[str, ...] = ("Age", "Quantity", "TotalAmount", "Price")
DATE_FIELDS: tuple[str, ...] = ("RegistrationDate", "OrderDate", "ShippingDate")
# Taken from the customer's other orders when missing or broken in one.
CUSTOMER_FIELDS: tuple[str, ...] = ("Name", "Age", "Country", "RegistrationDate")
# Set to null (and flagged) instead of dropping the order when missing or broken.
SET_ASIDE_FIELDS: tuple[str, ...] = NULLABLE_COLUMNS
# A value of the wrong JSON type here is as good as a missing one: the rule for missing applies
# (Age: the customer's or the median; product fields: the catalogue; TotalAmount: not needed;
# Quantity: TotalAmount / Price, else ``wrong_type_quantity``).
FALLBACK_FIELDS: tuple[str, ...] = (
    "Age", "TotalAmount", "ProductID", "ProductName", "Category", "Price", "Quantity"
)  # fmt: skip
SNAKE: dict[str, str] = {f: re.sub(r"(?<=[a-z])(?=[A-Z])", "_", f).lower() for f in FIELDS}
_PROBLEMS: dict[str, tuple[str, ...]] = {
    "Name": ("missing", "invalid", "wrong_type"),
    "ShippingAddress": ("missing", "invalid", "wrong_type"),
    "ShippingDate": ("missing", "invalid", "impossible", "ambiguous", "wrong_type"),
}
# quality_flags codes -> the field each one set aside.
FLAG_FIELDS: dict[str, str] = {
    **{f"{p}_{SNAKE[f]}": f for f in SET_ASIDE_FIELDS for p in _PROBLEMS[f]},
    "shipped_before_order": "ShippingDate",
}
FLAGS: tuple[str, ...] = tuple(FLAG_FIELDS)

REASONS: tuple[str, ...] = (
    "malformed_json",
    "not_an_object",
    "not_text",
    *(f"wrong_type_{SNAKE[f]}" for f in FIELDS if f not in (*SET_ASIDE_FIELDS, *FALLBACK_FIELDS)),
    *(f"{p}_{SNAKE[f]}" for f in ID_FIELDS for p in ("missing", "invalid")),
    "missing_country",
    "unknown_country",
    "ambiguous_country",
    "missing_product",
    "unknown_product_id",
    "unknown_product_name",
    "product_mismatch",
    "unknown_category",
    "category_mismatch",
    "ambiguous_price",
    "price_mismatch",
    "missing_quantity",
    "invalid_quantity",
    "ambiguous_quantity",
    "wrong_type_quantity",
    *(
        f"{p}_{SNAKE[f]}"
        for f in DATE_FIELDS
        if f not in SET_ASIDE_FIELDS
        for p in ("missing", "invalid", "impossible", "ambiguous")
    ),
    "order_before_registration",
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
# Parsing


def parse_lines(lines: pd.Series | Iterable[Any]) -> pd.DataFrame:
    """Raw JSON lines -> one row per line with the FIELDS as parsed (object), `raw`, `parse_error`.

    Never raises: a line that is not a JSON object keeps its text in `raw` and gets a reason code.
    """
    return pd.DataFrame(_parse_columns(lines), columns=list(_RAW_COLUMNS))


_RAW_COLUMNS: tuple[str, ...] = (*FIELDS, "raw", "parse_error")


def _parse_columns(lines: pd.Series | Iterable[Any]) -> dict[str, np.ndarray]:
    """parse_lines' columns as object arrays (clean_lines skips building the frame)."""
    values = lines.tolist() if isinstance(lines, pd.Series) else list(lines)
    rows, raws, errors = _parse_all(values)
    n = len(values)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in FIELDS]
    data = {f: np.fromiter(c, dtype=object, count=n) for f, c in zip(FIELDS, columns, strict=True)}
    data["raw"] = np.fromiter(raws, dtype=object, count=n)
    data["parse_error"] = np.fromiter(errors, dtype=object, count=n)
    return data


def _parse_all(values: list[Any]) -> tuple[list[tuple[Any, ...]], list[Any], list[str | None]]:
    """Per line: the FIELDS values, the text to keep as `raw`, and the parse error (or None)."""
    n = len(values)
    scan = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner json.loads uses
    get_fields = operator.itemgetter(*FIELDS)
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    raws: list[Any] = list(values)
    errors: list[str | None] = [None] * n
    for i, line in enumerate(values):
        # Fast path: a str holding exactly one JSON object with every field; else the exact path.
        try:
            record, end = scan(line, 0)
            if end != len(line) or type(record) is not dict:
                raise ValueError
            append(get_fields(record))
        except (StopIteration, ValueError, TypeError, KeyError, RecursionError):
            record, raws[i], errors[i] = _parse_one(line)
            append(_NO_FIELDS if record is None else tuple(record.get(f) for f in FIELDS))
    if not all(type(r) is str and r.isascii() for r in raws):
        raws = [r if r is None else _safe_text(r) for r in raws]
    return rows, raws, errors


_DECODER = json.JSONDecoder()
_NO_FIELDS: tuple[None, ...] = (None,) * len(FIELDS)


def _parse_one(line: Any) -> tuple[dict[str, Any] | None, str | None, str | None]:
    if isinstance(line, bytes | bytearray):
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError:
            return None, bytes(line).decode("utf-8", "backslashreplace"), "malformed_json"
    if not isinstance(line, str):
        return None, None if line is None else _safe_text(repr(line)), "not_text"
    try:
        value = json.loads(line)
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)  # encoded twice
    except (ValueError, RecursionError):
        return None, _safe_text(line), "malformed_json"
    if not isinstance(value, dict):
        return None, _safe_text(line), "not_an_object"
    return value, _safe_text(line), None


def _safe_text(text: str) -> str:
    """Text that can be written as UTF-8 (lone surrogates escaped)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# --------------------------------------------------------------------------------------------
# Field converters: value -> (clean value, status). Distinct values are converted once per batch.


def _odd(values: np.ndarray, allowed: frozenset[type]) -> np.ndarray:
    """Mask of the values whose type is not in `allowed` (C speed: no Python-level loop)."""
    known = map(allowed.__contains__, map(type, values))
    return ~np.fromiter(known, dtype=bool, count=len(values))


def _factorize(
    values: np.ndarray, convert: Callable[[Any], tuple[Any, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert each distinct value once; return (codes, converted values, statuses).

    pandas hashing treats 1, 1.0 and True alike, so booleans (and unhashable lists and objects)
    are converted one by one, and every converter gives the same result for 1 and 1.0.
    """
    odd = _odd(values, _HASHABLE_SCALARS)
    if odd.any():
        codes = np.empty(len(values), dtype=np.intp)
        codes[~odd], distinct = pd.factorize(values[~odd])
    else:
        codes, distinct = pd.factorize(values)
    results = [convert(v) for v in distinct.tolist()]
    codes[codes < 0] = len(results)  # nulls
    results.append(convert(None))
    for i in np.flatnonzero(odd).tolist():
        codes[i] = len(results)
        results.append(convert(values[i]))
    converted = _objects([r[0] for r in results])
    statuses = np.array([r[1] for r in results], dtype=np.int8)
    return codes, converted, statuses


_HASHABLE_SCALARS: frozenset[type] = frozenset({str, int, float, type(None)})
_STRINGS: frozenset[type] = frozenset({str})


def _text_column(
    values: np.ndarray, convert: Callable[[Any], tuple[str | None, int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """_text (or `convert`, which must treat strings alike) over a column: vectorised for ASCII
    strings, one by one for anything else."""
    convert = convert or _text
    odd = _odd(values, _STRINGS)
    strings = values
    if odd.any():
        strings = values.copy()
        strings[odd] = ""  # nulls stay missing; other types are redone below
        odd &= _not_none(values)
    stripped = list(map(str.strip, strings.tolist()))
    out = _objects(stripped)
    status = np.where(out == "", MISSING, OK).astype(np.int8)
    out[status == MISSING] = None
    if not all(map(str.isascii, stripped)):
        odd |= ~np.fromiter(map(str.isascii, stripped), dtype=bool, count=len(stripped))
    for i in np.flatnonzero(odd).tolist():
        out[i], status[i] = convert(values[i])
    return out, status


def _not_none(values: np.ndarray) -> np.ndarray:
    """Elementwise ``is not None`` of an object array (C speed)."""
    out: np.ndarray = np.not_equal(values, None)  # type: ignore[call-overload]
    return out


def _is_missing(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


def _text(value: Any) -> tuple[str | None, int]:
    if _is_missing(value):
        return None, MISSING
    if type(value) is not str:
        return None, WRONG_TYPE
    return stripped_text(value)


def _number(value: Any) -> tuple[float, int]:
    """JSON number or numeric text in a written form -> float (pipeline.number_forms)."""
    return parse_number(value)


def _whole_in(low: int, high: int) -> Callable[[Any], tuple[float, int]]:
    def convert(value: Any) -> tuple[float, int]:
        number, status = _number(value)
        if status == OK and not (number.is_integer() and low <= number <= high):
            return math.nan, INVALID
        return number, status

    return convert


def _positive(value: Any) -> tuple[float, int]:
    number, status = _number(value)
    if status == OK and number <= 0:
        return math.nan, INVALID
    return number, status


# --------------------------------------------------------------------------------------------
# Vocabularies: exact match after normalisation, else a confident fuzzy match, cached per value
# and catalogue (pipeline.catalogue).


def _vocabulary(match: Callable[[str], int]) -> Callable[[Any], tuple[int, int]]:
    def convert(value: Any) -> tuple[int, int]:
        text, status = _text(value)
        if status != OK or text is None:
            return -1, status
        index = match(text)
        return (index, OK) if index >= 0 else (-1, INVALID)

    return convert


_COUNTRY_NAMES = np.array(countries.COUNTRY_NAMES, dtype=object)
_COUNTRY_REGIONS = np.array(countries.REGIONS, dtype=object)
_COUNTRY_INDEX: dict[str, int] = {name: i for i, name in enumerate(countries.COUNTRY_NAMES)}


def _country(value: Any) -> tuple[int, int]:
    text, status = _text(value)
    if status != OK or text is None:
        return -1, status
    return countries.canonical_country(text)


def _product_id(catalogue: Catalogue) -> Callable[[Any], tuple[int, int]]:
    def convert(value: Any) -> tuple[int, int]:
        text, status = canonical_id(value)
        if status != OK or text is None:
            return -1, status
        index = catalogue.product_of_id(text)
        return (index, OK) if index >= 0 else (-1, INVALID)

    return convert


# --------------------------------------------------------------------------------------------
# Checking a batch (everything that does not depend on the global statistics)

_AGE_GROUP_LOWER = np.array([int(g.rstrip("+").split("-")[0]) for g in AGE_GROUPS])
_AGE_GROUP_NAMES = np.array(AGE_GROUPS, dtype=object)


def age_groups(ages: Any) -> np.ndarray:
    """AgeGroup label for each age (ages >= AGE_MIN), by the bounds in schema.AGE_GROUPS."""
    index = np.searchsorted(_AGE_GROUP_LOWER, np.asarray(ages), side="right") - 1
    return _AGE_GROUP_NAMES[np.clip(index, 0, len(AGE_GROUPS) - 1)]


@dataclass
class _Checked:
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


def _columns_of(raw: pd.DataFrame) -> dict[str, np.ndarray]:
    """The parsed columns of a parse_lines frame, checked first so a wrong input fails clearly."""
    missing = [c for c in _RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(
            f"clean: input frame lacks columns {missing}; present: {list(raw.columns)}. "
            "Hint: pass the output of parse_lines()."
        )
    return {c: raw[c].to_numpy(dtype=object) for c in _RAW_COLUMNS}


def _check(
    columns: dict[str, np.ndarray],
    catalogue: Catalogue | None = None,
    known: pd.DataFrame | None = None,
    day_first: bool | None = None,
) -> _Checked:
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
        text[f], status[f] = _text_column(columns[f], canonical_id if f in ID_FIELDS else None)

    def convert(field: str, converter: Callable[[Any], tuple[Any, int]], dtype: Any) -> Any:
        idx, values, st = _factorize(columns[field], converter)
        status[field] = st[idx]
        return values.astype(dtype)[idx]

    age = convert("Age", _whole_in(AGE_MIN, AGE_MAX), np.float64)
    quantity = convert("Quantity", _whole_in(1, QUANTITY_MAX), np.float64)
    total_raw = convert("TotalAmount", _positive, np.float64)
    price_raw = convert("Price", _positive, np.float64)
    country = convert("Country", _country, np.intp)
    category = convert("Category", _vocabulary(catalogue.match_category), np.intp)
    by_name = convert("ProductName", _vocabulary(catalogue.match_name), np.intp)
    by_id = convert("ProductID", _product_id(catalogue), np.intp)
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
    return _Checked(
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
        texts = _objects([v if type(v) is str else "" for v in columns[f].tolist()])
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
        "Country": np.array([_COUNTRY_INDEX.get(c, -1) for c in known["Country"]], dtype=np.intp),
        "RegistrationDate": np.array(
            [d.toordinal() if isinstance(d, dt.date) else -1 for d in known["RegistrationDate"]],
            dtype=np.int64,
        ),
    }
    has = {
        "Name": _not_none(given["Name"]),
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


# --------------------------------------------------------------------------------------------
# Statistics


def stat_inputs(raw: pd.DataFrame, *, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """Age (valid ages, else NaN) and TotalAmount (as kept by the cleaner; NaN if quarantined).

    Spark aggregates these per partition (median Age, min/max TotalAmount) with the same rules.
    """
    return _stat_frame(_check_all(_columns_of(raw), catalogue))


def _stat_frame(checked: _Checked) -> pd.DataFrame:
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
    return _assemble(_check_all(_columns_of(raw), catalogue), stats)


def clean_lines(
    lines: pd.Series | Iterable[Any],
    stats: CleanStats | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> CleanResult:
    """Parse, compute the statistics from this batch when none are given, and clean.

    Products resolve against `catalogue` (default: Catalogue.default(), schema.CATALOGUE).
    """
    checked = _check_all(_parse_columns(lines), catalogue)
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
    The Spark job runs this once per batch, then drops repeated row_keys and fills the
    statistics' columns across all batches. Products resolve against `catalogue` (default:
    Catalogue.default(), schema.CATALOGUE).
    """
    checked = _check(_parse_columns(lines), catalogue, known, day_first)
    return pd.DataFrame(_checked_columns(checked), columns=list(CHECKED_TYPES))


def agreed_customers(facts: pd.DataFrame) -> pd.DataFrame:
    """Per CustomerID, each CUSTOMER_FIELDS value all its valid values agree on (else null).

    `facts`: check_lines' CustomerID and CUSTOMER_FIELDS columns (null where not valid). Index:
    CustomerID. The Spark job computes the same as min == max per customer.
    """
    rows = facts[facts["CustomerID"].notna()]
    grouped = rows.groupby("CustomerID", sort=False)[list(CUSTOMER_FIELDS)]
    first, distinct = grouped.first(), grouped.nunique(dropna=True)
    return first.where(distinct == 1).astype(object).where(distinct == 1, None)


def _check_all(columns: dict[str, np.ndarray], catalogue: Catalogue | None) -> _Checked:
    """_check, then the pending rows again with their customers' agreed values (one batch)."""
    first = _check(columns, catalogue)
    rows = np.flatnonzero(first.pending)
    if not len(rows):
        return first
    day_first = day_first_of(*slash_tally(first.slash_votes))
    facts = pd.DataFrame(_customer_facts(first))
    customers = facts["CustomerID"].to_numpy()[rows]
    concerned = facts[facts["CustomerID"].isin(pd.unique(customers))]  # only these can matter
    agreed = agreed_customers(concerned).reindex(customers)
    second = _check({c: v[rows] for c, v in columns.items()}, first.catalogue, agreed, day_first)
    return _merged(first, second, rows)


def slash_tally(votes: Any) -> tuple[int, int]:
    """(rows voting day-first, rows voting month-first): day_first_of's input."""
    votes = np.asarray(votes)
    return int((votes > 0).sum()), int((votes < 0).sum())


def _merged(first: _Checked, second: _Checked, rows: np.ndarray) -> _Checked:
    def put(into: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = into.copy()
        out[rows] = values
        return out

    def put_all(
        into: dict[str, np.ndarray], values: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        return {k: put(v, values[k]) for k, v in into.items()}

    return _Checked(
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


def _customer_facts(checked: _Checked) -> dict[str, np.ndarray]:
    """CustomerID and CUSTOMER_FIELDS per row, null where not valid."""
    valid = checked.valid
    country = np.where(valid["Country"], checked.country, 0)
    return {
        "CustomerID": _spread(valid["CustomerID"], checked.text["CustomerID"][valid["CustomerID"]]),
        "Name": _spread(valid["Name"], checked.text["Name"][valid["Name"]]),
        "Age": checked.age,
        "Country": _spread(valid["Country"], _COUNTRY_NAMES[country][valid["Country"]]),
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


def _checked_columns(checked: _Checked) -> dict[str, np.ndarray]:
    passed = checked.passed
    rejected = ~passed
    product = checked.product[passed]
    catalogue = checked.catalogue
    clean: dict[str, np.ndarray] = {
        "row_key": checked.text["row_key"][passed],
        "Region": _COUNTRY_REGIONS[checked.country[passed]],
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
        columns[q] = _spread(rejected, _objects([_as_text(v) for v in raw[f][rejected]]))
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


def _assemble(checked: _Checked, stats: CleanStats) -> CleanResult:
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


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _dates(ordinals: np.ndarray) -> np.ndarray:
    """Proleptic ordinals -> dates, None where the ordinal is not a date (-1)."""
    distinct, inverse = np.unique(ordinals, return_inverse=True)
    dates = [dt.date.fromordinal(int(o)) if o > 0 else None for o in distinct]
    return _objects(dates)[inverse.reshape(-1)]


def _as_text(value: Any) -> str | None:
    """A raw field value as text for the quarantine: strings as they are, others as JSON."""
    if value is None:
        return None
    if type(value) is str:
        return _safe_text(value)
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        return _safe_text(repr(value))
