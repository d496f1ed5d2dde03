"""Error injection for the generator: which kinds exist, which fields they touch, how they look.

Works on one plain dict record at a time (only the ~error_rate share of rows gets here), with one
``random.Random`` per chunk, so a chunk's errors are a pure function of its seed. See
``pipeline.generate`` for the overview (formats, malformed lines, groups).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.schema import AGE_MIN

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
    choices: Sequence[str] = KIND_FIELDS[kind]
    if avoid:
        choices = [f for f in choices if FIELD_GROUP[f] not in avoid]
    if not choices:
        return None
    target = rnd.choice(choices)
    value: Any = record.get(target)
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


# json.dumps builds a new encoder per call when given options; one shared encoder is the same text.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def malformed_line(record: dict[str, Any], rnd: random.Random) -> str:
    """A line that is not a usable record but still contains the row_key text."""
    line = dumps(record)
    how = rnd.choice(("truncated", "array", "string", "wrong_type"))
    if how == "truncated":
        keep_from = len(dumps({"row_key": record["row_key"]})) - 1
        return line[: rnd.randint(keep_from, len(line) - 1)]
    if how == "array":
        return dumps(list(record.values()))
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
    return dumps(bad)


def dirty_lines(
    record: dict[str, Any], kinds: list[str], rnd: random.Random
) -> tuple[list[str], list[str | None]]:
    """Apply `kinds` to a clean record; return its line(s) and the field each kind touched."""
    record = dict(record)
    fields = inject_kinds(record, kinds, rnd)
    if "malformed" in kinds:
        return [malformed_line(record, rnd)], fields
    line = dumps(record)
    return ([line, line] if "duplicate" in kinds else [line]), fields


def inject_kinds(
    record: dict[str, Any], kinds: Sequence[str], rnd: random.Random
) -> list[str | None]:
    """Apply the field-level `kinds` to `record` in place, each on a field outside the groups of
    the fields touched before; return the field each kind touched (None: a whole-line kind, or no
    field was left)."""
    fields: list[str | None] = []
    for kind in kinds:
        if kind in ROW_KINDS:
            fields.append(None)
        else:
            avoid = frozenset(FIELD_GROUP[f] for f in fields if f) if fields else frozenset()
            fields.append(inject(record, kind, rnd, avoid))
    return fields


def replace_fields(line: str, record: dict[str, Any], fields: list[str]) -> str:
    """`line`, the JSON object of a record with row_key first, with each of `fields` rendered from
    `record` instead, or left out where `record` lacks it; the rest of the text is kept as it is.

    A key's text ``,"Field":`` cannot occur inside a JSON string (its quotes would be escaped), so
    a field's text runs from its key to the next ``,"`` or to the closing brace.
    """
    for name in fields:
        start = line.index(f',"{name}":')
        end = line.find(',"', start + 1)
        end = len(line) - 1 if end < 0 else end
        value = f',"{name}":{dumps(record[name])}' if name in record else ""
        line = f"{line[:start]}{value}{line[end:]}"
    return line


_KINDS = tuple(ERROR_KINDS)
_FIELD_KINDS = tuple(k for k in ERROR_KINDS if k not in ROW_KINDS)
_KINDS_CDF = np.cumsum([ERROR_KINDS[k] for k in _KINDS])
_KINDS_CDF /= _KINDS_CDF[-1]
_FIELD_KINDS_CDF = np.cumsum([ERROR_KINDS[k] for k in _FIELD_KINDS])
_FIELD_KINDS_CDF /= _FIELD_KINDS_CDF[-1]
_IS_FIELD_KIND = np.array([k not in ROW_KINDS for k in _KINDS])
# Every possible draw as one shared tuple: kind k alone at index k, kind k followed by field
# kind j at len(_KINDS) + k * len(_FIELD_KINDS) + j.
_DRAWS = np.empty(len(_KINDS) * (1 + len(_FIELD_KINDS)), dtype=object)
_DRAWS[:] = [(k,) for k in _KINDS] + [(k, j) for k in _KINDS for j in _FIELD_KINDS]


def draw_kinds(rng: np.random.Generator, rows: int) -> list[tuple[str, ...]]:
    """The error kinds of `rows` erroneous rows: one kind by ERROR_KINDS weight, and for a
    field-level one, with MULTI_ERROR_SHARE, a second field-level kind (by weight)."""
    u = rng.random((3, rows))
    first = _KINDS_CDF.searchsorted(u[0], side="right")
    second = _FIELD_KINDS_CDF.searchsorted(u[2], side="right")
    pair = _IS_FIELD_KIND[first] & (u[1] < MULTI_ERROR_SHARE)
    pairs = len(_KINDS) + first * len(_FIELD_KINDS) + second
    kinds: list[tuple[str, ...]] = _DRAWS[np.where(pair, pairs, first)].tolist()
    return kinds
