"""Date forms: every accepted form, what stays quarantined, and the UTC rule for timestamps."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.clean import clean_lines
from pipeline.date_forms import parse_date
from pipeline.schema import CATALOGUE
from pipeline.value_status import AMBIGUOUS, IMPOSSIBLE, INVALID, MISSING, OK, WRONG_TYPE

MARCH_5 = dt.date(2024, 3, 5).toordinal()


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-05", "2024-3-5", "2024/03/05", "2024.03.05", "20240305", "05.03.2024",
        "2024-03-05T14:22:01Z", "2024-03-05 14:22:01", "2024-03-05T14:22", "2024-03-05t14:22:01z",
        "2024-03-05T02:00:00.000+02:00", "2024-03-05T00:00:00.000Z",
        "2024-03-05T14:22:01.123456789Z", "2024-03-05T14:22:01+0100", "2024-03-05T14:22:01+01",
        "2024-03-05T23:00:00-00:30", "2024-03-05 14:22:01 UTC",
        "March 5, 2024", "Mar 5 2024", "mar. 5, 2024", "5 March 2024", "5-Mar-2024",
        "05-mar-2024", "2024-Mar-05", "Tue, 5 Mar 2024", "Tuesday, March 5, 2024",
        "Tue, 05 Mar 2024 14:22:01 +0000", "Tue, 05 Mar 2024 14:22:01 GMT", "  2024-03-05  ",
    ],
)  # fmt: skip
def test_every_accepted_form_of_march_5(text: str) -> None:
    assert parse_date(text) == (MARCH_5, OK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05T00:30:00+02:00", dt.date(2024, 3, 4)),  # 22:30 UTC the day before
        ("2024-03-05T23:30:00-02:00", dt.date(2024, 3, 6)),
        ("2024-03-05T23:59:59", dt.date(2024, 3, 5)),  # no zone: taken as UTC
        ("2024-12-31T23:00:00-01:00", dt.date(2025, 1, 1)),
        ("15/03/2024", dt.date(2024, 3, 15)),
        ("03/15/2024", dt.date(2024, 3, 15)),
        ("04/04/2024", dt.date(2024, 4, 4)),
        ("Sept 9, 2024", dt.date(2024, 9, 9)),
    ],
)
def test_timestamps_give_their_utc_date(text: str, expected: dt.date) -> None:
    assert parse_date(text) == (expected.toordinal(), OK)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (None, MISSING), ("", MISSING), ("   ", MISSING), (float("nan"), MISSING),
        (20240305, WRONG_TYPE), (["2024-03-05"], WRONG_TYPE),
        ("2024-03-05T", INVALID), ("2024-03-05 junk", INVALID), ("202403051", INVALID),
        ("2024-03-05T25:00:00Z", INVALID), ("2024-03-05T12:61Z", INVALID),
        ("2024-03-05T12:00+24:00", INVALID), ("Smarch 5, 2024", INVALID), ("next tuesday", INVALID),
        ("2024-02-30", IMPOSSIBLE), ("20241305", IMPOSSIBLE), ("31.04.2024", IMPOSSIBLE),
        ("30 Feb 2024", IMPOSSIBLE), ("03/05/2024", AMBIGUOUS), ("12/11/2024", AMBIGUOUS),
    ],
)  # fmt: skip
def test_what_is_not_a_date_says_why(value: object, status: int) -> None:
    assert parse_date(value) == (-1, status)


DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
FORMS = (
    "{d:%Y-%m-%d}", "{d.year}-{d.month}-{d.day}", "{d:%Y/%m/%d}", "{d:%Y.%m.%d}", "{d:%Y%m%d}",
    "{d:%d.%m.%Y}", "{d:%B} {d.day}, {d.year}", "{d:%b} {d.day} {d.year}", "{d.day} {d:%B %Y}",
    "{d:%d-%b-%Y}", "{d:%Y-%b-%d}", "{d:%a}, {d:%d %b %Y}", "{d:%Y-%m-%d}T12:00:00Z",
    "{d:%Y-%m-%d} 08:15:00.5", "{d:%a, %d %b %Y} 10:00:00 +0000",
)  # fmt: skip


@given(DATES, st.sampled_from(FORMS))
def test_every_form_of_any_date_reads_back_to_that_date(date: dt.date, form: str) -> None:
    assert parse_date(form.format(d=date)) == (date.toordinal(), OK)


@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2100, 12, 30)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_an_aware_isoformat_reads_as_its_utc_date(moment: dt.datetime, minutes: int) -> None:
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    aware = moment.replace(tzinfo=zone)
    utc_date = aware.astimezone(dt.UTC).date()
    assert parse_date(aware.isoformat()) == (utc_date.toordinal(), OK)


@given(DATES)
def test_a_canonical_date_is_never_changed(date: dt.date) -> None:
    ordinal, status = parse_date(date.isoformat())
    assert status == OK and dt.date.fromordinal(ordinal).isoformat() == date.isoformat()


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1900, 2100))
def test_day_and_month_are_never_guessed(first: int, second: int, year: int) -> None:
    ordinal, status = parse_date(f"{first:02d}/{second:02d}/{year}")
    if first != second:
        assert (ordinal, status) == (-1, AMBIGUOUS)
    else:
        assert (ordinal, status) == (dt.date(year, first, first).toordinal(), OK)


def test_the_rule_set_takes_the_utc_date_of_an_order_timestamp() -> None:
    product = CATALOGUE[0]
    record = {
        "row_key": "r1", "CustomerID": "C1", "Name": "A B", "Age": 30, "Country": "France",
        "RegistrationDate": "2023-01-01T10:00:00Z", "OrderDate": "2024-03-05T00:30:00+02:00",
        "Quantity": 1, "TotalAmount": None, "ProductID": product.product_id,
        "ProductName": product.name, "Category": product.category, "Price": product.price,
        "ShippingAddress": "1 Rue", "ShippingDate": "20240306",
    }  # fmt: skip
    result = clean_lines([json.dumps(record)])
    assert result.quarantine.empty
    row = result.clean.iloc[0]
    assert pd.Timestamp(row["OrderDate"]).date() == dt.date(2024, 3, 4)
    assert pd.Timestamp(row["ShippingDate"]).date() == dt.date(2024, 3, 6)
