"""The product catalogue the rule set resolves products against: data, not code.

A Catalogue holds products (ProductID, ProductName, Category, Price) and the lookups the rules
need, built once: the ids (the rule set's canonical id text, looked up case-insensitively), the
names and categories by their normalised text, and numpy arrays of every product's fields.
``Catalogue.default()`` is schema.CATALOGUE; ``Catalogue.read(path)`` reads another shop's from
a CSV or Parquet file with the columns ProductID, ProductName, Category, Price (any order; other
columns are ignored).

A name or category that is not exact (after normalisation) is matched by the rule set's
confidence rule: within one edit (two for 8+ characters) of exactly one entry and at most half as
far as the runner-up; each distinct text is matched once per catalogue (an LRU cache).

A Catalogue pickles as its products only (Spark ships it to the workers); the lookups are rebuilt
on arrival.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from pipeline.number_forms import canonical_id
from pipeline.value_status import OK

COLUMNS: tuple[str, ...] = ("ProductID", "ProductName", "Category", "Price")
_MATCH_CACHE = 1 << 16  # distinct texts remembered per catalogue and vocabulary


def normalise(text: str) -> str:
    """Case, width and whitespace folded: the key names and categories are compared by."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def confident_match(key: str, keys: Sequence[str]) -> int:
    """Index of the entry a normalised `key` confidently denotes among `keys` (no exact hit), or -1.

    Confident: within one edit (two for 8+ characters) and at most half as far as the runner-up.
    """
    limit = 1 if len(key) < 8 else 2
    # Entries beyond 2 * limit can decide nothing: not the best, and a runner-up that far away
    # passes the "half as far" test as one that is absent does.
    best = process.extract(
        key, keys, scorer=DamerauLevenshtein.distance, limit=2, score_cutoff=2 * limit
    )
    if not best or best[0][1] > limit:
        return -1
    runner_up = best[1][1] if len(best) > 1 else math.inf
    return best[0][2] if runner_up >= 2 * best[0][1] else -1


class _Vocabulary:
    """Exact (normalised) lookup, else the confident fuzzy match, cached per text."""

    def __init__(self, values: Sequence[str]) -> None:
        self.keys = tuple(normalise(v) for v in values)
        self.exact = {k: i for i, k in enumerate(self.keys)}
        self.match: Callable[[str], int] = functools.lru_cache(maxsize=_MATCH_CACHE)(self._match)

    def _match(self, text: str) -> int:
        key = normalise(text)
        hit = self.exact.get(key)
        return hit if hit is not None else confident_match(key, self.keys)


