"""Dates in the forms shops write them: value -> (proleptic ordinal, value_status code).

Accepted (whitespace runs count as one space; month names in English, any case, full, 3-letter or
``Sept``, optionally followed by a dot):

- year first: ``2024-03-05``, ``2024/3/5``, ``2024.03.05``, compact ``20240305`` (8 digits);
- ISO-8601 / RFC 3339 timestamps: the date, ``T`` or a space, ``hh:mm[:ss[.fff]]``, then
  optionally a zone ``Z``, ``+hh:mm``, ``+hhmm`` or ``+hh``; ``2024-03-05T14:22:01Z``,
  ``2024-03-05 14:22:01``, ``2024-03-05T00:00:00.000+02:00``;
- day first with dots: ``05.03.2024``;
- slashes ``MM/DD/YYYY`` or ``DD/MM/YYYY`` only when the value decides it (one part > 12, or both
  equal); both parts <= 12 and different -> AMBIGUOUS, never guessed;
- month names: ``March 5, 2024``, ``Mar 5 2024``, ``5 March 2024``, ``5-Mar-2024``,
  ``2024-Mar-05``, each optionally after a weekday (``Tue, 5 Mar 2024``), and RFC 2822 with a
  time and zone (``Tue, 05 Mar 2024 14:22:01 +0000``, zones ``GMT``/``UTC``/``Z`` too).

The rule for times: the result is the calendar date **in UTC**. A timestamp with an offset is
converted to UTC first (``2024-03-05T00:30:00+02:00`` is 2024-03-04); one without a zone is taken
to be UTC already, so its own date is kept. A time or offset out of range (``25:00``, ``+24:00``)
is INVALID; a date the calendar does not have (``2024-02-30``, ``20241305``) is IMPOSSIBLE.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pipeline.value_status import AMBIGUOUS, IMPOSSIBLE, INVALID, MISSING, OK, WRONG_TYPE

_MONTH_NAMES: tuple[str, ...] = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTHS: dict[str, int] = {
    **{name: i for i, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: i for i, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}
_WEEKDAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,? "

_TIME = r"(\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?"
_ZONE = r"(z|utc|gmt|[+-]\d{2}(?::?\d{2})?)?"
_ISO = re.compile(
    rf"(\d{{4}})-(\d{{1,2}})-(\d{{1,2}})(?:[t ]{_TIME} ?{_ZONE})?", re.ASCII | re.IGNORECASE
)
_NAMED = r"([a-z]+)\.?"
_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.ASCII | re.IGNORECASE), order)
    for pattern, order in (
        (r"(\d{4})/(\d{1,2})/(\d{1,2})", "ymd"),
        (r"(\d{4})\.(\d{1,2})\.(\d{1,2})", "ymd"),
        (r"(\d{4})(\d{2})(\d{2})", "ymd"),
        (r"(\d{1,2})\.(\d{1,2})\.(\d{4})", "dmy"),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "slash"),
        (rf"(?:{_WEEKDAYS})?{_NAMED} (\d{{1,2}}),? (\d{{4}})", "Mdy"),
        (rf"(?:{_WEEKDAYS})?(\d{{1,2}}) {_NAMED},? (\d{{4}})(?: {_TIME} ?{_ZONE})?", "dMy"),
        (rf"(?:{_WEEKDAYS})?(\d{{1,2}})-{_NAMED}-(\d{{4}})", "dMy"),
        (rf"(\d{{4}})-{_NAMED}-(\d{{1,2}})", "yMd"),
    )
)


def parse_date(value: Any) -> tuple[int, int]:
    """Date text in one of the forms above -> (proleptic ordinal of its UTC date, status)."""
    if value is None or (type(value) is float and value != value):
        return -1, MISSING
    if type(value) is not str:
        return -1, WRONG_TYPE
    text = " ".join(value.split())
    if not text:
        return -1, MISSING
    match = _ISO.fullmatch(text)
    if match is not None:
        year, month, day, *clock = match.groups()
        return _ordinal(int(year), int(month), int(day), *clock)
    for pattern, order in _FORMATS:
        match = pattern.fullmatch(text)
        if match is not None:
            return _from_parts(order, match.groups())
    return -1, INVALID


def _from_parts(order: str, parts: tuple[str | None, ...]) -> tuple[int, int]:
    a, b, c, *clock = parts
    assert a is not None and b is not None and c is not None  # noqa: S101 - the regex groups
    if order == "ymd":
        return _ordinal(int(a), int(b), int(c))
    if order == "dmy":
        return _ordinal(int(c), int(b), int(a))
    if order == "slash":
        first, second = int(a), int(b)
        if first <= 12 and second <= 12 and first != second:
            return -1, AMBIGUOUS
        month, day = (first, second) if first <= 12 else (second, first)
        return _ordinal(int(c), month, day)
    name, day, year = {"Mdy": (a, b, c), "dMy": (b, a, c), "yMd": (b, c, a)}[order]
    month = MONTHS.get(name.lower())
    if month is None:
        return -1, INVALID
    return _ordinal(int(year), month, int(day), *clock)


def _ordinal(
    year: int,
    month: int,
    day: int,
    hour: str | None = None,
    minute: str | None = None,
    second: str | None = None,
    zone: str | None = None,
) -> tuple[int, int]:
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return -1, IMPOSSIBLE
    if hour is None or minute is None:
        return date.toordinal(), OK
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 60:  # 60: a leap second
        return -1, INVALID
    offset = _offset_minutes(zone)
    if offset is None:
        return -1, INVALID
    # Minutes since the date's midnight, in UTC: below 0 is the day before, 24 h on the day after.
    utc = int(hour) * 60 + int(minute) - offset
    return date.toordinal() + utc // (24 * 60), OK


def _offset_minutes(zone: str | None) -> int | None:
    """Minutes east of UTC; None for an offset out of range."""
    if zone is None or zone.lower() in ("z", "utc", "gmt"):
        return 0
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    total = hours * 60 + minutes
    return -total if zone[0] == "-" else total
