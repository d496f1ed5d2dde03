"""Query parameters -> validated filters -> a filtered frame. Pure: no Flask app, no I/O.

Policy, the same on every endpoint: a parameter this module does not know is ignored (tracking
tags, cache busters); an empty value means "no filter"; a known parameter given more than once, or
with a value outside its allowlist or type, raises ``InvalidParameter`` (a 400) whose message names
the parameter but never repeats the value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from werkzeug.exceptions import BadRequest

from pipeline.schema import AGE_GROUPS

FILTER_PARAMS: tuple[str, ...] = ("start", "end", "country", "category", "age_group")
CUSTOMER_PARAM = "id"
CUSTOMER_ID_MAX_LEN = 64

_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]+")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# datetime64[ns] spans 1677-09-22 .. 2262-04-11: valid dates beyond it are compared by hand.
_FIRST_DAY = pd.Timestamp.min.ceil("D").date()
_LAST_DAY = pd.Timestamp.max.floor("D").date()


class InvalidParameter(BadRequest):
    """A 400 naming the bad query parameter; the raw value is deliberately left out."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter, self.reason = parameter, reason
        super().__init__(description=f"Invalid query parameter '{parameter}': {reason}.")


@dataclass(frozen=True)
class Vocabulary:
    """The allowlists: values present in the data, plus the schema's age groups."""

    countries: tuple[str, ...]
    categories: tuple[str, ...]
    age_groups: tuple[str, ...] = AGE_GROUPS
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Vocabulary:
        days = frame["OrderDate"].dropna()
        return cls(
            countries=_distinct(frame["Country"]),
            categories=_distinct(frame["Category"]),
            first_day=days.min().date() if len(days) else None,
            last_day=days.max().date() if len(days) else None,
        )


def _distinct(column: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(v for v in column.dropna().unique() if isinstance(v, str)))


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    country: str | None = None
    category: str | None = None
    age_group: str | None = None

    def to_query(self) -> dict[str, str]:
        """The set filters as query parameters (round-trips through ``parse_filters``)."""
        values = {name: getattr(self, name) for name in FILTER_PARAMS}
        return {
            name: value.isoformat() if isinstance(value, dt.date) else value
            for name, value in values.items()
            if value is not None
        }

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        mask = pd.Series(True, index=frame.index)
        for column, value in (
            ("Country", self.country),
            ("Category", self.category),
            ("AgeGroup", self.age_group),
        ):
            if value is not None:
                mask &= frame[column] == value
        mask &= _within(frame["OrderDate"], self.start, self.end)
        return frame[mask]


def _within(days: pd.Series, start: dt.date | None, end: dt.date | None) -> pd.Series:
    """OrderDate in [start, end]; the frame holds midnight timestamps (see sources.normalize)."""
    mask = pd.Series(True, index=days.index)
    if (start is not None and start > _LAST_DAY) or (end is not None and end < _FIRST_DAY):
        return ~mask
    if start is not None and start >= _FIRST_DAY:
        mask &= days >= pd.Timestamp(start)
    if end is not None and end <= _LAST_DAY:
        mask &= days <= pd.Timestamp(end)
    return mask


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


def _day(args: Mapping[str, Any], name: str) -> dt.date | None:
    text = _single(args, name)
    if text is None:
        return None
    if not _ISO_DAY.fullmatch(text):
        raise InvalidParameter(name, "expected a date as YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(name, "not a calendar date") from None


def _choice(args: Mapping[str, Any], name: str, allowed: tuple[str, ...], what: str) -> str | None:
    value = _single(args, name)
    if value is not None and value not in allowed:
        raise InvalidParameter(name, what)
    return value


def parse_filters(args: Mapping[str, Any], vocabulary: Vocabulary) -> Filters:
    """Validate the dashboard's filter parameters against the data's vocabulary."""
    start, end = _day(args, "start"), _day(args, "end")
    if start is not None and end is not None and start > end:
        raise InvalidParameter("end", "the end date is before the start date")
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
