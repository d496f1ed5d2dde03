"""A small deterministic clean orders frame, and Spark-like Parquet output of it, without Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipeline.countries import region_of_name
from pipeline.schema import AGE_GROUPS, CLEAN_COLUMNS, CLEAN_TYPES, arrow_schema

# Values with an apostrophe, an ampersand and non-ASCII letters, so escaping is exercised.
COUNTRIES = ("Germany", "United States", "Côte d'Ivoire", "Japan", "Brazil")
CATEGORIES = ("Electronics", "Books", "Home & Kitchen", "Toys")
PRODUCTS_PER_CATEGORY = 5
CUSTOMERS = 60
FIRST_ORDER_DAY = dt.date(2023, 1, 1)
ORDER_DAYS = 18 * 30  # about eighteen months

ARROW_SCHEMA = arrow_schema(CLEAN_TYPES)


def age_group(age: int) -> str:
    bounds = (24, 34, 44, 54, 64)
    return next((g for g, top in zip(AGE_GROUPS, bounds, strict=False) if age <= top), "65+")


def clean_orders(rows: int = 2_000, seed: int = 7) -> pd.DataFrame:
    """Clean orders as Spark would write them: Python dates, int ages and quantities."""
    rng = np.random.default_rng(seed)
    customer_ids = [f"C{i:04d}" for i in range(CUSTOMERS)]
    ages = rng.integers(18, 81, CUSTOMERS)
    homes = rng.integers(0, len(COUNTRIES), CUSTOMERS)
    registered = rng.integers(0, 365, CUSTOMERS)
    products = [
        (f"P{c}{p:02d}", f"{category} item {p}", category, round(5 + 45.5 * (p + 1) * (c + 1), 2))
        for c, category in enumerate(CATEGORIES)
        for p in range(PRODUCTS_PER_CATEGORY)
    ]
    who = rng.integers(0, CUSTOMERS, rows)
    what = rng.integers(0, len(products), rows)
    when = rng.integers(0, ORDER_DAYS, rows)
    quantity = rng.integers(1, 6, rows)
    shipping = rng.integers(1, 8, rows)
    records = []
    for i in range(rows):
        c, (pid, pname, category, price) = who[i], products[what[i]]
        order_day = FIRST_ORDER_DAY + dt.timedelta(days=int(when[i]))
        records.append(
            {
                "row_key": f"r{i:06d}",
                "CustomerID": customer_ids[c],
                "Name": f"Customer {c}",
                "Age": int(ages[c]),
                "AgeGroup": age_group(int(ages[c])),
                "Country": COUNTRIES[homes[c]],
                "Region": region_of_name(COUNTRIES[homes[c]]),
                "RegistrationDate": dt.date(2022, 1, 1) + dt.timedelta(days=int(registered[c])),
                "OrderDate": order_day,
                "Quantity": int(quantity[i]),
                "TotalAmount": round(price * int(quantity[i]), 2),
                "TotalAmountNormalized": 0.0,
                "ProductID": pid,
                "ProductName": pname,
                "Category": category,
                "Price": price,
                "ShippingAddress": f"{i} Main Street",
                "ShippingDate": order_day + dt.timedelta(days=int(shipping[i])),
                "quality_flags": "",
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(CLEAN_COLUMNS))
    total = frame["TotalAmount"]
    frame["TotalAmountNormalized"] = (total - total.min()) / (total.max() - total.min())
    return frame


def write_spark_like(frame: pd.DataFrame, path: Path, parts: int = 3) -> Path:
    """``parts`` part files plus the _SUCCESS marker and .crc files Spark leaves behind."""
    path.mkdir(parents=True, exist_ok=True)
    for n, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        table = pa.Table.from_pandas(frame.iloc[chunk], schema=ARROW_SCHEMA, preserve_index=False)
        name = f"part-{n:05d}-0000-c000.snappy.parquet"
        pq.write_table(table, path / name, compression="snappy")
        (path / f".{name}.crc").write_bytes(b"crc")
    (path / "_SUCCESS").write_bytes(b"")
    return path


def write_partitioned(frame: pd.DataFrame, path: Path, by: tuple[str, ...]) -> Path:
    """Hive-partitioned output (``Column=value/`` folders), as ``partitionBy`` writes it."""
    table = pa.Table.from_pandas(frame, schema=ARROW_SCHEMA, preserve_index=False)
    ds.write_dataset(
        table,
        path,
        format="parquet",
        partitioning=by,
        partitioning_flavor="hive",
        basename_template="part-{i}.snappy.parquet",
    )
    (path / "_SUCCESS").write_bytes(b"")
    return path
