"""pipeline.derived_catalogue: the catalogue a source's orders agree on, and what was left out."""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.catalogue import Catalogue, normalise
from pipeline.derived_catalogue import REPORT_COLUMNS, derive_catalogue, observe
from pipeline.generate import generate_orders
from pipeline.number_forms import canonical_id

pytestmark = pytest.mark.unit

Row = tuple[Any, Any, Any, Any]
SHOP: list[Row] = [("5001", "Espresso Machine", "Kitchen", 349.0),
                   ("5002", "Garden Hose", "Garden", 29.99),
                   ("5003", "Floor Lamp", "Living", 159.0)]  # fmt: skip
KEYS = ("ProductID", "ProductName", "Category", "Price")


def lines_of(rows: Sequence[Row], times: int = 1) -> list[str]:
    return [json.dumps(dict(zip(KEYS, r, strict=True))) for r in rows for _ in range(times)]


def derived_from(*groups: tuple[Sequence[Row], int], **thresholds: Any) -> Any:
    """derive_catalogue over orders: each group's rows, each row given `times` times."""
    lines = [line for rows, times in groups for line in lines_of(rows, times)]
    return derive_catalogue(observe(lines), **thresholds)


def products(catalogue: Catalogue | None) -> set[Row]:
    assert catalogue is not None
    c = catalogue
    return set(zip(c.ids, c.names, c.product_categories, c.prices, strict=True))


def outcome(report: pd.DataFrame, pid: str) -> str:
    return str(report.set_index("ProductID").at[pid, "outcome"])


# ---------------------------------------------------------------------------------------------
# Examples


def test_the_frequent_combinations_are_the_catalogue_and_rare_typos_are_folded_in() -> None:
    typos = [("5001", "Espreso Machine", "Kitchen", "€349,00"),
             (5002, "garden  hose", "Gardn", 29.99),
             ("5003", "Flor Lamp", "Livng", "159")]  # fmt: skip

    derived = derived_from((SHOP, 10), (typos, 1))

    assert products(derived.catalogue) == set(SHOP)
    want = pd.DataFrame(
        [["5001", "Espresso Machine", "Kitchen", 349.0, 11, 1, 0, 11, "kept"],
         ["5002", "Garden Hose", "Garden", 29.99, 11, 1, 0, 11, "kept"],
         ["5003", "Floor Lamp", "Living", 159.0, 11, 1, 0, 11, "kept"]],
        columns=list(REPORT_COLUMNS),
    )  # fmt: skip
    pd.testing.assert_frame_equal(derived.report, want)


@pytest.mark.parametrize(
    ("extra", "times", "pid", "why"),
    [([("5001", "Cast Iron Pan", "Kitchen", 349.0)], 10, "5001", "conflicting_names"),
     ([("5001", "Cast Iron Pan", "Kitchen", 349.0)], 4, "5001", "conflicting_names"),
     ([("5001", "Espresso Machines", "Kitchen", 349.0)], 4, "5001", "conflicting_names"),
     ([("5001", "Espresso Machine", "Garden", 349.0)], 10, "5001", "conflicting_categories"),
     ([("5001", "Espresso Machine", "Kitchen", 399.0)], 10, "5001", "ambiguous_price"),
     ([("5009", "Rug", "Living", 99.0)], 2, "5009", "too_rare"),
     ([("5009", "Garden Hose", "Garden", 29.99)], 3, "5009", "shared_name"),
     ([("5009", "Rug", "Living", "free")], 5, "5009", "no_price"),
     ([("5009", None, "Living", 9.0)], 5, "5009", "no_name"),
     ([("5009", "Rug", ["Living"], 9.0)], 5, "5009", "no_category")],
)  # fmt: skip
def test_what_the_orders_do_not_decide_is_left_out_and_reported(
    extra: list[Row], times: int, pid: str, why: str
) -> None:
    derived = derived_from((SHOP, 10), (extra, times))

    assert outcome(derived.report, pid) == why
    assert products(derived.catalogue) == {p for p in SHOP if p[0] != pid}


def test_a_rare_other_name_under_an_id_is_a_stray_order_not_a_conflict() -> None:
    derived = derived_from((SHOP, 10), ([("5001", "Cast Iron Pan", "Kitchen", 349.0)], 1))

    assert products(derived.catalogue) == set(SHOP)
    row = derived.report.set_index("ProductID").loc["5001"]
    assert (row["orders"], row["variant_orders"], row["stray_orders"]) == (11, 0, 1)


