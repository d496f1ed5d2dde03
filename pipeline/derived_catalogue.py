"""A product catalogue derived from the orders themselves, for a source that sends none.

Every order names a product by (ProductID, ProductName, Category, Price); most orders name it
correctly, a few carry typos. Per product id (canonical_id: ``5001`` and ``"5001"`` alike):

- too_rare: fewer than `min_rows` orders name it -> left out (not enough to tell typos apart);
- the name and the category are the ones most of its orders give (compared by
  catalogue.normalise; shown as their most frequent spelling). Any other name or category is a
  typo folded into it when it is within `max_edits` edits (Damerau-Levenshtein) and at most
  `max_variant_share` as frequent; else the id is conflicting (conflicting_names,
  conflicting_categories) and left out, never guessed;
- the price is the most frequent positive price (number_forms.parse_number); a tie for the most
  frequent -> ambiguous_price, left out; no positive price at all -> no_price, left out;
- two ids whose names are the same -> the one named by fewer orders is left out (shared_name).

Orders without a usable id teach nothing. `report` lists every id seen: what was kept, the
orders that support it, the variant orders folded into it, or why it was left out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein

from pipeline.catalogue import COLUMNS, Catalogue, normalise
from pipeline.number_forms import canonical_id, parse_number
from pipeline.value_status import OK

REPORT_COLUMNS: tuple[str, ...] = (
    "ProductID", "ProductName", "Category", "Price", "orders", "variant_orders", "outcome",
)  # fmt: skip


@dataclass(frozen=True)
class DerivedCatalogue:
    catalogue: Catalogue | None  # None when no product could be derived
    report: pd.DataFrame  # REPORT_COLUMNS, one row per product id seen


def observe(lines: Iterable[str | bytes]) -> pd.DataFrame:
    """How many lines name each raw (ProductID, ProductName, Category, Price); lines that are
    not JSON objects are skipped (the cleaner quarantines them anyway)."""
    seen: Counter[tuple[Any, ...]] = Counter()
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, TypeError, RecursionError):
            continue
        if isinstance(record, dict):
            seen[tuple(_hashable(record.get(c)) for c in COLUMNS)] += 1
    rows = [(*k, n) for k, n in seen.items()]
    return pd.DataFrame(rows, columns=[*COLUMNS, "rows"])


def _hashable(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float) else repr(value)


def derive_catalogue(
    observed: pd.DataFrame,
    *,
    min_rows: int = 3,
    max_edits: int = 2,
    max_variant_share: float = 0.2,
) -> DerivedCatalogue:
    """The catalogue the orders in `observed` (observe's counts) agree on; see the module rules."""
    by_id: dict[str, list[tuple[str | None, str | None, float | None, int]]] = {}
    for pid, name, category, price, rows in observed[[*COLUMNS, "rows"]].itertuples(
        index=False, name=None
    ):
        text, status = canonical_id(pid)
        if status == OK and text is not None:
            by_id.setdefault(text.upper(), []).append(
                (_text(name), _text(category), _price(price), int(rows))
            )
    report: list[tuple[Any, ...]] = []
    kept: list[tuple[str, str, str, float, int]] = []
    for pid, seen in sorted(by_id.items()):
        orders = sum(r for *_, r in seen)
        name, name_problem, name_variants = _dominant(
            [(n, r) for n, _, _, r in seen], max_edits, max_variant_share
        )
        category, category_problem, category_variants = _dominant(
            [(c, r) for _, c, _, r in seen], max_edits, max_variant_share
        )
        price, price_problem = _price_mode([(p, r) for *_, p, r in seen])
        problem = (
            ("too_rare" if orders < min_rows else None)
            or (name_problem and f"{name_problem}_names")
            or (category_problem and f"{category_problem}_categories")
            or price_problem
        )
        variants = name_variants + category_variants
        if problem or name is None or category is None or price is None:
            report.append((pid, name, category, price, orders, variants, problem or "no_name"))
        else:
            kept.append((pid, name, category, price, orders))
            report.append((pid, name, category, price, orders, variants, "kept"))
    chosen = _without_shared_names(kept, report)
    frame = pd.DataFrame(report, columns=list(REPORT_COLUMNS))
    if not chosen:
        return DerivedCatalogue(None, frame)
    products = [(pid, name, category, price) for pid, name, category, price, _ in chosen]
    return DerivedCatalogue(Catalogue.of(products, source="derived from the orders"), frame)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _price(value: Any) -> float | None:
    number, status = parse_number(value)
    return number if status == OK and number > 0 else None


def _dominant(
    seen: list[tuple[str | None, int]], max_edits: int, max_variant_share: float
) -> tuple[str | None, str | None, int]:
    """(the most frequent value, shown in its most frequent spelling; a problem or None; the
    orders whose value was a typo folded into it)."""
    keys: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for value, rows in seen:
        if value is not None:
            key = normalise(value)
            keys[key] += rows
            spellings.setdefault(key, Counter())[value] += rows
    if not keys:
        return None, "missing", 0
    (top, top_rows), *others = keys.most_common()
    if others and others[0][1] == top_rows:
        return None, "conflicting", 0
    variants = 0
    for key, rows in others:
        near = DamerauLevenshtein.distance(key, top) <= max_edits
        if not near or rows > max_variant_share * top_rows:
            return None, "conflicting", 0
        variants += rows
    return spellings[top].most_common(1)[0][0], None, variants


def _price_mode(seen: list[tuple[float | None, int]]) -> tuple[float | None, str | None]:
    prices: Counter[float] = Counter()
    for price, rows in seen:
        if price is not None:
            prices[round(price, 2)] += rows
    if not prices:
        return None, "no_price"
    ranked = prices.most_common(2)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None, "ambiguous_price"
    return ranked[0][0], None


def _without_shared_names(
    kept: list[tuple[str, str, str, float, int]], report: list[tuple[Any, ...]]
) -> list[tuple[str, str, str, float, int]]:
    """Of products sharing a name, the one most orders name; the others marked shared_name."""
    best: dict[str, tuple[str, str, str, float, int]] = {}
    for product in kept:
        key = normalise(product[1])
        if key not in best or product[4] > best[key][4]:
            best[key] = product
    chosen = {p[0] for p in best.values()}
    for i, row in enumerate(report):
        if row[-1] == "kept" and row[0] not in chosen:
            report[i] = (*row[:-1], "shared_name")
    return [p for p in kept if p[0] in chosen]
