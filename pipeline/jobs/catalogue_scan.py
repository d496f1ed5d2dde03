"""A run's raw lines -> the catalogue its orders agree on (pipeline.derived_catalogue), for a
source that sends none: the (ProductID, ProductName, Category, Price) combinations are parsed and
counted in the JVM, in one Spark job; only the distinct combinations reach the driver.

The four fields are parsed by ``from_json`` as VARIANT, not STRING: a STRING field takes any JSON
value as its text (``5001.0`` -> ``"5001.0"``, ``true`` -> ``"true"``, ``[1]`` -> ``"[1]"``), so a
float id, a boolean or a list would read as text ids and names, unlike in the rule set. A variant
keeps the JSON type; its JSON text (``to_json``: ``"5001"`` quoted, ``5001`` not) is what is
grouped, and on the driver ``json.loads`` gives back the value the rule set sees, as
derived_catalogue.observe does. A line holding one JSON object as a JSON string (encoded twice) is
read as that object, as the rule set does. Spark's reader accepts a few lines Python's refuses
(text after the object); the cleaner quarantines those, and a handful of orders cannot make or
unmake a derived product.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipeline.catalogue import COLUMNS
from pipeline.derived_catalogue import (
    MAX_EDITS,
    MAX_VARIANT_SHARE,
    MIN_ROWS,
    MIN_SHARE,
    DerivedCatalogue,
    derive_catalogue,
    observed_frame,
    scalar,
)

FIELDS_DDL = ", ".join(f"`{c}` VARIANT" for c in COLUMNS)


def observed_products(raw: DataFrame) -> pd.DataFrame:
    """Orders per raw (ProductID, ProductName, Category, Price) in `raw` (raw_store.read_raw's
    rows; poison rows hold no order); derived_catalogue.OBSERVED_COLUMNS."""
    missing = [c for c in ("value", "poison") if c not in raw.columns]
    if missing:
        raise ValueError(
            f"observed_products: raw lacks columns {missing}; present: {raw.columns}. "
            "Hint: pass pipeline.adapters.raw_store.read_raw(spark, settings)."
        )
    record = F.from_json(_object_text(F.col("value")), FIELDS_DDL)
    lines = raw.where(F.col("poison").isNull() & F.col("value").isNotNull())
    as_json = [_json_text(record.getField(c)).alias(c) for c in COLUMNS]
    grouped = lines.select(*as_json).groupBy(*COLUMNS).count()
    seen: Counter[tuple[Any, ...]] = Counter()
    for row in grouped.collect():
        seen[tuple(_value(row[c]) for c in COLUMNS)] += row["count"]
    return observed_frame(seen)


def derive_from_raw(
    raw: DataFrame,
    *,
    min_rows: int = MIN_ROWS,
    min_share: float = MIN_SHARE,
    max_variant_share: float = MAX_VARIANT_SHARE,
    max_edits: int = MAX_EDITS,
) -> DerivedCatalogue:
    """The catalogue the orders in `raw` agree on (derived_catalogue.derive_catalogue's rules)."""
    return derive_catalogue(
        observed_products(raw),
        min_rows=min_rows,
        min_share=min_share,
        max_variant_share=max_variant_share,
        max_edits=max_edits,
    )


def _object_text(line: Column) -> Column:
    """The line, or the JSON object text a JSON-string line holds (a line encoded twice)."""
    inner = F.from_json(F.concat(F.lit('{"s":'), line, F.lit("}")), "s STRING").getField("s")
    twice = line.rlike(r'^\s*"') & inner.rlike(r"^\s*\{")
    return F.when(twice, inner).otherwise(line)


def _json_text(value: Column) -> Column:
    """The value's JSON text; to_json quotes a NaN or infinite number, as the string it is not
    (schema_of_variant tells them apart, asked only for those few)."""
    text = F.to_json(value)
    special = text.isin('"NaN"', '"Infinity"', '"-Infinity"')
    number = special & (F.schema_of_variant(value) != "STRING")
    return F.when(number, F.regexp_replace(text, '"', "")).otherwise(text)


def _value(text: str | None) -> str | int | float | None:
    """A value's JSON text -> the value as observe sees it (derived_catalogue.scalar)."""
    if text is None:
        return None
    try:
        return scalar(json.loads(text))
    except (ValueError, RecursionError):
        return None