def test_the_price_is_the_mode_of_the_positive_prices() -> None:
    prices = [(349.0, 6), ("349,00 €", 1), ("$349.00", 1), (399.0, 3), (0, 9), ("n/a", 9)]
    derived = derived_from(*(([("5001", "Espresso Machine", "Kitchen", p)], n) for p, n in prices))

    assert products(derived.catalogue) == {("5001", "Espresso Machine", "Kitchen", 349.0)}
    assert derived.report.at[0, "price_orders"] == 8


def test_prices_tied_for_the_mode_are_refused_not_guessed() -> None:
    tied = [("5001", "Lamp", "Living", 10.0), ("5001", "Lamp", "Living", "12")]
    derived = derived_from((tied, 4))

    assert derived.catalogue is None
    assert outcome(derived.report, "5001") == "ambiguous_price"


def test_numeric_ids_in_any_form_are_one_canonical_id() -> None:
    forms = [5001, 5001.0, "5001", " 5001 "]
    derived = derived_from(*(([(f, "Espresso Machine", "Kitchen", 349.0)], 2) for f in forms))

    assert products(derived.catalogue) == {("5001", "Espresso Machine", "Kitchen", 349.0)}
    assert derived.report.at[0, "orders"] == 8


def test_ids_differing_in_case_are_one_product_spelled_as_most_orders_spell_it() -> None:
    derived = derived_from(([("sku-1", "Lamp", "Living", 10.0)], 5),
                           ([("SKU-1", "Lamp", "Living", 10.0)], 3))  # fmt: skip

    assert products(derived.catalogue) == {("sku-1", "Lamp", "Living", 10.0)}


def test_a_category_spelled_differently_by_two_products_is_one_vocabulary_entry() -> None:
    derived = derived_from(([("1", "Kettle", "Kitchen", 20.0)], 10),
                           ([("2", "Toaster", "KITCHEN ", 30.0)], 4))  # fmt: skip

    assert products(derived.catalogue) == {("1", "Kettle", "Kitchen", 20.0),
                                           ("2", "Toaster", "Kitchen", 30.0)}  # fmt: skip
    assert derived.catalogue is not None and derived.catalogue.categories == ("Kitchen",)


def test_ids_tied_for_one_name_are_both_left_out() -> None:
    tied = [("1", "Kettle", "Kitchen", 20.0), ("2", "kettle", "Kitchen", 20.0)]
    derived = derived_from((tied, 5))

    assert derived.catalogue is None
    assert set(derived.report["outcome"]) == {"shared_name"}


def test_garbage_teaches_nothing() -> None:
    garbage = [
        "not json", "[1, 2]", '"text"', "", "{}", json.dumps({"ProductID": True}),
        *lines_of([(None, "Rug", "Living", 9.0), ([5009], "Rug", "Living", 9.0),
                   (5009.5, "Rug", "Living", 9.0), (True, "Rug", "Living", 9.0),
                   ({"id": 5009}, "Rug", "Living", 9.0), ("  ", "Rug", "Living", 9.0)], times=5),
    ]  # fmt: skip
    derived = derive_catalogue(observe([*lines_of(SHOP, 10), *garbage]))

    assert products(derived.catalogue) == set(SHOP)
    assert list(derived.report["ProductID"]) == ["5001", "5002", "5003"]


def test_orders_without_an_id_teach_nothing() -> None:
    derived = derived_from(([(None, "Rug", "Living", 9.0)], 5))

    assert derived.catalogue is None and derived.report.empty


def test_a_line_encoded_twice_is_read_as_the_rule_set_reads_it() -> None:
    twice = [json.dumps(line) for line in lines_of(SHOP, times=3)]

    assert products(derive_catalogue(observe(twice)).catalogue) == set(SHOP)


