"""Field converters: value -> (clean value, value_status). Distinct values are converted once per
batch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline import countries
from pipeline.catalogue import Catalogue
from pipeline.number_forms import canonical_id, parse_number, stripped_text
from pipeline.value_status import INVALID, MISSING, OK, WRONG_TYPE


def _odd(values: np.ndarray, allowed: frozenset[type]) -> np.ndarray:
    """Mask of the values whose type is not in `allowed` (C speed: no Python-level loop)."""
    known = map(allowed.__contains__, map(type, values))
    return ~np.fromiter(known, dtype=bool, count=len(values))


def factorize(
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
    converted = objects([r[0] for r in results])
    statuses = np.array([r[1] for r in results], dtype=np.int8)
    return codes, converted, statuses


_HASHABLE_SCALARS: frozenset[type] = frozenset({str, int, float, type(None)})
_STRINGS: frozenset[type] = frozenset({str})


def text_column(
    values: np.ndarray, convert: Callable[[Any], tuple[str | None, int]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """text_value (or `convert`, which must treat strings alike) over a column: vectorised for ASCII
    strings, one by one for anything else."""
    convert = convert or text_value
    odd = _odd(values, _STRINGS)
    strings = values
    if odd.any():
        strings = values.copy()
        strings[odd] = ""  # nulls stay missing; other types are redone below
        odd &= not_none(values)
    stripped = list(map(str.strip, strings.tolist()))
    out = objects(stripped)
    status = np.where(out == "", MISSING, OK).astype(np.int8)
    out[status == MISSING] = None
    if not all(map(str.isascii, stripped)):
        odd |= ~np.fromiter(map(str.isascii, stripped), dtype=bool, count=len(stripped))
    for i in np.flatnonzero(odd).tolist():
        out[i], status[i] = convert(values[i])
    return out, status


def not_none(values: np.ndarray) -> np.ndarray:
    """Elementwise ``is not None`` of an object array (C speed)."""
    out: np.ndarray = np.not_equal(values, None)  # type: ignore[call-overload]
    return out


def is_missing(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


def text_value(value: Any) -> tuple[str | None, int]:
    if is_missing(value):
        return None, MISSING
    if type(value) is not str:
        return None, WRONG_TYPE
    return stripped_text(value)


def number_value(value: Any) -> tuple[float, int]:
    """JSON number or numeric text in a written form -> float (pipeline.number_forms)."""
    return parse_number(value)


def whole_in(low: int, high: int) -> Callable[[Any], tuple[float, int]]:
    def convert(value: Any) -> tuple[float, int]:
        number, status = number_value(value)
        if status == OK and not (number.is_integer() and low <= number <= high):
            return math.nan, INVALID
        return number, status

    return convert


def positive(value: Any) -> tuple[float, int]:
    number, status = number_value(value)
    if status == OK and number <= 0:
        return math.nan, INVALID
    return number, status


# --------------------------------------------------------------------------------------------
# Vocabularies: exact match after normalisation, else a confident fuzzy match, cached per value
# and catalogue (pipeline.catalogue).


def vocabulary(match: Callable[[str], int]) -> Callable[[Any], tuple[int, int]]:
    def convert(value: Any) -> tuple[int, int]:
        text, status = text_value(value)
        if status != OK or text is None:
            return -1, status
        index = match(text)
        return (index, OK) if index >= 0 else (-1, INVALID)

    return convert


COUNTRY_NAME_ARRAY = np.array(countries.COUNTRY_NAMES, dtype=object)
COUNTRY_REGION_ARRAY = np.array(countries.REGIONS, dtype=object)
COUNTRY_INDEX: dict[str, int] = {name: i for i, name in enumerate(countries.COUNTRY_NAMES)}


def country_value(value: Any) -> tuple[int, int]:
    text, status = text_value(value)
    if status != OK or text is None:
        return -1, status
    return countries.canonical_country(text)


def product_id_value(catalogue: Catalogue) -> Callable[[Any], tuple[int, int]]:
    def convert(value: Any) -> tuple[int, int]:
        text, status = canonical_id(value)
        if status != OK or text is None:
            return -1, status
        index = catalogue.product_of_id(text)
        return (index, OK) if index >= 0 else (-1, INVALID)

    return convert


def objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
