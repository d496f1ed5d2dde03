"""pipeline.date_forms.parse_date: the table of accepted and refused forms, and its properties.

Every form a shop may send reads as exactly its date (a timestamp as its date in UTC); what is
garbage, self-contradictory or undecidable keeps its status and is never read as another date.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.clean import clean_lines
from pipeline.date_forms import MIN_SLASH_EVIDENCE, day_first_of, parse_date, slash_order
from pipeline.generate_errors import _impossible_date, other_date_format
from pipeline.schema import CATALOGUE
from pipeline.value_status import AMBIGUOUS, IMPOSSIBLE, INVALID, MISSING, OK, WRONG_TYPE

D = dt.date

# (form, example, the date it reads as) -- the README's table of accepted forms.
ACCEPTED = [
    ("ISO date", "2024-03-15", D(2024, 3, 15)),
    ("ISO date, no zero padding", "2024-3-5", D(2024, 3, 5)),
    ("year first, slashes", "2024/03/15", D(2024, 3, 15)),
    ("year first, dots", "2024.03.15", D(2024, 3, 15)),
    ("compact YYYYMMDD", "20240315", D(2024, 3, 15)),
    ("ISO timestamp, Z", "2024-03-15T14:22:01Z", D(2024, 3, 15)),
    ("ISO timestamp, space, no zone (UTC)", "2024-03-15 14:22:01", D(2024, 3, 15)),
    ("ISO timestamp, minutes only", "2024-03-15T14:22", D(2024, 3, 15)),
    ("ISO timestamp, fraction, +hh:mm", "2024-03-15T00:00:00.000+02:00", D(2024, 3, 14)),
    ("ISO timestamp, +hhmm", "2024-03-15T23:30:00-0100", D(2024, 3, 16)),
    ("ISO timestamp, +hh", "2024-03-15T01:00:00+03", D(2024, 3, 14)),
    ("ISO timestamp, decimal comma", "2024-03-15T14:22:01,5Z", D(2024, 3, 15)),
    ("timestamp with UTC word", "2024-03-15 14:22:01 UTC", D(2024, 3, 15)),
    ("timestamp with spaced offset", "2024-03-15 14:22:01 -0500", D(2024, 3, 15)),
    ("offset crossing a year", "2024-12-31T23:00:00-01:00", D(2025, 1, 1)),
    ("leap second", "2016-12-31T23:59:60Z", D(2016, 12, 31)),
    ("day first, dots", "15.03.2024", D(2024, 3, 15)),
    ("MM/DD/YYYY, day > 12", "03/15/2024", D(2024, 3, 15)),
    ("DD/MM/YYYY, day > 12", "15/03/2024", D(2024, 3, 15)),
    ("slashes, both parts equal", "04/04/2024", D(2024, 4, 4)),
    ("Month D, YYYY", "March 15, 2024", D(2024, 3, 15)),
    ("Mon D YYYY", "Mar 15 2024", D(2024, 3, 15)),
    ("Mon. D, YYYY", "mar. 5, 2024", D(2024, 3, 5)),
    ("Sept", "Sept 9, 2024", D(2024, 9, 9)),
    ("D Month YYYY", "15 March 2024", D(2024, 3, 15)),
    ("D Mon YYYY", "5 Mar 2024", D(2024, 3, 5)),
    ("D-Mon-YYYY", "15-Mar-2024", D(2024, 3, 15)),
    ("YYYY-Mon-DD", "2024-Mar-15", D(2024, 3, 15)),
    ("day with suffix", "March 1st, 2024", D(2024, 3, 1)),
    ("day with suffix, day first", "22nd March 2024", D(2024, 3, 22)),
    ("weekday, D Mon YYYY", "Fri, 15 Mar 2024", D(2024, 3, 15)),
    ("weekday, Month D, YYYY", "Friday, March 15, 2024", D(2024, 3, 15)),
    ("weekday, D-Mon-YYYY", "Fri 15-Mar-2024", D(2024, 3, 15)),
    ("RFC 2822", "Fri, 15 Mar 2024 14:22:01 +0000", D(2024, 3, 15)),
    ("RFC 2822, GMT", "Fri, 15 Mar 2024 14:22:01 GMT", D(2024, 3, 15)),
    ("RFC 2822, offset", "Fri, 15 Mar 2024 23:22:01 -0100", D(2024, 3, 16)),
    ("any case", "FRI, 15 MAR 2024", D(2024, 3, 15)),
    ("whitespace runs", "  March   15,  2024 ", D(2024, 3, 15)),
    ("leap day", "29 Feb 2024", D(2024, 2, 29)),
]

# (example, status, why)
REFUSED = [
    (None, MISSING, "null"),
    ("", MISSING, "empty"),
    ("   ", MISSING, "blank"),
    (float("nan"), MISSING, "NaN"),
    (20240315, WRONG_TYPE, "a JSON number, not text"),
    (["2024-03-15"], WRONG_TYPE, "a list"),
    ("2024-03-15T", INVALID, "a lone T"),
    ("2024-03-15 junk", INVALID, "trailing text"),
    ("2024-03-15T14:22:01.Z", INVALID, "a dot without a fraction"),
    ("2024-03-15T14:22:01+02:00Z", INVALID, "two zones"),
    ("2024-03-15T14:22:01+2", INVALID, "a one-digit offset"),
    ("2024-03-15T9:05", INVALID, "a one-digit hour"),
    ("202403151", INVALID, "9 digits"),
    ("2024315", INVALID, "7 digits"),
    ("2024-03-15T25:00:00Z", INVALID, "hour 25"),
    ("2024-03-15T24:00:00", INVALID, "hour 24"),
    ("2024-03-15T12:61Z", INVALID, "minute 61"),
    ("2024-03-15T12:00:61Z", INVALID, "second 61"),
    ("2024-03-15T12:00+24:00", INVALID, "offset 24 h"),
    ("2024-03-15T12:00+05:60", INVALID, "offset minute 60"),
    ("15 Mar 2024 14:22:01 EST", INVALID, "a zone name other than UTC/GMT/Z"),
    ("Smarch 5, 2024", INVALID, "not a month"),
    ("Monkey, 15 Mar 2024", INVALID, "not a weekday"),
    ("Mon, 15 Mar 2024", INVALID, "the weekday contradicts the date"),
    ("March 5rd, 2024", INVALID, "a wrong day suffix"),
    ("March 15, 24", INVALID, "a two-digit year"),
    ("15.03.24", INVALID, "a two-digit year"),
    ("2024-W11-5", INVALID, "ISO week dates are not accepted"),
    ("2024-075", INVALID, "ISO ordinal dates are not accepted"),
    ("\uff12\uff10\uff12\uff14-03-15", INVALID, "fullwidth digits"),
    ("next tuesday", INVALID, "words"),
    ("2024-02-30", IMPOSSIBLE, "no Feb 30"),
    ("2023-02-29", IMPOSSIBLE, "not a leap year"),
    ("1900-02-29", IMPOSSIBLE, "1900 is not a leap year"),
    ("20241305", IMPOSSIBLE, "month 13"),
    ("31.04.2024", IMPOSSIBLE, "no April 31"),
    ("30 Feb 2024", IMPOSSIBLE, "no Feb 30"),
    ("Fri, 30 Feb 2024", IMPOSSIBLE, "no Feb 30, whatever the weekday"),
    ("2024-00-10", IMPOSSIBLE, "month 0"),
    ("0000-01-01", IMPOSSIBLE, "year 0"),
    ("13/14/2024", IMPOSSIBLE, "no month 13 or 14"),
    ("00/05/2024", IMPOSSIBLE, "a zero part is neither day nor month"),
    ("0001-01-01T00:30+02:00", IMPOSSIBLE, "its UTC date is before 0001-01-01"),
    ("9999-12-31T23:30-02:00", IMPOSSIBLE, "its UTC date is after 9999-12-31"),
    ("03/05/2024", AMBIGUOUS, "March 5 or 3 May"),
    ("12/11/2024", AMBIGUOUS, "December 11 or 12 November"),
    ("1/2/2024", AMBIGUOUS, "January 2 or 1 February"),
]


@pytest.mark.parametrize(("form", "text", "expected"), ACCEPTED, ids=[r[0] for r in ACCEPTED])
def test_every_accepted_form_reads_as_its_date(form: str, text: str, expected: dt.date) -> None:
    assert parse_date(text) == (expected.toordinal(), OK)


@pytest.mark.parametrize(("value", "status", "why"), REFUSED, ids=[r[2] for r in REFUSED])
def test_a_refused_form_says_why(value: object, status: int, why: str) -> None:
    assert parse_date(value) == (-1, status)


# --------------------------------------------------------------------------------------------
# Properties

DATES = st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31))
TIMES = st.times()  # naive: taken as UTC, so the date never moves


def _suffixed(day: int) -> str:
    return f"{day}{'th' if 11 <= day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _forms(d: dt.date, t: dt.time) -> list[str]:
    """Every accepted form of date `d` (with clock `t` where a form has one, in UTC)."""
    month, mon = f"{d:%B}", f"{d:%b}"
    forms = [
        f"{d:%Y-%m-%d}", f"{d.year}-{d.month}-{d.day}", f"{d:%Y/%m/%d}", f"{d:%Y.%m.%d}",
        f"{d:%Y%m%d}", f"{d:%d.%m.%Y}", f"{d.day}.{d.month}.{d.year}",
        f"{d:%Y-%m-%d}T{t:%H:%M}", f"{d:%Y-%m-%d} {t:%H:%M:%S}", f"{d:%Y-%m-%d}T{t}Z",
        f"{d:%Y-%m-%d}T{t:%H:%M:%S}.{t.microsecond:06d}+00:00", f"{d:%Y-%m-%d} {t:%H:%M} UTC",
        f"{d:%Y-%m-%d}T{t:%H:%M:%S}-0000", f"{d:%Y-%m-%d}T{t:%H:%M:%S}+00",
        f"{month} {d.day}, {d.year}", f"{mon} {d.day} {d.year}", f"{mon}. {d.day}, {d.year}",
        f"{d.day} {month} {d.year}", f"{d:%d} {mon} {d.year}", f"{d.day}-{mon}-{d.year}",
        f"{d:%Y}-{mon}-{d:%d}", f"{month} {_suffixed(d.day)}, {d.year}",
        f"{_suffixed(d.day)} {month} {d.year}", f"{d:%a}, {d.day} {mon} {d.year}",
        f"{d:%A}, {month} {d.day}, {d.year}", f"{d:%a} {d:%d-%b-%Y}",
        f"{d:%a, %d %b %Y} {t:%H:%M:%S} +0000", f"{d:%a, %d %b %Y} {t:%H:%M} GMT",
    ]  # fmt: skip
    if d.day > 12 or d.day == d.month:  # the slash forms only where the value decides
        forms += [f"{d:%m/%d/%Y}", f"{d:%d/%m/%Y}", f"{d.month}/{d.day}/{d.year}"]
    return forms


@given(DATES, TIMES, st.data())
def test_every_form_of_any_date_reads_back_to_that_date(
    date: dt.date, time: dt.time, data: st.DataObject
) -> None:
    text = data.draw(st.sampled_from(_forms(date, time)))
    case = data.draw(st.sampled_from((str, str.lower, str.upper)))
    assert parse_date(f" {case(text)} ") == (date.toordinal(), OK)


@given(DATES, TIMES, st.sampled_from(("T", "x", " junk", "Z0", ":", "-", ".", "/1", " 2024")))
def test_an_accepted_form_with_anything_after_it_is_not_read(
    date: dt.date, time: dt.time, junk: str
) -> None:
    for text in _forms(date, time):
        assert parse_date(text + junk)[1] != OK, text + junk


AWARE = st.datetimes(
    min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 12, 30)
).flatmap(
    lambda moment: st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda minutes: moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    )
)


def _offset(**delta: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(**delta))


@given(
    AWARE,
    st.sampled_from(("T", " ")),
    st.sampled_from(("auto", "minutes", "seconds", "milliseconds", "microseconds")),
)
@example(dt.datetime(2024, 3, 5, 0, 30, tzinfo=_offset(hours=2)), "T", "seconds")
@example(dt.datetime(1900, 1, 2, 0, 30, tzinfo=_offset(hours=23, minutes=59)), " ", "auto")
def test_an_aware_isoformat_reads_as_its_utc_date(
    moment: dt.datetime, sep: str, timespec: str
) -> None:
    utc = moment.astimezone(dt.UTC).date().toordinal()
    text = moment.isoformat(sep=sep, timespec=timespec)
    assert parse_date(text) == (utc, OK)
    assert parse_date(text[:-3] + text[-2:]) == (utc, OK)  # +hhmm
    if text.endswith(":00"):
        assert parse_date(text[:-3]) == (utc, OK)  # +hh
    if moment.utcoffset() == dt.timedelta(0):
        assert parse_date(text[:-6] + "Z") == (utc, OK)


@given(AWARE)
@example(dt.datetime(2024, 3, 5, 0, 30, tzinfo=_offset(hours=1)))
def test_an_rfc_2822_date_reads_as_its_utc_date(moment: dt.datetime) -> None:
    text = email.utils.format_datetime(moment)  # "Tue, 05 Mar 2024 14:22:01 +0100"
    assert parse_date(text) == (moment.astimezone(dt.UTC).date().toordinal(), OK)


@given(st.dates())
def test_a_canonical_date_is_never_changed(date: dt.date) -> None:
    ordinal, status = parse_date(date.isoformat())
    assert status == OK and dt.date.fromordinal(ordinal).isoformat() == date.isoformat()


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1000, 9999), st.booleans())
def test_day_and_month_are_never_guessed(first: int, second: int, year: int, pad: bool) -> None:
    text = f"{first:02d}/{second:02d}/{year}" if pad else f"{first}/{second}/{year}"
    if first != second:
        assert parse_date(text) == (-1, AMBIGUOUS)
    else:
        assert parse_date(text) == (dt.date(year, first, first).toordinal(), OK)


@given(DATES, st.integers(1, 6))
@example(dt.date(2024, 2, 29), 1)
def test_a_weekday_that_contradicts_the_date_is_refused(date: dt.date, shift: int) -> None:
    wrong = date + dt.timedelta(days=shift)  # another weekday
    assert parse_date(f"{wrong:%a}, {date:%d %b %Y}") == (-1, INVALID)
    assert parse_date(f"{wrong:%A}, {date:%B} {date.day}, {date.year}") == (-1, INVALID)


@given(DATES, st.sampled_from(("st", "nd", "rd", "th")))
@example(dt.date(2024, 3, 11), "st")
@example(dt.date(2024, 3, 13), "rd")
@example(dt.date(2024, 3, 23), "rd")
def test_only_the_right_day_suffix_is_read(date: dt.date, suffix: str) -> None:
    right = _suffixed(date.day).endswith(suffix)
    expected = (date.toordinal(), OK) if right else (-1, INVALID)
    assert parse_date(f"{date:%B} {date.day}{suffix}, {date.year}") == expected


# --------------------------------------------------------------------------------------------
# The generator's date errors: a reformatted date is that date, an impossible one stays out.

GENERATED = st.dates(min_value=D(2019, 1, 1), max_value=D(2025, 12, 31))


@given(GENERATED, st.randoms(use_true_random=False))
def test_the_generators_other_formats_read_as_the_true_date(
    date: dt.date, rnd: random.Random
) -> None:
    assert parse_date(other_date_format(date.isoformat(), rnd)) == (date.toordinal(), OK)


@given(GENERATED, st.randoms(use_true_random=False))
def test_the_generators_impossible_dates_stay_impossible(date: dt.date, rnd: random.Random) -> None:
    assert parse_date(_impossible_date(date.isoformat(), rnd)) == (-1, IMPOSSIBLE)


# --------------------------------------------------------------------------------------------
# Through the rule set


def _record(**fields: str) -> str:
    product = CATALOGUE[0]
    record = {
        "row_key": "r1", "CustomerID": "C1", "Name": "A B", "Age": 30, "Country": "France",
        "RegistrationDate": "2023-01-01", "OrderDate": "2024-03-05", "Quantity": 1,
        "TotalAmount": None, "ProductID": product.product_id, "ProductName": product.name,
        "Category": product.category, "Price": product.price, "ShippingAddress": "1 Rue",
        "ShippingDate": "2024-03-06", **fields,
    }  # fmt: skip
    return json.dumps(record)


def test_a_utc_date_outside_the_calendar_is_quarantined_not_a_crash() -> None:
    result = clean_lines(
        [_record(RegistrationDate="0001-01-01T00:30+02:00", CustomerID="C2"), _record(row_key="r2")]
    )
    assert list(result.quarantine["reason"]) == ["impossible_registration_date"]
    assert len(result.clean) == 1


def test_the_rule_set_reads_shop_forms_as_their_utc_dates() -> None:
    result = clean_lines(
        [_record(OrderDate="Tue, 05 Mar 2024 00:30:00 +0200", ShippingDate="March 6th, 2024")]
    )
    assert result.quarantine.empty
    row = result.clean.iloc[0]
    assert str(row["OrderDate"])[:10] == "2024-03-04"
    assert str(row["ShippingDate"])[:10] == "2024-03-06"


@pytest.mark.parametrize(
    ("text", "vote"),
    [("25/03/2024", 1), (" 25/3/2024 ", 1), ("03/25/2024", -1), ("03/05/2024", 0),
     ("05/05/2024", 0), ("32/03/2024", 0), ("13/13/2024", 0), ("2024-03-25", 0), (20240325, 0)],
)  # fmt: skip
def test_a_slash_date_votes_for_the_only_order_that_reads_it(text: object, vote: int) -> None:
    assert slash_order(text) == vote


@pytest.mark.parametrize(
    ("day_first", "month_first", "decided"),
    [(MIN_SLASH_EVIDENCE, 0, True), (0, MIN_SLASH_EVIDENCE, False),
     (MIN_SLASH_EVIDENCE - 1, 0, None), (500, 5, True), (500, 6, None), (40, 40, None)],
)  # fmt: skip
def test_a_source_decides_its_slash_order_only_with_clear_evidence(
    day_first: int, month_first: int, decided: bool | None
) -> None:
    assert day_first_of(day_first, month_first) is decided


@given(DATES)
def test_a_decided_order_reads_every_slash_date_of_that_order(date: dt.date) -> None:
    assert parse_date(f"{date:%d/%m/%Y}", day_first=True) == (date.toordinal(), OK)
    assert parse_date(f"{date:%m/%d/%Y}", day_first=False) == (date.toordinal(), OK)
