"""pipeline.jobs.catalogue_scan on local Spark: a foreign shop's raw orders, landed in a raw store,
give back the shop's own catalogue, exactly as the pure derivation does from the same lines."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.adapters.raw_store import read_raw, upload_bulk
from pipeline.catalogue import Catalogue
from pipeline.derived_catalogue import derive_catalogue, observe
from pipeline.jobs.catalogue_scan import derive_from_raw, observed_products
from pipeline.settings import Settings

pytestmark = pytest.mark.integration

# The shop's real catalogue, and how often each product sells (a long tail).
SHOP = [
    (70011, "Moka Pot 6 Cups", "Küche", 34.9), (70012, "Milchaufschäumer", "Küche", 59.0),
    (70013, "Gartenschere", "Garten", 24.5), (70021, "Rasensprenger", "Garten", 19.99),
    (70022, "Stehleuchte Arc", "Wohnen", 149.0), (70023, "Sitzsack XL", "Wohnen", 89.0),
    (70031, "Yogamatte", "Sport", 29.95), (70032, "Kettlebell 12 kg", "Sport", 44.0),
]  # fmt: skip
WEIGHTS = [30, 18, 14, 10, 9, 8, 6, 5]
ORDERS = 500


def price_forms(price: float) -> list[Any]:
    """The forms the shop's systems write one price in: JSON numbers and European text."""
    text = f"{price:.2f}"
    return [price, price, text, f"{text.replace('.', ',')} €", f"EUR {text}"]


def id_forms(pid: int) -> list[Any]:
    return [pid, pid, str(pid), float(pid), f" {pid} "]


def typo(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # two letters swapped


def shop_lines(seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for n in range(ORDERS):
        pid, name, category, price = rng.choices(SHOP, weights=WEIGHTS)[0]
        if n % 40 == 7:
            name = typo(name, rng)
        if n % 55 == 9:
            category = typo(category, rng).lower()
        record = {"row_key": f"o{n}", "CustomerID": f"C{rng.randrange(90)}", "Quantity": "1",
                  "ProductID": rng.choice(id_forms(pid)), "ProductName": name,
                  "Category": category, "Price": rng.choice(price_forms(price))}  # fmt: skip
        line = json.dumps(record, ensure_ascii=False)
        lines.append(json.dumps(line) if n % 50 == 3 else line)  # a few encoded twice
    lines += [
        "not json at all", "[1, 2, 3]", "{}",
        json.dumps({"ProductID": 70099, "ProductName": "Yogamatte", "Price": 29.95}),  # id typo
        *[json.dumps({"ProductID": None, "ProductName": "Gutschein", "Price": 10})] * 5,
        *[json.dumps({"ProductID": [70011], "ProductName": "Moka Pot 6 Cups"})] * 5,
        *[json.dumps({"ProductID": True, "ProductName": "Wahr", "Price": 1})] * 5,
    ]  # fmt: skip
    return lines


def landed(spark, tmp_path: Path, lines: list[str]):  # noqa: ANN201 - a Spark DataFrame
    """`lines` in a local raw store, read back as the transform reads a run's raw rows."""
    source = tmp_path / "orders.jsonl"
    source.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    settings = Settings(data_root=tmp_path.as_uri(), output_dir=tmp_path, shuffle_partitions=3)
    upload_bulk(spark, source, settings)
    return read_raw(spark, settings)


def test_a_foreign_shops_raw_orders_give_back_its_catalogue(spark, tmp_path: Path) -> None:
    lines = shop_lines()

    derived = derive_from_raw(landed(spark, tmp_path, lines))

    theirs = Catalogue.of(SHOP)
    assert derived.catalogue == theirs
    report = derived.report.set_index("ProductID")
    assert report.loc["70099", "outcome"] == "too_rare"
    assert (report["outcome"] == "kept").sum() == len(SHOP)
    assert report.loc[[str(p[0]) for p in SHOP], "variant_orders"].sum() > 0
    assert report["orders"].sum() == ORDERS + 1
    # The Spark scan and the pure derivation read the same lines the same way.
    pd.testing.assert_frame_equal(derived.report, derive_catalogue(observe(lines)).report)


# Values whose JSON type a STRING parse would lose, and lines only the rule set's reading decides.
EDGES = ['{"ProductID": 5001.0, "ProductName": 42, "Category": true, "Price": 1e3}',
         '{"ProductID": "5001.0", "ProductName": ["Lamp"], "Category": {"a": 1}, "Price": NaN}',
         '{"ProductID": NaN, "ProductName": "NaN", "Category": "null", "Price": "Infinity"}',
         '{"ProductID": 123456789012345678901234, "Price": Infinity}',
         '{"ProductID": 9007199254740993, "Price": -Infinity}',
         '{"ProductID": -0.0, "ProductName": null, "Price": 0.1}',
         '{"ProductID": "a", "ProductID": "b", "ProductName": "\\u00e9\\ud83d\\ude00"}',
         json.dumps(json.dumps({"ProductID": "77", "Category": " Küche "})),
         '  "not an object"', '"{ broken"', '[{"ProductID": "x"}]', '', '{}', 'null']  # fmt: skip


def bag(observed: pd.DataFrame) -> Counter[tuple[Any, ...]]:
    """Orders per combination, values compared as Python compares them (5001 == 5001.0)."""
    counts: Counter[tuple[Any, ...]] = Counter()
    for *values, n in observed.itertuples(index=False, name=None):
        counts[tuple(values)] += n
    return counts


def test_spark_observes_each_value_as_the_rule_set_reads_it(spark, tmp_path: Path) -> None:
    lines = EDGES + shop_lines(seed=12)[:100]

    observed = observed_products(landed(spark, tmp_path, lines))

    assert bag(observed) == bag(observe(lines))
