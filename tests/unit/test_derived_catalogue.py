"""pipeline.derived_catalogue: the catalogue a source's orders agree on, and what was left out."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.catalogue import Catalogue
from pipeline.derived_catalogue import derive_catalogue, observe
from pipeline.generate import generate_orders

pytestmark = pytest.mark.unit

SHOP = [("5001", "Espresso Machine", "Kitchen", 349.0), ("5002", "Garden Hose", "Garden", 29.99),
        ("5003", "Floor Lamp", "Living", 159.0)]  # fmt: skip


def lines_of(rows: list[tuple], times: int = 1) -> list[str]:
    keys = ("ProductID", "ProductName", "Category", "Price")
    return [json.dumps(dict(zip(keys, r, strict=True))) for r in rows for _ in range(times)]


def products(catalogue: Catalogue | None) -> set[tuple]:
    assert catalogue is not None
    return set(
        zip(catalogue.ids, catalogue.names, catalogue.product_categories, catalogue.prices,
            strict=True)
    )  # fmt: skip


def outcome(report: pd.DataFrame, pid: str) -> str:
    return str(report.set_index("ProductID").at[pid, "outcome"])


def test_the_orders_agree_on_the_shops_catalogue_and_typos_are_folded_in() -> None:
    typos = [
        ("5001", "Espreso Machine", "Kitchen", "€349,00"),
        (5002, "garden  hose", "Gardn", 29.99),
    ]
    lines = lines_of(SHOP, times=10) + lines_of(typos)
    derived = derive_catalogue(observe([*lines, "not json", "[1]"]))
    assert products(derived.catalogue) == set(SHOP)
    assert derived.report["variant_orders"].sum() == 2  # the two typo orders, numeric id too


@pytest.mark.parametrize(
    ("extra", "pid", "why"),
    [([("5001", "Cast Iron Pan", "Kitchen", 349.0)] * 10, "5001", "conflicting_names"),
     ([("5001", "Espresso Machine", "Garden", 349.0)] * 10, "5001", "conflicting_categories"),
     ([("5001", "Espresso Machine", "Kitchen", 399.0)] * 10, "5001", "ambiguous_price"),
     ([("5009", "Rug", "Living", 99.0)] * 2, "5009", "too_rare"),
     ([("5009", "Garden Hose", "Garden", 29.99)] * 3, "5009", "shared_name"),
     ([("5009", "Rug", "Living", "free")] * 5, "5009", "no_price")],
)  # fmt: skip
def test_what_the_orders_do_not_decide_is_left_out_and_reported(
    extra: list[tuple], pid: str, why: str
) -> None:
    derived = derive_catalogue(observe(lines_of(SHOP, times=10) + lines_of(extra)))
    assert outcome(derived.report, pid) == why
    assert pid not in (derived.catalogue.ids if derived.catalogue else ())


def test_orders_without_an_id_teach_nothing() -> None:
    derived = derive_catalogue(observe(lines_of([(None, "Rug", "Living", 9.0)], times=5)))
    assert derived.catalogue is None and derived.report.empty


def test_our_generators_orders_give_back_our_catalogue() -> None:
    derived = derive_catalogue(observe(generate_orders(20_000, seed=2).lines))
    assert products(derived.catalogue) == products(Catalogue.default())
    assert derived.report["variant_orders"].sum() > 0


NAMES = st.text(alphabet="abcdefghij ", min_size=4, max_size=12).map(str.strip).filter(bool)


@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), NAMES, st.sampled_from(["A", "B", "C"]),
                  st.integers(1, 10_000).map(lambda c: c / 100)),
        min_size=1, max_size=8, unique_by=(lambda p: p[0], lambda p: " ".join(p[1].split())),
    ),
    st.integers(3, 6),
)  # fmt: skip
def test_a_catalogue_repeated_in_orders_is_derived_exactly(rows: list[tuple], times: int) -> None:
    shop = [(str(pid), " ".join(name.split()), cat, price) for pid, name, cat, price in rows]
    derived = derive_catalogue(observe(lines_of(shop, times=times)))
    assert products(derived.catalogue) == set(shop)
    assert set(derived.catalogue.ids) <= {p[0] for p in shop}