@dataclass(frozen=True)
class Catalogue:
    """Products by position: ids[i], names[i], product_categories[i], prices[i].

    `categories` is the Category vocabulary (every product's category, each once); `source`
    names where the products came from, for messages only (not compared).
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    product_categories: tuple[str, ...]
    prices: tuple[float, ...]
    categories: tuple[str, ...]
    source: str = field(default="catalogue", compare=False)
    if TYPE_CHECKING:  # built by __post_init__, not fields (see __reduce__)
        id_array: np.ndarray = field(init=False)
        name_array: np.ndarray = field(init=False)
        category_name_array: np.ndarray = field(init=False)
        price_array: np.ndarray = field(init=False)
        category_array: np.ndarray = field(init=False)
        _id_index: dict[str, int] = field(init=False)
        _names: _Vocabulary = field(init=False)
        _categories: _Vocabulary = field(init=False)

    def __post_init__(self) -> None:
        _check(self)
        build = {
            "_id_index": {i.upper(): n for n, i in enumerate(self.ids)},
            "_names": _Vocabulary(self.names),
            "_categories": _Vocabulary(self.categories),
            "id_array": _objects(self.ids),
            "name_array": _objects(self.names),
            "category_name_array": _objects(self.product_categories),
            "price_array": np.array(self.prices, dtype=np.float64),
            "category_array": np.array(
                [self.categories.index(c) for c in self.product_categories], dtype=np.intp
            ),
        }
        for name, value in build.items():
            object.__setattr__(self, name, value)

    # Pickled as its fields only; __post_init__ rebuilds the lookups (and empty caches).
    def __reduce__(self) -> tuple[Any, ...]:
        if self is Catalogue.default():
            return (Catalogue.default, ())
        return (
            Catalogue,
            (self.ids, self.names, self.product_categories, self.prices, self.categories,
             self.source),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.ids)

    # -- lookups --------------------------------------------------------------------------------

    def product_of_id(self, text: str) -> int:
        """Index of the product with this (canonical) id, compared case-insensitively, or -1."""
        return self._id_index.get(text.upper(), -1)

    def match_name(self, text: str) -> int:
        """Index of the product `text` confidently names, or -1."""
        return self._names.match(text)

    def match_category(self, text: str) -> int:
        """Index in `categories` of the category `text` confidently names, or -1."""
        return self._categories.match(text)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def of(cls, products: Iterable[Sequence[Any]], source: str = "catalogue") -> Catalogue:
        """From (ProductID, ProductName, Category, Price) rows, checked as a file is."""
        rows = [tuple(p) for p in products]
        return cls._from_columns({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}, source)

    @staticmethod
    @functools.cache
    def default() -> Catalogue:
        """schema.CATALOGUE, with schema.CATEGORIES as the category vocabulary (in that order)."""
        from pipeline.schema import CATALOGUE, CATEGORIES

        return Catalogue(
            ids=tuple(p.product_id for p in CATALOGUE),
            names=tuple(p.name for p in CATALOGUE),
            product_categories=tuple(p.category for p in CATALOGUE),
            prices=tuple(float(p.price) for p in CATALOGUE),
            categories=tuple(CATEGORIES),
            source="pipeline.schema.CATALOGUE",
        )

    @classmethod
    def read(cls, path: str | Path) -> Catalogue:
        """A catalogue file: .csv (header row) or .parquet; columns ProductID, ProductName,
        Category, Price in any order. Raises ValueError naming the file and what is wrong."""
        import pandas as pd

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise ValueError(f"catalogue {path}: expected a .csv or .parquet file")
        if not path.is_file():
            raise ValueError(f"catalogue {path}: no such file")
        try:
            if suffix == ".csv":
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
            else:
                frame = pd.read_parquet(path)
        except Exception as exc:  # unreadable: not CSV / Parquet, bad encoding, ...
            raise ValueError(f"catalogue {path}: cannot read it: {exc}") from exc
        frame.columns = [str(c).strip() for c in frame.columns]
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"catalogue {path}: missing column(s) {missing}; has {list(frame.columns)}"
            )
        if frame.columns.duplicated().any():
            raise ValueError(f"catalogue {path}: repeated column names {list(frame.columns)}")
        return cls._from_columns({c: frame[c].tolist() for c in COLUMNS}, str(path))

    @classmethod
    def _from_columns(cls, columns: dict[str, list[Any]], source: str) -> Catalogue:
        def fail(row: int, problem: str) -> ValueError:
            # row: 1-based data row (a CSV file's line is row + 1, after the header)
            return ValueError(f"catalogue {source}: product {row}: {problem}")

        ids, names, categories, prices = [], [], [], []
        for n, (pid, name, category, price) in enumerate(
            zip(*(columns[c] for c in COLUMNS), strict=True), start=1
        ):
            text, status = canonical_id(pid)
            if status != OK or text is None:
                raise fail(n, f"ProductID {pid!r} is not an id (text or a whole number)")
            ids.append(text)
            names.append(_required_text(name, "ProductName", n, fail))
            categories.append(_required_text(category, "Category", n, fail))
            prices.append(_price(price, n, fail))
        vocabulary = tuple(dict.fromkeys(categories))
        return cls(tuple(ids), tuple(names), tuple(categories), tuple(prices), vocabulary, source)


def _required_text(value: Any, column: str, row: int, fail: Callable[..., ValueError]) -> str:
    if not isinstance(value, str):
        if value is None or (isinstance(value, float) and value != value):
            raise fail(row, f"{column} is empty")
        raise fail(row, f"{column} {value!r} is not text")
    text = value.strip()
    if not text:
        raise fail(row, f"{column} is empty")
    return text


def _price(value: Any, row: int, fail: Callable[..., ValueError]) -> float:
    if isinstance(value, bool):
        raise fail(row, f"Price {value!r} is not a number")
    try:
        price = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise fail(row, "Price is empty") from None
        raise fail(row, f"Price {value!r} is not a number") from None
    if price != price:
        raise fail(row, "Price is empty")
    if not math.isfinite(price) or price <= 0:
        raise fail(row, f"Price {value!r} is not a positive number")
    return price


def _check(catalogue: Catalogue) -> None:
    """The invariants the rules rely on; ValueError naming the catalogue and the problem."""
    c = catalogue
    where = f"catalogue {c.source}"
    n = len(c.ids)
    if not n:
        raise ValueError(f"{where}: no products")
    if not (len(c.names) == len(c.product_categories) == len(c.prices) == n):
        raise ValueError(f"{where}: ids, names, categories and prices differ in length")
    same = "once case and spaces are normalised"
    _unique(where, "ProductID", c.ids, str.upper, "case-insensitively")
    _unique(where, "ProductName", c.names, normalise, same)
    _unique(where, "Category", c.categories, normalise, same, item="category")
    unknown = sorted(set(c.product_categories) - set(c.categories))
    if unknown:
        raise ValueError(f"{where}: categories {unknown} are not in its category list")
    bad = [p for p in c.prices if not (math.isfinite(p) and p > 0)]
    if bad:
        raise ValueError(f"{where}: prices must be positive numbers, got {bad[:5]}")


def _unique(
    where: str,
    column: str,
    values: Sequence[str],
    key: Callable[[str], str],
    how: str,
    item: str = "product",
) -> None:
    seen: dict[str, int] = {}
    for n, value in enumerate(values, start=1):
        k = key(value)
        if not k:
            raise ValueError(f"{where}: {item} {n}: {column} is empty")
        if k in seen:
            first = values[seen[k] - 1]
            raise ValueError(
                f"{where}: duplicate {column}: {first!r} ({item} {seen[k]}) and {value!r} "
                f"({item} {n}) are the same {how}"
            )
        seen[k] = n


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
