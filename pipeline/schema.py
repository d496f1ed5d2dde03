"""The record contract: raw field names, the clean typed schema, and how fields map to HBase."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

# Raw record contract: one JSON object per line with exactly these keys (values may be anything).
FIELDS: tuple[str, ...] = (
    "CustomerID",
    "Name",
    "Age",
    "Country",
    "RegistrationDate",
    "OrderDate",
    "Quantity",
    "TotalAmount",
    "ProductID",
    "ProductName",
    "Category",
    "Price",
    "ShippingAddress",
    "ShippingDate",
    "row_key",
)

AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_MIN, AGE_MAX = 18, 100

# Clean schema, in column order. Types are Spark SQL types; the pandas side uses the dtype below.
CLEAN_TYPES: dict[str, str] = {
    "row_key": "STRING",
    "CustomerID": "STRING",
    "Name": "STRING",
    "Age": "INT",
    "AgeGroup": "STRING",
    "Country": "STRING",
    "Region": "STRING",
    "RegistrationDate": "DATE",
    "OrderDate": "DATE",
    "Quantity": "INT",
    "TotalAmount": "DOUBLE",
    "TotalAmountNormalized": "DOUBLE",
    "ProductID": "STRING",
    "ProductName": "STRING",
    "Category": "STRING",
    "Price": "DOUBLE",
    "ShippingAddress": "STRING",
    "ShippingDate": "DATE",
    "quality_flags": "STRING",  # fields set aside (null) in a kept order, comma-separated; "" none
}
CLEAN_COLUMNS: tuple[str, ...] = tuple(CLEAN_TYPES)
# The Arrow type Spark exchanges each Spark SQL type of ours in, with Python workers.
ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INT": pa.int32(),
    "BIGINT": pa.int64(),
    "TINYINT": pa.int8(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
}


def arrow_schema(types: Mapping[str, str]) -> pa.Schema:
    """Columns and their Spark SQL types (as CLEAN_TYPES) -> the Arrow schema of those columns."""
    return pa.schema([(column, ARROW_TYPES[t]) for column, t in types.items()])


# The only clean columns that may be null: an order kept with the field set aside (quality_flags).
NULLABLE_COLUMNS: tuple[str, ...] = ("Name", "ShippingAddress", "ShippingDate")
DATE_COLUMNS: tuple[str, ...] = tuple(c for c, t in CLEAN_TYPES.items() if t == "DATE")
INT_COLUMNS: tuple[str, ...] = tuple(c for c, t in CLEAN_TYPES.items() if t == "INT")
FLOAT_COLUMNS: tuple[str, ...] = tuple(c for c, t in CLEAN_TYPES.items() if t == "DOUBLE")
CLEAN_DDL: str = ", ".join(f"`{c}` {t}" for c, t in CLEAN_TYPES.items())

# Quarantine keeps every raw field as text, the original line, and why it was rejected.
QUARANTINE_COLUMNS: tuple[str, ...] = (*FIELDS, "raw", "reason")
QUARANTINE_DDL: str = ", ".join(f"`{c}` STRING" for c in QUARANTINE_COLUMNS)

# HBase table customer_orders: column family -> qualifiers (the clean columns, row_key included).
FAMILIES: dict[str, tuple[str, ...]] = {
    "customer": ("CustomerID", "Name", "Age", "AgeGroup", "Country", "Region", "RegistrationDate"),
    "order": (
        "row_key",
        "OrderDate",
        "Quantity",
        "TotalAmount",
        "TotalAmountNormalized",
        "quality_flags",
    ),
    "product": ("ProductID", "ProductName", "Category", "Price"),
    "shipment": ("ShippingAddress", "ShippingDate"),
}
FAMILY_OF: dict[str, str] = {q: f for f, qs in FAMILIES.items() for q in qs}
assert set(FAMILY_OF) == set(CLEAN_COLUMNS), "every clean column lives in exactly one family"

# Vocabularies. Every pair of values within one vocabulary is at least 3 Damerau-Levenshtein edits
# apart (case and whitespace ignored), so a value with a single typo has exactly one nearest value.
COUNTRIES: tuple[str, ...] = (
    "United States",
    "United Kingdom",
    "Germany",
    "France",
    "Canada",
    "Australia",
    "Japan",
    "India",
    "Brazil",
    "Mexico",
    "Spain",
    "Italy",
    "Netherlands",
    "Sweden",
    "Norway",
    "Poland",
    "South Korea",
    "China",
    "Singapore",
    "South Africa",
    "Nigeria",
    "Argentina",
    "Ireland",
    "New Zealand",
    "Switzerland",
    "Turkey",
    "Egypt",
    "Kenya",
    "Portugal",
    "Belgium",
)

CATEGORIES: tuple[str, ...] = (
    "Electronics",
    "Home & Kitchen",
    "Books",
    "Clothing",
    "Sports & Outdoors",
    "Beauty",
    "Toys & Games",
    "Grocery",
)


@dataclass(frozen=True, slots=True)
class Product:
    """One catalogue entry: ProductName, Category and Price follow from ProductID."""

    product_id: str
    name: str
    category: str
    price: float


# (Category, ProductName, Price); ProductID is "P" + the 1-based position, zero-padded to 3 digits.
_CATALOGUE_ROWS: tuple[tuple[str, str, float], ...] = (
    ("Electronics", "Wireless Mouse", 24.99),
    ("Electronics", "Mechanical Keyboard", 89.99),
    ("Electronics", "Noise Cancelling Headphones", 199.99),
    ("Electronics", "Bluetooth Speaker", 49.99),
    ("Electronics", "USB-C Charger", 19.99),
    ("Electronics", "Smartwatch", 229.00),
    ("Electronics", "Webcam", 59.99),
    ("Electronics", "External Hard Drive", 79.99),
    ("Electronics", "E-Reader", 129.99),
    ("Electronics", "Portable Power Bank", 34.99),
    ("Home & Kitchen", "Espresso Machine", 349.00),
    ("Home & Kitchen", "Blender", 69.99),
    ("Home & Kitchen", "Air Fryer", 119.99),
    ("Home & Kitchen", "Cast Iron Skillet", 39.99),
    ("Home & Kitchen", "Chef's Knife", 54.50),
    ("Home & Kitchen", "Toaster", 29.99),
    ("Home & Kitchen", "Electric Kettle", 34.50),
    ("Home & Kitchen", "Rice Cooker", 64.99),
    ("Home & Kitchen", "Cutting Board", 18.75),
    ("Home & Kitchen", "Dinnerware Set", 89.00),
    ("Books", "Mystery Novel", 14.99),
    ("Books", "Cookbook", 27.50),
    ("Books", "Science Fiction Anthology", 18.99),
    ("Books", "Travel Guide", 21.00),
    ("Books", "Children's Picture Book", 9.99),
    ("Books", "Biography", 24.00),
    ("Books", "Poetry Collection", 12.50),
    ("Books", "History Atlas", 45.00),
    ("Books", "Programming Handbook", 49.95),
    ("Books", "Graphic Novel", 19.95),
    ("Clothing", "Denim Jacket", 79.00),
    ("Clothing", "Running Shoes", 109.99),
    ("Clothing", "Wool Sweater", 64.00),
    ("Clothing", "Rain Coat", 89.50),
    ("Clothing", "Cotton T-Shirt", 15.99),
    ("Clothing", "Leather Belt", 32.00),
    ("Clothing", "Winter Gloves", 22.99),
    ("Clothing", "Silk Scarf", 38.00),
    ("Clothing", "Hiking Boots", 139.00),
    ("Clothing", "Baseball Cap", 17.50),
    ("Sports & Outdoors", "Yoga Mat", 29.99),
    ("Sports & Outdoors", "Camping Tent", 189.00),
    ("Sports & Outdoors", "Bike Helmet", 74.99),
    ("Sports & Outdoors", "Dumbbell Set", 99.99),
    ("Sports & Outdoors", "Tennis Racket", 119.00),
    ("Sports & Outdoors", "Sleeping Bag", 84.99),
    ("Sports & Outdoors", "Water Bottle", 16.99),
    ("Sports & Outdoors", "Fishing Rod", 64.50),
    ("Sports & Outdoors", "Jump Rope", 9.49),
    ("Sports & Outdoors", "Soccer Ball", 24.99),
    ("Beauty", "Face Moisturizer", 28.00),
    ("Beauty", "Sunscreen Lotion", 14.50),
    ("Beauty", "Hair Straightener", 59.99),
    ("Beauty", "Perfume", 72.00),
    ("Beauty", "Lipstick", 18.00),
    ("Beauty", "Shampoo", 11.99),
    ("Beauty", "Electric Toothbrush", 49.00),
    ("Beauty", "Nail Polish Kit", 21.50),
    ("Beauty", "Beard Trimmer", 44.99),
    ("Beauty", "Facial Cleanser", 16.50),
    ("Toys & Games", "Building Blocks", 39.99),
    ("Toys & Games", "Jigsaw Puzzle", 19.99),
    ("Toys & Games", "Board Game", 34.99),
    ("Toys & Games", "Remote Control Car", 54.99),
    ("Toys & Games", "Plush Teddy Bear", 22.00),
    ("Toys & Games", "Chess Set", 42.00),
    ("Toys & Games", "Dollhouse", 99.00),
    ("Toys & Games", "Playing Cards", 12.99),
    ("Toys & Games", "Kite", 15.50),
    ("Toys & Games", "Model Train Set", 149.00),
    ("Grocery", "Organic Coffee Beans", 16.99),
    ("Grocery", "Green Tea", 8.49),
    ("Grocery", "Dark Chocolate", 4.99),
    ("Grocery", "Olive Oil", 12.99),
    ("Grocery", "Maple Syrup", 10.49),
    ("Grocery", "Almond Butter", 9.99),
    ("Grocery", "Basmati Rice", 7.49),
    ("Grocery", "Pasta Variety Pack", 13.99),
    ("Grocery", "Honey Jar", 8.99),
    ("Grocery", "Granola", 6.49),
)
CATALOGUE: tuple[Product, ...] = tuple(
    Product(f"P{i:03d}", name, category, price)
    for i, (category, name, price) in enumerate(_CATALOGUE_ROWS, start=1)
)
PRODUCTS_BY_ID: dict[str, Product] = {p.product_id: p for p in CATALOGUE}
assert len(PRODUCTS_BY_ID) == len(CATALOGUE), "product ids are unique"
assert {p.category for p in CATALOGUE} == set(CATEGORIES), "every category has products"
