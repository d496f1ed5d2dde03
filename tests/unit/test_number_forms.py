"""Numbers and IDs in the forms shops write them: examples, then properties, then the rule set."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.clean import REASONS, CleanStats, clean_lines
from pipeline.clean.values import text_value
from pipeline.number_forms import ID_LIMIT, canonical_id, parse_number
from pipeline.value_status import AMBIGUOUS, INVALID, MISSING, OK, WRONG_TYPE

pytestmark = pytest.mark.unit

STATS = CleanStats(age_median=40.0, total_min=0.0, total_max=1000.0)

# ---------------------------------------------------------------------------------------------
# Examples: the accepted forms (the README's table) and what stays out


@pytest.mark.parametrize(
    ("text", "value"),
    [("42", 42), (" 42 ", 42), ("+42", 42), ("-42", -42), ("12.0", 12), (".5", 0.5), ("5.", 5),
     ("1.234", 1.234),  # a single dot is a decimal point
     ("$1,234.50", 1234.5), ("-$5", -5), ("$-5", -5), ("€12", 12), ("£ 12", 12),
     ("12.00 €", 12), ("12.00€", 12), ("12 $", 12), ("USD 12.00", 12), ("12.00 USD", 12),
     ("EUR 12", 12), ("12 GBP", 12), ("1'234.50 CHF", 1234.5), ("usd12", 12),
     ("1,234", 1234),  # a single comma + exactly 3 digits after a valid first group: grouping
     ("1,234,567.89", 1234567.89), ("1,234.", 1234),
     ("1 234.50", 1234.5), ("1\u00a0234.50", 1234.5), ("1\u2009234,50", 1234.5),
     ("1\u202f234\u202f567", 1234567), ("1'234.50", 1234.5), ("1\u2019234.50", 1234.5),
     ("12,50", 12.5), ("12,5", 12.5), ("0,125", 0.125), ("1234,5", 1234.5),
     ("1.234,50", 1234.5), ("1.234.567", 1234567), ("1.234.567,89", 1234567.89),
     ("1 234,50", 1234.5), ("1 234,50 €", 1234.5), ("EUR 1.234,50", 1234.5),
     ("- 1 234,5", -1234.5)],
)  # fmt: skip
def test_accepted_number_forms(text: str, value: float) -> None:
    assert parse_number(text) == (value, OK)


@pytest.mark.parametrize(
    ("text", "status"),
    [("1,234,5", AMBIGUOUS), ("1.234.567,8.9", AMBIGUOUS), ("1234,567", AMBIGUOUS),
     ("012,345", AMBIGUOUS), ("1,23,456", AMBIGUOUS), ("12 34", AMBIGUOUS),
     ("1 234'567", AMBIGUOUS), ("1.23.456", AMBIGUOUS), ("1,234.567,8", AMBIGUOUS),
     ("1 234.567,8", AMBIGUOUS), ("1,2.5", AMBIGUOUS),
     ("abc", INVALID), ("N/A", INVALID), ("1e3", INVALID), ("NaN", INVALID), ("inf", INVALID),
     ("1..2", INVALID), (",5", INVALID), ("1,", INVALID), ("12-", INVALID), ("-$-5", INVALID),
     ("$12 USD", INVALID), ("$", INVALID), ("USD", INVALID), ("12 USDX", INVALID),
     ("1.234.567.", INVALID), ("\u0661\u0662", INVALID), ("9" * 400, INVALID),
     ("", MISSING), ("  ", MISSING), ("\u00a0", MISSING), (None, MISSING), (math.nan, MISSING),
     (True, WRONG_TYPE), ([1], WRONG_TYPE), ({"n": 1}, WRONG_TYPE)],
)  # fmt: skip
def test_numbers_that_are_not_read(text: Any, status: int) -> None:
    number, got = parse_number(text)
    assert got == status and math.isnan(number)


@pytest.mark.parametrize(
    ("value", "result"),
    [(12345, ("12345", OK)), (12345.0, ("12345", OK)), (-7, ("-7", OK)), (0, ("0", OK)),
     (-0.0, ("0", OK)), (ID_LIMIT, (str(ID_LIMIT), OK)), (-ID_LIMIT, (str(-ID_LIMIT), OK)),
     (ID_LIMIT + 1, (None, INVALID)), (1e300, (None, INVALID)), (" C-1 ", ("C-1", OK)),
     ("0012", ("0012", OK)), (12.5, (None, WRONG_TYPE)), (math.inf, (None, WRONG_TYPE)),
     (True, (None, WRONG_TYPE)), ([1], (None, WRONG_TYPE)), ({"id": 1}, (None, WRONG_TYPE)),
     (None, (None, MISSING)), (math.nan, (None, MISSING)), (" ", (None, MISSING)),
     ("\ud800", (None, INVALID))],
)  # fmt: skip
def test_canonical_ids(value: Any, result: tuple[str | None, int]) -> None:
    assert canonical_id(value) == result


# ---------------------------------------------------------------------------------------------
# Properties

SPACES = (" ", "\u00a0", "\u2009", "\u202f")
CURRENCIES = ("", "$", "€", "£", "USD", "EUR", "GBP", "CHF")


def written(value: float, group: str, decimal: str) -> str:
    """`value` with two decimals, `group` between thousands and `decimal` as decimal mark."""
    text = f"{abs(value):,.2f}".replace(",", "\0").replace(".", decimal).replace("\0", group)
    return ("-" if value < 0 else "") + text


STYLES = st.sampled_from(
    [("", "."), (",", "."), (".", ","), ("'", "."), ("\u2019", "."), ("", ","),
     *((s, ".") for s in SPACES), *((s, ",") for s in SPACES)]
)  # fmt: skip
AMOUNTS = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).map(lambda x: round(x, 2))


@given(AMOUNTS, STYLES, st.sampled_from(CURRENCIES), st.booleans(), st.sampled_from(["", " "]))
def test_any_amount_written_in_an_accepted_style_reads_back_exactly(
    value: float, style: tuple[str, str], currency: str, after: bool, gap: str
) -> None:
    text = written(value, *style)
    if currency and after:
        text = f"{text}{gap}{currency}"
    elif currency:
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        text = f"{sign}{currency}{gap}{digits}"
    assert parse_number(text) == (float(f"{value:.2f}"), OK)


NUMBER_TEXT = st.text(alphabet="0123456789.,' \u00a0$€-+USDE", max_size=14)


@given(st.one_of(NUMBER_TEXT, st.text(max_size=14), st.integers(), st.floats()))
def test_parsing_is_idempotent_on_canonical_forms(value: Any) -> None:
    number, status = parse_number(value)
    assert status in (OK, MISSING, INVALID, AMBIGUOUS, WRONG_TYPE)
    assert math.isnan(number) == (status != OK)
    if status == OK:
        canonical = np.format_float_positional(number, trim="-")
        assert parse_number(canonical) == (number, OK)
        assert parse_number(number) == (number, OK)


SEPARATORS = st.sampled_from([".", ",", "'", *SPACES])
GROUPS = st.text(alphabet="0123456789", min_size=1, max_size=4)


@given(GROUPS, st.lists(st.tuples(SEPARATORS, GROUPS), min_size=1, max_size=4))
def test_digits_joined_by_separators_are_read_as_written_or_ambiguous(
    first: str, rest: list[tuple[str, str]]
) -> None:
    """Never a guess: either a reading that keeps every digit in order, or AMBIGUOUS."""
    text = first + "".join(s + g for s, g in rest)
    number, status = parse_number(text)
    assert status in (OK, AMBIGUOUS)
    if status == OK:
        digits = first + "".join(g for _, g in rest)
        readings = {float(Decimal(int(digits)).scaleb(-k)) for k in range(len(digits) + 1)}
        assert number in readings


@given(
    st.integers(1, 999).map(lambda n: f"{n:,}"),
    st.lists(st.integers(0, 999).map(lambda n: f"{n:03d}"), max_size=3),
    st.sampled_from([",", ".", " ", "'"]),
    st.one_of(
        st.text(alphabet="0123456789", min_size=1, max_size=2),
        st.text(alphabet="0123456789", min_size=4, max_size=5),
    ),
)
def test_a_group_of_the_wrong_length_is_ambiguous(
    first: str, groups: list[str], sep: str, bad: str
) -> None:
    """Grouped digits then a group of other than 3 digits with the same separator: e.g. 1,234,5
    (1234.5? 12345?). With no group before it, a single `,`/`.` + 1-2 digits is a decimal mark."""
    text = sep.join([first, *groups, bad])
    if not groups and sep in ",.":
        return
    assert parse_number(text)[1] == AMBIGUOUS


@given(
    st.integers(1000, 10**12).map(lambda n: f"{n:,}"),
    st.text(alphabet="0123456789", min_size=1, max_size=3),
    st.sampled_from(["{C}.{d}.{d}", "{D},{d},{d}", "{D},{d}.{d}", "{C}.{d},{d}", "{D} {d}",
                     "{C}'{d}", "{C}\u00a0{d},{d}"]),
)  # fmt: skip
def test_a_decimal_mark_used_twice_or_mixed_grouping_is_ambiguous(
    grouped: str, digits: str, form: str
) -> None:
    """C: comma-grouped, D: dot-grouped (1,234 / 1.234), then separators no reading fits."""
    text = form.format(C=grouped, D=grouped.replace(",", "."), d=digits)
    assert parse_number(text)[1] == AMBIGUOUS


@given(st.integers(-ID_LIMIT, ID_LIMIT))
def test_an_integer_id_as_json_number_or_text_gives_the_same_text(n: int) -> None:
    assert canonical_id(n) == canonical_id(float(n)) == canonical_id(str(n)) == (str(n), OK)
    assert canonical_id(f" {n} ") == (str(n), OK)


@given(st.integers(min_value=1, max_value=2**80), st.sampled_from([1, -1]))
def test_an_integer_id_beyond_2_53_is_invalid(excess: int, sign: int) -> None:
    assert canonical_id(sign * (ID_LIMIT + excess)) == (None, INVALID)


@given(st.text(max_size=20))
def test_ids_as_text_are_read_like_any_text_field(text: str) -> None:
    assert canonical_id(text) == text_value(text)


@given(st.floats(allow_nan=False).filter(lambda x: not x.is_integer()))
def test_a_fractional_id_is_the_wrong_type(x: float) -> None:
    assert canonical_id(x) == (None, WRONG_TYPE)


# ---------------------------------------------------------------------------------------------
# Through the rule set


def line(**overrides: Any) -> str:
    base = {
        "row_key": "a", "CustomerID": "C1", "Name": "Ada Lovelace", "Age": 36,
        "Country": "United Kingdom", "RegistrationDate": "2023-01-10", "OrderDate": "2024-03-15",
        "Quantity": 2, "TotalAmount": 49.98, "ProductID": "P001", "ProductName": "Wireless Mouse",
        "Category": "Electronics", "Price": 24.99, "ShippingAddress": "1 Analytical Way, London",
        "ShippingDate": "2024-03-18",
    }  # fmt: skip
    return json.dumps({**base, **overrides})


def outcome(*lines: str) -> tuple[list[dict[str, Any]], list[str]]:
    result = clean_lines(list(lines), STATS)
    return result.clean.to_dict("records"), result.quarantine["reason"].tolist()


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [("CustomerID", 12345, "12345"), ("CustomerID", 12345.0, "12345"),
     ("CustomerID", "12345", "12345"), ("row_key", 7, "7"), ("row_key", -0.0, "0")],
)  # fmt: skip
def test_integer_ids_become_their_decimal_text(field: str, value: Any, text: str) -> None:
    clean, reasons = outcome(line(**{field: value}))
    assert reasons == [] and clean[0][field] == text


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"CustomerID": 1.5}, "wrong_type_customer_id"),
     ({"CustomerID": True}, "wrong_type_customer_id"),
     ({"CustomerID": [1]}, "wrong_type_customer_id"), ({"row_key": {"k": 1}}, "wrong_type_row_key"),
     ({"CustomerID": 2**60}, "invalid_customer_id"),
     ({"ProductID": 1, "ProductName": None}, "unknown_product_id"),
     ({"ProductID": 1}, "unknown_product_id"),
     ({"ProductID": 1.5, "ProductName": None}, "missing_product"),
     ({"Price": "24,9,9"}, "ambiguous_price"),
     ({"Quantity": "1,2,3", "TotalAmount": None}, "ambiguous_quantity"),
     ({"Quantity": "1,2,3", "TotalAmount": "4,99,8"}, "ambiguous_quantity")],
)  # fmt: skip
def test_ids_and_numbers_that_stay_out(overrides: dict[str, Any], reason: str) -> None:
    assert reason in REASONS
    assert outcome(line(**overrides))[1] == [reason]


@pytest.mark.parametrize(
    ("overrides", "column", "value"),
    [({"Price": "24,99 €"}, "Price", 24.99), ({"Price": "EUR 24,99"}, "Price", 24.99),
     ({"TotalAmount": "49,98", "Quantity": None}, "Quantity", 2),
     ({"Quantity": "2.0"}, "Quantity", 2), ({"Quantity": 2.0}, "Quantity", 2),
     ({"Quantity": "1,2,3"}, "Quantity", 2),  # ambiguous, recovered from TotalAmount / Price
     ({"TotalAmount": "4,99,8"}, "TotalAmount", 49.98),  # ambiguous: recomputed, like invalid
     ({"Age": "3,6,1"}, "Age", 40), ({"Age": "36,0"}, "Age", 36)],
)  # fmt: skip
def test_number_forms_through_the_rule_set(
    overrides: dict[str, Any], column: str, value: float
) -> None:
    clean, reasons = outcome(line(**overrides))
    assert reasons == [] and clean[0][column] == value


@given(AMOUNTS.filter(lambda x: x > 0), STYLES, st.sampled_from(CURRENCIES))
def test_a_price_written_in_any_style_cleans_like_the_json_number(
    price: float, style: tuple[str, str], currency: str
) -> None:
    record = {"ProductID": None, "ProductName": "Wireless Mouse", "Price": 24.99}
    as_number = outcome(line(**record))
    as_text = outcome(line(**{**record, "Price": f"{currency}{written(24.99, *style)}"}))
    assert as_text == as_number
    mismatched = outcome(line(**{**record, "Price": f"{written(price, *style)} {currency}"}))
    assert mismatched[1] == ([] if abs(price - 24.99) < 0.005 else ["price_mismatch"])
