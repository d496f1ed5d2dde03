"""Numbers and IDs in the forms shops write them: value -> (clean value, value_status code).

Numbers (``parse_number``): a JSON number, or text made of an optional sign, an optional currency
(a sign ``$ € £`` or a code ``USD EUR GBP CHF``, any case, before or after the digits, at most
one), and digits in one of these shapes (spaces are any of space, no-break, figure, thin and narrow
no-break space; apostrophes are ``'`` or ``’``):

- plain, with a decimal point: ``1234``, ``1234.5``, ``1.234`` (a single dot is always a decimal
  point), ``.5``, ``5.``;
- groups of three after a first group of 1-3 digits not starting with 0, all joined by the same
  separator (``,`` ``.`` space or apostrophe), then optionally a decimal mark that is the other
  one of ``.``/``,`` and occurs once: ``1,234.50``, ``1.234,50``, ``1 234,50``, ``1'234.50``,
  ``1.234.567`` (two or more dots can only be grouping), ``1,234.`` (as before);
- a single comma as decimal mark: ``12,50``, ``12,5``, ``0,125``, ``1234,5`` (any comma not
  followed by exactly three digits, or after a lone ``0``).

A single comma followed by exactly three digits after a valid first group, ``1,234``, is grouping
(1234): the dominant export convention and the rule set's behaviour so far. Digits joined by single
separators in any other way (``1,234,5``, ``1.234.567,8.9``, ``1234,567``, ``12 34``,
``1 234'567``) could be read more than one way: AMBIGUOUS, never guessed. Anything else
(``abc``, ``1e3``, ``NaN``, ``1..2``) is INVALID; a list, object or boolean is WRONG_TYPE.

IDs (``canonical_id``): text is stripped as every text field is; a JSON integer, or a float that
is a whole number, within +-2**53 (beyond it a JSON reader may already have changed the digits:
INVALID) becomes its decimal text, ``12345`` and ``12345.0`` -> ``"12345"``, like the text
``"12345"``. Booleans, non-whole floats, lists and objects are WRONG_TYPE.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pipeline.value_status import AMBIGUOUS, INVALID, MISSING, OK, WRONG_TYPE

CURRENCY_SIGNS = "$€£"
CURRENCY_CODES: frozenset[str] = frozenset({"USD", "EUR", "GBP", "CHF"})
ID_LIMIT = 2**53  # integers beyond this are not exact in a double (JavaScript, many JSON readers)

SPACES = "\u0020\u00a0\u2007\u2009\u202f"  # space, no-break, figure, thin, narrow no-break
APOSTROPHES = "'\u2019"
# Each space becomes " " and each apostrophe "'", so one grouping character is one kind.
_SEPARATOR_KIND = str.maketrans({**dict.fromkeys(SPACES, " "), **dict.fromkeys(APOSTROPHES, "'")})

_PLAIN = re.compile(r"\d+(?:\.\d*)?|\.\d+", re.ASCII)
_SHAPE = re.compile(r"\d+(?:[.,' ]\d+)+", re.ASCII)  # digit runs joined by single separators
_SEPARATOR = re.compile(r"[.,' ]")
_FIRST_GROUP = re.compile(r"[1-9]\d{0,2}", re.ASCII)


def parse_number(value: Any) -> tuple[float, int]:
    """JSON number or numeric text -> (float, OK); else (NaN, MISSING / INVALID / AMBIGUOUS /
    WRONG_TYPE). 1 and 1.0 give the same result (the rule set converts distinct values once)."""
    if value is None:
        return math.nan, MISSING
    kind = type(value)
    if kind is int or kind is float:
        if value != value:
            return math.nan, MISSING
        number = float(value) if abs(value) < 1e300 else math.inf
        return (number, OK) if math.isfinite(number) else (math.nan, INVALID)
    if kind is not str:
        return math.nan, WRONG_TYPE
    text = value.strip()
    if not text:
        return math.nan, MISSING
    unwrapped = _unwrap(text)
    if unwrapped is None:
        return math.nan, INVALID
    sign, body = unwrapped
    digits, status = _digits(body)
    if digits is None:
        return math.nan, status
    number = float(sign + digits)
    return (number, OK) if math.isfinite(number) else (math.nan, INVALID)


def _unwrap(text: str) -> tuple[str, str] | None:
    """(sign, digits part) without the sign and currency around it; None when only those."""
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:].lstrip()
    rest = _without_prefix(text)
    if rest is not None:
        text = rest.lstrip()
        if not sign and text[:1] in ("+", "-"):
            sign, text = text[0], text[1:].lstrip()
    else:
        rest = _without_suffix(text)
        if rest is not None:
            text = rest.rstrip()
    return (sign, text) if text else None


def _without_prefix(text: str) -> str | None:
    if text[:1] and text[0] in CURRENCY_SIGNS:
        return text[1:]
    if text[:3].upper() in CURRENCY_CODES and not text[3:4].isalpha():
        return text[3:]
    return None


def _without_suffix(text: str) -> str | None:
    if text[-1:] and text[-1] in CURRENCY_SIGNS:
        return text[:-1]
    if text[-3:].upper() in CURRENCY_CODES and not text[-4:-3].isalpha():
        return text[:-3]
    return None


def _digits(body: str) -> tuple[str | None, int]:
    """The number as plain decimal text ("1234.5"), or (None, INVALID / AMBIGUOUS)."""
    if _PLAIN.fullmatch(body):
        return body, OK
    body = body.translate(_SEPARATOR_KIND)
    if body.endswith(".") and _SHAPE.fullmatch(body[:-1]):
        # "1,234." as before: a trailing point after a whole number written with grouping.
        digits, _ = _grouped(body[:-1])
        whole = digits is not None and "." not in digits and "." not in body[:-1]
        return (digits, OK) if whole else (None, INVALID)
    if not _SHAPE.fullmatch(body):
        return None, INVALID
    return _grouped(body)


def _grouped(body: str) -> tuple[str | None, int]:
    """Digit runs joined by separators: the one consistent reading, else AMBIGUOUS."""
    groups = _SEPARATOR.split(body)
    separators = _SEPARATOR.findall(body)
    decimal: str | None = None
    if len(set(separators)) > 1:
        decimal = separators[-1]  # mixed: the last one must be the decimal mark, used once
        if decimal not in ".," or separators.count(decimal) != 1:
            return None, AMBIGUOUS
    elif separators == ["."]:
        decimal = "."  # (plain text; kept here so the rule reads whole)
    elif separators == [","] and (len(groups[1]) != 3 or groups[0] == "0"):
        decimal = ","
    whole = groups[:-1] if decimal else groups
    grouping = separators[:-1] if decimal else separators
    if grouping and not (
        len(set(grouping)) == 1
        and _FIRST_GROUP.fullmatch(whole[0])
        and all(len(g) == 3 for g in whole[1:])
    ):
        return None, AMBIGUOUS
    digits = "".join(whole)
    return (f"{digits}.{groups[-1]}" if decimal else digits), OK


def stripped_text(value: str) -> tuple[str | None, int]:
    """Text without surrounding whitespace; blank: MISSING; lone surrogates: INVALID."""
    text = value.strip()
    if not text:
        return None, MISSING
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None, INVALID
    return text, OK


def canonical_id(value: Any) -> tuple[str | None, int]:
    """An ID as text: stripped text, or a whole JSON number within +-2**53 as decimal text."""
    if value is None:
        return None, MISSING
    kind = type(value)
    if kind is str:
        return stripped_text(value)
    if kind is int:
        return (str(value), OK) if -ID_LIMIT <= value <= ID_LIMIT else (None, INVALID)
    if kind is float:
        if value != value:
            return None, MISSING
        if not value.is_integer():
            return None, WRONG_TYPE
        return (str(int(value)), OK) if -ID_LIMIT <= value <= ID_LIMIT else (None, INVALID)
    return None, WRONG_TYPE
