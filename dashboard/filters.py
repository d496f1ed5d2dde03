"""Query parameters -> validated filters -> masks over the aggregates. Pure: no Flask app, no I/O.

Policy, the same on every endpoint: a parameter this module does not know is ignored (tracking
tags, cache busters); an empty value means "no filter"; a known parameter given more than once, or
with a value outside its allowlist or type, raises ``InvalidParameter`` (a 400) whose message names
the parameter but never repeats the value.

The date range is by calendar month (``start``/``end`` as ``YYYY-MM``, both included): the
aggregates are monthly, so a day would promise a precision they do not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from werkzeug.exceptions import BadRequest

from pipeline.schema import AGE_GROUPS

FILTER_PARAMS: tuple[str, ...] = ("start", "end", "country", "category", "age_group", "segment")
CUSTOMER_PARAM = "id"
CUSTOMER_ID_MAX_LEN = 64
# Filter -> the aggregate column it applies to; an aggregate without the column ignores it.
FILTER_COLUMNS: dict[str, str] = {
    "start": "month",
    "end": "month",
    "country": "Country",
    "category": "Category",
    "age_group": "AgeGroup",
    "segment": "Segment",
}

_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]+")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class InvalidParameter(BadRequest):
    """A 400 naming the bad query parameter; the raw value is deliberately left out."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter, self.reason = parameter, reason
        super().__init__(description=f"Invalid query parameter '{parameter}': {reason}.")


@dataclass(frozen=True)
class Vocabulary:
    """The allowlists: values present in the aggregates, plus the schema's age groups."""

    countries: tuple[str, ...]
    categories: tuple[str, ...]
    age_groups: tuple[str, ...] = AGE_GROUPS
    months: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()  # none when the run has no customer segments

    @property
    def first_month(self) -> str | None:
        return self.months[0] if self.months else None

    @property
    def last_month(self) -> str | None:
        return self.months[-1] if self.months else None

    @classmethod
    def from_cube(cls, cube: pd.DataFrame) -> Vocabulary:
        return cls(
            countries=_distinct(cube["Country"]),
            categories=_distinct(cube["Category"]),
            months=_distinct(cube["month"]),
            segments=tuple(s for s in _distinct(cube.get("Segment", pd.Series())) if s),
        )


def _distinct(column: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(v for v in column.dropna().unique() if isinstance(v, str)))


@dataclass(frozen=True)
class Filters:
    start: str | None = None  # "YYYY-MM", inclusive
    end: str | None = None
    country: str | None = None
    category: str | None = None
    age_group: str | None = None
    segment: str | None = None

    def to_query(self) -> dict[str, str]:
        """The set filters as query parameters (round-trips through ``parse_filters``)."""
        values = {name: getattr(self, name) for name in FILTER_PARAMS}
        return {name: value for name, value in values.items() if value is not None}

    def in_range(self, months: Iterable[str]) -> list[str]:
        """The months within [start, end] ("YYYY-MM" text orders like the months)."""
        return [
            m
            for m in months
            if (self.start is None or m >= self.start) and (self.end is None or m <= self.end)
        ]

    def ignored_by(self, columns: Iterable[str]) -> tuple[str, ...]:
        """The set filters an aggregate with these columns cannot apply."""
        have = set(columns)
        return tuple(
            name
            for name in FILTER_PARAMS
            if getattr(self, name) is not None and FILTER_COLUMNS[name] not in have
        )

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of an aggregate matching every filter whose column the aggregate has."""
        keep = np.ones(len(frame), dtype=bool)
        for column, value in (
            ("Country", self.country),
            ("Category", self.category),
            ("AgeGroup", self.age_group),
            ("Segment", self.segment),
        ):
            if value is not None and column in frame.columns:
                keep &= (frame[column] == value).to_numpy()
        if (self.start is not None or self.end is not None) and "month" in frame.columns:
            months = frame["month"]
            if isinstance(months.dtype, pd.CategoricalDtype):
                chosen = self.in_range(months.cat.categories)
            else:
                chosen = self.in_range(months.unique())
            keep &= months.isin(chosen).to_numpy()
        return keep


def _single(args: Mapping[str, Any], name: str) -> str | None:
    getlist = getattr(args, "getlist", None)
    values = getlist(name) if getlist else ([args[name]] if name in args else [])
    if len(values) > 1:
        raise InvalidParameter(name, "given more than once")
    if not values or values[0] == "":
        return None
    value = values[0]
    if not isinstance(value, str):
        raise InvalidParameter(name, "expected text")
    return value


def _month(args: Mapping[str, Any], name: str) -> str | None:
    text = _single(args, name)
    if text is None:
        return None
    match = _MONTH.fullmatch(text)
    if not match:
        raise InvalidParameter(name, "expected a month as YYYY-MM")
    if int(match.group(1)) < 1 or not 1 <= int(match.group(2)) <= 12:
        raise InvalidParameter(name, "not a calendar month")
    return text


def _choice(args: Mapping[str, Any], name: str, allowed: tuple[str, ...], what: str) -> str | None:
    value = _single(args, name)
    if value is not None and value not in allowed:
        raise InvalidParameter(name, what)
    return value


def parse_filters(args: Mapping[str, Any], vocabulary: Vocabulary) -> Filters:
    """Validate the dashboard's filter parameters against the data's vocabulary."""
    start, end = _month(args, "start"), _month(args, "end")
    if start is not None and end is not None and start > end:
        raise InvalidParameter("end", "the end month is before the start month")
    return Filters(
        start=start,
        end=end,
        country=_choice(args, "country", vocabulary.countries, "not a country in the data"),
        category=_choice(args, "category", vocabulary.categories, "not a category in the data"),
        age_group=_choice(
            args,
            "age_group",
            vocabulary.age_groups,
            "expected one of " + ", ".join(vocabulary.age_groups),
        ),
        segment=_choice(args, "segment", vocabulary.segments, "not a segment of this run"),
    )


def parse_customer_id(args: Mapping[str, Any]) -> str | None:
    """The ``id`` parameter: None when absent or empty, else a safe identifier."""
    value = _single(args, CUSTOMER_PARAM)
    if value is None:
        return None
    if len(value) > CUSTOMER_ID_MAX_LEN:
        raise InvalidParameter(CUSTOMER_PARAM, f"longer than {CUSTOMER_ID_MAX_LEN} characters")
    if not _CUSTOMER_ID.fullmatch(value):
        raise InvalidParameter(CUSTOMER_PARAM, "only letters, digits, '_' and '-' are allowed")
    return value
