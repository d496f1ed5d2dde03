"""The rule set's vocabulary: field groups, quarantine reasons and quality flags."""

from __future__ import annotations

import re

from pipeline.schema import FIELDS, NULLABLE_COLUMNS

QUANTITY_MAX = 1000
DEFAULT_AGE_MEDIAN = 40.0  # only used when a whole dataset has no valid Age at all


TEXT_FIELDS: tuple[str, ...] = ("row_key", "CustomerID", "Name", "ShippingAddress")
ID_FIELDS: tuple[str, ...] = ("row_key", "CustomerID")  # text fields also taken as JSON integers
NUMBER_FIELDS: tuple[str, ...] = ("Age", "Quantity", "TotalAmount", "Price")
DATE_FIELDS: tuple[str, ...] = ("RegistrationDate", "OrderDate", "ShippingDate")
# Taken from the customer's other orders when missing or broken in one.
CUSTOMER_FIELDS: tuple[str, ...] = ("Name", "Age", "Country", "RegistrationDate")
# Set to null (and flagged) instead of dropping the order when missing or broken.
SET_ASIDE_FIELDS: tuple[str, ...] = NULLABLE_COLUMNS
# A value of the wrong JSON type here is as good as a missing one: the rule for missing applies
# (Age: the customer's or the median; product fields: the catalogue; TotalAmount: not needed;
# Quantity: TotalAmount / Price, else ``wrong_type_quantity``).
FALLBACK_FIELDS: tuple[str, ...] = (
    "Age", "TotalAmount", "ProductID", "ProductName", "Category", "Price", "Quantity"
)  # fmt: skip
SNAKE: dict[str, str] = {f: re.sub(r"(?<=[a-z])(?=[A-Z])", "_", f).lower() for f in FIELDS}
_PROBLEMS: dict[str, tuple[str, ...]] = {
    "Name": ("missing", "invalid", "wrong_type"),
    "ShippingAddress": ("missing", "invalid", "wrong_type"),
    "ShippingDate": ("missing", "invalid", "impossible", "ambiguous", "wrong_type"),
}
# quality_flags codes -> the field each one set aside.
FLAG_FIELDS: dict[str, str] = {
    **{f"{p}_{SNAKE[f]}": f for f in SET_ASIDE_FIELDS for p in _PROBLEMS[f]},
    "shipped_before_order": "ShippingDate",
}
FLAGS: tuple[str, ...] = tuple(FLAG_FIELDS)

REASONS: tuple[str, ...] = (
    "malformed_json",
    "not_an_object",
    "not_text",
    *(f"wrong_type_{SNAKE[f]}" for f in FIELDS if f not in (*SET_ASIDE_FIELDS, *FALLBACK_FIELDS)),
    *(f"{p}_{SNAKE[f]}" for f in ID_FIELDS for p in ("missing", "invalid")),
    "missing_country",
    "unknown_country",
    "ambiguous_country",
    "missing_product",
    "unknown_product_id",
    "unknown_product_name",
    "product_mismatch",
    "unknown_category",
    "category_mismatch",
    "ambiguous_price",
    "price_mismatch",
    "missing_quantity",
    "invalid_quantity",
    "ambiguous_quantity",
    "wrong_type_quantity",
    *(
        f"{p}_{SNAKE[f]}"
        for f in DATE_FIELDS
        if f not in SET_ASIDE_FIELDS
        for p in ("missing", "invalid", "impossible", "ambiguous")
    ),
    "order_before_registration",
)