def test_a_wrong_input_or_threshold_fails_naming_it() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['rows'\]; present: \['ProductID'"):
        derive_catalogue(pd.DataFrame({k: [] for k in KEYS}))
    observed = observe(lines_of(SHOP))
    with pytest.raises(ValueError, match="min_share=0.4"):
        derive_catalogue(observed, min_share=0.4)
    with pytest.raises(ValueError, match=r"rows must be counts.*-1"):
        derive_catalogue(observed.assign(rows=-1))


def test_our_generators_messy_orders_give_back_our_catalogue() -> None:
    derived = derive_catalogue(observe(generate_orders(20_000, seed=2).lines))

    assert products(derived.catalogue) == products(Catalogue.default())
    assert derived.report["variant_orders"].sum() > 0


# ---------------------------------------------------------------------------------------------
# Properties

NAME_TEXT = st.text(string.ascii_letters + " -&'é", min_size=1, max_size=14).map(
    lambda s: " ".join(s.split()) or "x"
)
CATEGORY_NAMES = st.lists(NAME_TEXT, min_size=1, max_size=4, unique_by=normalise)
PRICES = st.integers(1, 10**6).map(lambda cents: cents / 100)
IDS = st.one_of(st.integers(0, 10**12).map(str), st.text(string.ascii_letters + "-", min_size=1,
                                                          max_size=8))  # fmt: skip


@st.composite
def catalogues(draw: st.DrawFn) -> list[Row]:
    """A valid catalogue: ids unique case-insensitively, names unique once normalised."""
    categories = draw(CATEGORY_NAMES)
    return draw(
        st.lists(
            st.tuples(IDS, NAME_TEXT, st.sampled_from(categories), PRICES),
            min_size=1,
            max_size=10,
            unique_by=(lambda p: p[0].upper(), lambda p: normalise(p[1])),
        )
    )


@st.composite
def one_edit(draw: st.DrawFn, value: str) -> str:
    """`value` with one edit: a letter dropped, doubled, swapped with the next, mistyped or
    inserted."""
    i = draw(st.integers(0, len(value) - 1))
    letter = draw(st.sampled_from(string.ascii_letters))
    edits = [value[:i] + value[i + 1 :], value[: i + 1] + value[i:],
             value[:i] + value[i + 1 : i + 2] + value[i] + value[i + 2 :],
             value[:i] + letter + value[i + 1 :], value[:i] + letter + value[i:]]  # fmt: skip
    return draw(st.sampled_from(edits))


def in_id_order(rows: list[Row]) -> Catalogue:
    return Catalogue.of(sorted(rows, key=lambda p: str(p[0]).upper()))


@given(catalogues(), st.integers(3, 8), st.booleans())
def test_a_catalogue_repeated_in_orders_is_derived_exactly(
    shop: list[Row], times: int, integer_ids: bool
) -> None:
    given_ids = [int(p[0]) if integer_ids and p[0].isdigit() else p[0] for p in shop]
    orders = [(pid, *p[1:]) for pid, p in zip(given_ids, shop, strict=True)]

    derived = derived_from((orders, times))

    assert derived.catalogue == in_id_order(shop)
    assert set(derived.report["outcome"]) == {"kept"}


@given(st.data(), catalogues(), st.integers(5, 8))
def test_a_few_rare_one_edit_typos_change_nothing(
    data: st.DataObject, shop: list[Row], times: int
) -> None:
    typos: list[Row] = []
    for pid, name, category, price in shop:
        if data.draw(st.booleans(), label="name typo"):
            typos.append((pid, data.draw(one_edit(name)), category, price))
        else:
            typos.append((pid, name, data.draw(one_edit(category)), price))

    derived = derived_from((shop, times), (typos, 1))

    assert derived.catalogue == in_id_order(shop)


ANY_IDS = st.sampled_from([5001, 5001.0, "5001", " x-1 ", "X-1", 7.5, True, None, "", [1], 2**60])
ANY_TEXTS = st.sampled_from(["Lamp", "lamp ", "Lmap", "Rug", None, 3, ["Rug"], "", "\ud800"])
ANY_PRICES = st.sampled_from([10, 10.0, "10,00 €", 12.5, "1,2,3", -4, 0, None, "NaN", float("nan")])
OBSERVED = st.lists(
    st.tuples(ANY_IDS, ANY_TEXTS, ANY_TEXTS, ANY_PRICES, st.integers(0, 12)), max_size=20
).map(lambda rows: pd.DataFrame(rows, columns=[*KEYS, "rows"], dtype=object))


@given(OBSERVED)
def test_the_result_never_holds_an_id_the_input_does_not(observed: pd.DataFrame) -> None:
    derived = derive_catalogue(observed)

    given_ids = {canonical_id(v)[0] for v in observed["ProductID"]}
    assert set(derived.report["ProductID"]) <= given_ids
    assert derived.catalogue is None or set(derived.catalogue.ids) <= given_ids


@given(OBSERVED, st.randoms(use_true_random=False))
def test_splitting_or_reordering_the_observed_counts_changes_nothing(
    observed: pd.DataFrame, random: Any
) -> None:
    split = []
    for *values, n in observed.itertuples(index=False, name=None):
        first = random.randint(0, n)
        split += [(*values, first), (*values, n - first)]
    random.shuffle(split)

    again = derive_catalogue(pd.DataFrame(split, columns=[*KEYS, "rows"], dtype=object))

    once = derive_catalogue(observed)
    assert again.catalogue == once.catalogue
    pd.testing.assert_frame_equal(again.report, once.report)
