"""Hypothesis strategies for raw order lines: arbitrary junk, realistic records, injected errors."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

from hypothesis import strategies as st

from pipeline.generate import ERROR_KINDS, dirty_lines
from pipeline.schema import AGE_MAX, AGE_MIN, CATALOGUE, COUNTRIES, FIELDS

# Anything JSON can hold (including NaN and infinities, which Python's json reads and writes).
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=4,
)
# Objects with any subset of the contract's keys holding any JSON value.
ARBITRARY_RECORDS = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, JSON_VALUES))
ARBITRARY_LINES = st.one_of(
    st.text(max_size=40),
    JSON_VALUES.map(json.dumps),
    ARBITRARY_RECORDS.map(json.dumps),
)

# Field values of a valid record. Text is stripped because the cleaner strips it.
TEXTS = st.text(min_size=1, max_size=20).map(lambda s: s.strip() or "x")
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))
AGES = st.integers(min_value=AGE_MIN, max_value=AGE_MAX)
QUANTITIES = st.integers(min_value=1, max_value=50)
ERROR_KIND_LISTS = st.lists(st.sampled_from(list(ERROR_KINDS)), max_size=2)
RANDOMS = st.randoms(use_true_random=False)


@st.composite
def clean_records(draw: st.DrawFn, row_key: str | None = None) -> dict[str, Any]:
    """A valid raw record (row_key first, as the generator writes it)."""
    product = draw(st.sampled_from(CATALOGUE))
    quantity = draw(QUANTITIES)
    registered = draw(DATES)
    ordered = registered + dt.timedelta(days=draw(st.integers(0, 900)))
    shipped = ordered + dt.timedelta(days=draw(st.integers(0, 30)))
    return {
        "row_key": row_key if row_key is not None else draw(TEXTS),
        "CustomerID": draw(TEXTS),
        "Name": draw(TEXTS),
        "Age": draw(AGES),
        "Country": draw(st.sampled_from(COUNTRIES)),
        "RegistrationDate": registered.isoformat(),
        "OrderDate": ordered.isoformat(),
        "Quantity": quantity,
        "TotalAmount": round(quantity * product.price, 2),
        "ProductID": product.product_id,
        "ProductName": product.name,
        "Category": product.category,
        "Price": product.price,
        "ShippingAddress": draw(TEXTS),
        "ShippingDate": shipped.isoformat(),
    }


@st.composite
def clean_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Valid records with distinct row keys (formatted like the generator's)."""
    size = draw(st.integers(min_value=1, max_value=6))
    return [draw(clean_records(row_key=f"ab-{i:09d}")) for i in range(size)]


@st.composite
def dirty_batches(draw: st.DrawFn) -> list[str]:
    """Lines of valid records, each given zero to two of the generator's error kinds."""
    lines: list[str] = []
    for record in draw(clean_batches()):
        kinds = draw(ERROR_KIND_LISTS)
        rnd: random.Random = draw(RANDOMS)
        lines += dirty_lines(record, kinds, rnd)[0]
    return lines


# Values that sit near the rules' edges, for fields of otherwise valid records.
EDGY_VALUES = st.one_of(
    JSON_VALUES,
    st.integers(min_value=-5, max_value=200),
    st.sampled_from(
        ["", " ", "0", "-1", "1e3", "$", "1,000", "NaN", "2024-02-29", "2023-02-29", "02/29/2024",
         "12/12/2024", "13/13/2024", "Feb 29, 2024", "germany", "p001 ", "wireless mouse"]
    ),
)  # fmt: skip


@st.composite
def mangled_batches(draw: st.DrawFn) -> list[str]:
    """Lines of valid records with up to three fields replaced by edgy values or removed."""
    lines = []
    for record in draw(clean_batches()):
        for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
            if draw(st.booleans()):
                record[field] = draw(EDGY_VALUES)
            else:
                record.pop(field, None)
        lines.append(json.dumps(record))
    return lines


# Any batch the cleaner may meet: junk, realistic records with errors or mangled fields, a mix.
ANY_BATCHES = st.one_of(
    st.lists(ARBITRARY_LINES, max_size=6),
    dirty_batches(),
    mangled_batches(),
    st.tuples(dirty_batches(), st.lists(ARBITRARY_LINES, max_size=3)).map(lambda t: t[0] + t[1]),
)


@st.composite
def single_typos(draw: st.DrawFn, vocabulary: tuple[str, ...]) -> tuple[str, str]:
    """(value, value with one edit): a letter dropped, doubled, swapped, mistyped or inserted,
    a case change, or stray whitespace."""
    value = draw(st.sampled_from(vocabulary))
    i = draw(st.integers(min_value=0, max_value=len(value) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ "))
    edits = {
        "drop": value[:i] + value[i + 1 :],
        "double": value[: i + 1] + value[i:],
        "swap": value[:i] + value[i + 1 : i + 2] + value[i] + value[i + 2 :],
        "substitute": value[:i] + letter + value[i + 1 :],
        "insert": value[:i] + letter + value[i:],
        "case": value.swapcase(),
        "space": f"  {value} ",
    }
    return value, edits[draw(st.sampled_from(sorted(edits)))]
