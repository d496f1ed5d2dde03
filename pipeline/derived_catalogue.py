"""A product catalogue derived from the orders themselves, for a source that sends none.

Most orders name their product correctly by (ProductID, ProductName, Category, Price); a few carry
typos. `observed` counts the orders per raw combination (``observe`` from lines, or
pipeline.jobs.catalogue_scan in Spark): columns ProductID, ProductName, Category, Price as they
came (text, numbers, null or garbage) and ``rows``. Values are read as the rule set reads them:
ids by number_forms.canonical_id (``5001``, ``5001.0`` and ``" 5001 "`` are one id; compared
case-insensitively, as Catalogue does), names and categories as stripped text compared by
catalogue.normalise (case, width, whitespace), prices by number_forms.parse_number (``"€349,00"``
is 349.0). Orders whose id is not usable teach nothing: a name seen only without an id is not a
product. Per id:

- ``too_rare``: fewer than `min_rows` (3) orders name it;
- name: the canonical name is the one most of its orders give (a tie: ``conflicting_names``).
  Another name is a typo, folded in, when it is within `max_edits` (2) edits (Damerau-Levenshtein,
  on normalised text) and at most `max_variant_share` (0.2) as frequent as the canonical one; any
  other name is stray (an order naming something else, left to the cleaner to quarantine). When
  the canonical name and its typos hold less than `min_share` (0.8) of the orders that give a
  name, the id has no dominant name: ``conflicting_names``. No name at all: ``no_name``;
- category: the same rule (``conflicting_categories``, ``no_category``);
- price: the mode of its positive prices (prices in the same cent vote together, as the cleaner
  compares prices to half a cent; the price is the value given most often in that cent). A tie
  for the most frequent: ``ambiguous_price``; no positive price: ``no_price``;
- ids whose names are equal once normalised (an id typo carrying a correct name): the one named
  by the most orders is kept, the others ``shared_name``; a tie leaves them all out.

Each kept value is shown in its most frequent spelling (a category in its most frequent spelling
over all orders, so products share one vocabulary entry); spelling ties go to the first in
sorted order. Left-out ids are never guessed: the cleaner quarantines their orders.

`report` has one row per usable id seen (REPORT_COLUMNS): what was derived, ``orders`` naming the
id, ``variant_orders`` whose name or category was a typo folded in, ``stray_orders`` naming
something else, ``price_orders`` giving the chosen price, and ``outcome`` (``kept`` or why not).
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein

from pipeline.catalogue import COLUMNS, Catalogue, normalise
from pipeline.clean import parse_lines
from pipeline.number_forms import canonical_id, parse_number, stripped_text
from pipeline.value_status import OK

MIN_ROWS = 3  # fewer orders cannot tell a product from a repeated typo
MIN_SHARE = 0.8  # a dominant name/category: at least 4 in 5 of the id's orders that give one
MAX_VARIANT_SHARE = 0.2  # a typo is at most a fifth as frequent as the value it is a typo of
MAX_EDITS = 2  # a typo is within two edits (the cleaner repairs up to two, for 8+ characters)

OBSERVED_COLUMNS: tuple[str, ...] = (*COLUMNS, "rows")
REPORT_COLUMNS: tuple[str, ...] = (
    "ProductID", "ProductName", "Category", "Price",
    "orders", "variant_orders", "stray_orders", "price_orders", "outcome",
)  # fmt: skip
KEPT = "kept"
SOURCE = "derived from the orders"


@dataclass(frozen=True)
class DerivedCatalogue:
    catalogue: Catalogue | None  # None when no product could be derived
    report: pd.DataFrame  # REPORT_COLUMNS, one row per usable id seen, sorted by id


# -- observing ----------------------------------------------------------------------------------


def write(derived: DerivedCatalogue, path: Path) -> Path:
    """The catalogue as CSV at `path` (what Catalogue.read takes) and its report beside it,
    `<stem>.report.csv`; returns the report's path. No catalogue: only the report."""
    report = path.with_name(f"{path.stem}.report.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    derived.report.to_csv(report, index=False)
    if derived.catalogue is not None:
        c = derived.catalogue
        products = zip(c.ids, c.names, c.product_categories, c.prices, strict=True)
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            writer.writerows(products)
    return report


def observe(lines: Iterable[Any], *, chunk: int = 65_536) -> pd.DataFrame:
    """How many lines give each raw (ProductID, ProductName, Category, Price), lines read as the
    rule set reads them (pipeline.clean.parse_lines); the OBSERVED_COLUMNS frame."""
    seen: Counter[tuple[Any, ...]] = Counter()
    batches = iter(lines)
    while batch := list(itertools.islice(batches, chunk)):
        parsed = parse_lines(batch)
        seen.update(zip(*(map(scalar, parsed[c].tolist()) for c in COLUMNS), strict=True))
    return observed_frame(seen)


def scalar(value: Any) -> str | int | float | None:
    """A parsed JSON value as observed: text or a number; None for null, NaN and for what can
    name no product (a boolean, list or object: the rule set's wrong_type)."""
    if type(value) in (str, int) or (type(value) is float and value == value):
        kept: str | int | float = value
        return kept
    return None


def observed_frame(counts: Counter[tuple[Any, ...]]) -> pd.DataFrame:
    """OBSERVED_COLUMNS from counts per (ProductID, ProductName, Category, Price)."""
    rows = [(*combination, n) for combination, n in counts.items()]
    frame = pd.DataFrame(rows, columns=list(OBSERVED_COLUMNS), dtype=object)
    return frame.astype({"rows": "int64"})


# -- deriving -----------------------------------------------------------------------------------


@dataclass
class _Orders:
    """The orders naming one id: per (name key, category key, price) combination, how many."""

    spellings: Counter[str] = field(default_factory=Counter)
    combinations: Counter[tuple[str | None, str | None, float | None]] = field(
        default_factory=Counter
    )
    names: dict[str, Counter[str]] = field(default_factory=dict)  # key -> spelling -> orders

    @property
    def total(self) -> int:
        return sum(self.combinations.values())


@dataclass(frozen=True)
class _Dominant:
    """A field's decision for one id: the canonical key, or the problem (missing or
    conflicting); the keys of the typos folded in."""

    key: str | None
    problem: str | None
    variants: frozenset[str] = frozenset()


def derive_catalogue(
    observed: pd.DataFrame,
    *,
    min_rows: int = MIN_ROWS,
    min_share: float = MIN_SHARE,
    max_variant_share: float = MAX_VARIANT_SHARE,
    max_edits: int = MAX_EDITS,
) -> DerivedCatalogue:
    """The catalogue the orders in `observed` agree on, and a report per id (module rules)."""
    _check_input(observed, min_rows, min_share, max_variant_share, max_edits)
    by_id, category_spellings = _tally(observed)
    category_shown = {k: _most_frequent(s) for k, s in category_spellings.items()}
    report: list[list[Any]] = []
    for key in sorted(by_id):
        orders = by_id[key]
        name_votes, category_votes = _votes(orders)
        name = _dominant(name_votes, min_share, max_variant_share, max_edits)
        category = _dominant(category_votes, min_share, max_variant_share, max_edits)
        price, price_orders, price_problem = _price_mode(orders)
        variant, stray = _folded(orders, name, category)
        total = orders.total
        outcome = (
            ("too_rare" if total < min_rows else None)
            or _NAME_PROBLEMS.get(name.problem)
            or _CATEGORY_PROBLEMS.get(category.problem)
            or price_problem
            or KEPT
        )
        report.append([
            _most_frequent(orders.spellings),
            None if name.key is None else _most_frequent(orders.names[name.key]),
            None if category.key is None else category_shown[category.key],
            price, total, variant, stray, price_orders, outcome,
        ])  # fmt: skip
    _leave_out_shared_names(report)
    frame = pd.DataFrame(report, columns=list(REPORT_COLUMNS))
    kept = [row[:4] for row in report if row[-1] == KEPT]
    catalogue = Catalogue.of(kept, source=SOURCE) if kept else None
    return DerivedCatalogue(catalogue, frame)


def _check_input(
    observed: pd.DataFrame, min_rows: int, min_share: float, share: float, edits: int
) -> None:
    missing = [c for c in OBSERVED_COLUMNS if c not in observed.columns]
    if missing:
        raise ValueError(
            f"derive_catalogue: observed lacks columns {missing}; present: "
            f"{list(observed.columns)}. Hint: pass observe(lines) or observed_products(raw)."
        )
    rows = pd.to_numeric(observed["rows"], errors="coerce")
    bad = observed.loc[rows.isna() | (rows < 0) | (rows % 1 != 0), "rows"]
    if len(bad):
        raise ValueError(
            f"derive_catalogue: rows must be counts (whole numbers >= 0); got {bad.tolist()[:5]}"
        )
    if not (min_rows >= 1 and 0.5 < min_share <= 1 and 0 <= share < 1 and edits >= 0):
        raise ValueError(
            f"derive_catalogue: thresholds out of range: min_rows={min_rows} (>= 1), "
            f"min_share={min_share} (in (0.5, 1]), max_variant_share={share} (in [0, 1)), "
            f"max_edits={edits} (>= 0)"
        )


def _tally(observed: pd.DataFrame) -> tuple[dict[str, _Orders], dict[str, Counter[str]]]:
    """Per id key (canonical id, upper case): its orders; per category key: its spellings."""
    by_id: dict[str, _Orders] = {}
    categories: dict[str, Counter[str]] = {}
    values = (observed[c].tolist() for c in OBSERVED_COLUMNS)
    for pid, name, category, price, rows in zip(*values, strict=True):
        text, status = canonical_id(pid)
        n = int(rows)
        if status != OK or text is None or n <= 0:
            continue
        orders = by_id.setdefault(text.upper(), _Orders())
        orders.spellings[text] += n
        name_key = _spelling(name, orders.names, n)
        category_key = _spelling(category, categories, n)
        orders.combinations[name_key, category_key, _positive(price)] += n
    return by_id, categories


def _spelling(value: Any, spellings: dict[str, Counter[str]], n: int) -> str | None:
    """The normalised key of a text value (None when not usable text), its spelling counted."""
    if type(value) is not str:
        return None
    text, status = stripped_text(value)
    if status != OK or text is None:
        return None
    key = normalise(text)
    spellings.setdefault(key, Counter())[text] += n
    return key


def _positive(value: Any) -> float | None:
    number, status = parse_number(value)
    return number if status == OK and number > 0 else None


def _votes(orders: _Orders) -> tuple[Counter[str], Counter[str]]:
    """Orders per name key and per category key (orders without one do not vote)."""
    names: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for (name, category, _), n in orders.combinations.items():
        if name is not None:
            names[name] += n
        if category is not None:
            categories[category] += n
    return names, categories


_NAME_PROBLEMS: dict[str | None, str] = {"missing": "no_name", "conflicting": "conflicting_names"}
_CATEGORY_PROBLEMS: dict[str | None, str] = {
    "missing": "no_category",
    "conflicting": "conflicting_categories",
}


def _dominant(
    votes: Counter[str], min_share: float, max_variant_share: float, max_edits: int
) -> _Dominant:
    if not votes:
        return _Dominant(None, "missing")
    (top, top_orders), *others = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    if others and others[0][1] == top_orders:
        return _Dominant(None, "conflicting")
    variants = frozenset(
        key
        for key, n in others
        if n <= max_variant_share * top_orders
        and DamerauLevenshtein.distance(key, top, score_cutoff=max_edits) <= max_edits
    )
    agreeing = top_orders + sum(votes[k] for k in variants)
    if agreeing < min_share * sum(votes.values()):
        return _Dominant(None, "conflicting")
    return _Dominant(top, None, variants)


def _folded(orders: _Orders, name: _Dominant, category: _Dominant) -> tuple[int, int]:
    """(orders with a typo folded in, orders naming something else), for a decided id."""
    variant = stray = 0
    for (name_key, category_key, _), n in orders.combinations.items():
        kinds = {_kind(name_key, name), _kind(category_key, category)}
        if "stray" in kinds:
            stray += n
        elif "variant" in kinds:
            variant += n
    return variant, stray


def _kind(key: str | None, decided: _Dominant) -> str:
    if key is None or decided.key is None or key == decided.key:
        return "same"
    return "variant" if key in decided.variants else "stray"


def _price_mode(orders: _Orders) -> tuple[float | None, int, str | None]:
    """(price, orders giving it, problem): the most frequent cent, shown as its most frequent
    exact value."""
    cents: dict[float, Counter[float]] = {}
    for (_, _, price), n in orders.combinations.items():
        if price is not None:
            cents.setdefault(round(price, 2), Counter())[price] += n
    if not cents:
        return None, 0, "no_price"
    ranked = sorted(((sum(c.values()), cent) for cent, c in cents.items()), reverse=True)
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        return None, 0, "ambiguous_price"
    votes, cent = ranked[0]
    exact = sorted(cents[cent].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return exact, votes, None


def _most_frequent(spellings: Counter[str]) -> str:
    return min(spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _leave_out_shared_names(report: list[list[Any]]) -> None:
    """Of kept ids whose names are equal once normalised, only the one most orders name stays."""
    by_name: dict[str, list[list[Any]]] = {}
    for row in report:
        if row[-1] == KEPT:
            by_name.setdefault(normalise(row[1]), []).append(row)
    for rows in by_name.values():
        if len(rows) < 2:
            continue
        most = max(row[4] for row in rows)
        winners = [row for row in rows if row[4] == most]
        for row in rows:
            if len(winners) > 1 or row is not winners[0]:
                row[-1] = "shared_name"
