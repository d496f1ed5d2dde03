"""The product catalogue as data: reading a file, its checks, and the rule set against another
shop's catalogue (pipeline.catalogue)."""

from __future__ import annotations

import csv
import json
import pickle
import string
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from test_clean import ABSENT
from test_clean import record as raw_record

from pipeline.catalogue import Catalogue, normalise
from pipeline.clean import CleanStats, check_lines, clean_lines
from pipeline.generate import generate_orders
from pipeline.schema import CATALOGUE, CATEGORIES

pytestmark = pytest.mark.unit

STATS = CleanStats(age_median=40.0, total_min=0.0, total_max=1000.0)

# Another shop: numeric ids, its own names, categories and prices.
FOREIGN_ROWS: list[tuple[Any, str, str, float]] = [
    ("10017", "Stainless Kettle", "Kitchenware", 34.5),
    ("10018", "Cast Iron Skillet", "Kitchenware", 49.0),
    ("10019", "Garden Hose 20m", "Garden", 27.95),
    ("20001", "Pruning Shears", "Garden", 18.0),
    ("20002", "Bird Feeder", "Garden", 22.4),
    ("A-7", "Reading Lamp", "Lighting", 61.25),
]
FOREIGN = Catalogue.of(FOREIGN_ROWS, source="foreign")


def write_csv(path: Path, rows: list[tuple[Any, ...]], header: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


FOREIGN_ORDER = {
    "TotalAmount": 69.0, "ProductID": "10017", "ProductName": "Stainless Kettle",
    "Category": "Kitchenware", "Price": 34.5,
}  # fmt: skip


def record(**overrides: Any) -> dict[str, Any]:
    """A valid raw order of the foreign shop (Stainless Kettle x 2); ABSENT drops a key."""
    return raw_record(**{**FOREIGN_ORDER, **overrides})


def line(**overrides: Any) -> str:
    return json.dumps(record(**overrides))


def foreign(*lines: str) -> pd.DataFrame:
    return clean_lines(list(lines), STATS, catalogue=FOREIGN).clean


def foreign_reasons(*lines: str) -> list[str]:
    return clean_lines(list(lines), STATS, catalogue=FOREIGN).quarantine["reason"].tolist()


def product(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    columns = ["ProductID", "ProductName", "Category", "Price"]
    return [tuple(r) for r in frame[columns].itertuples(index=False)]


# ---------------------------------------------------------------------------------------------
# Reading a file


def test_a_csv_catalogue_is_read_in_any_column_order(tmp_path: Path) -> None:
    rows = [(n, p, c, i) for i, n, c, p in FOREIGN_ROWS]  # ProductName,Price,Category,ProductID
    path = write_csv(tmp_path / "shop.csv", rows, "ProductName,Price,Category,ProductID")

    read = Catalogue.read(path)

    assert read == FOREIGN
    assert read.ids == tuple(r[0] for r in FOREIGN_ROWS)
    assert read.categories == ("Kitchenware", "Garden", "Lighting")
    assert read.source == str(path)


def test_a_csv_catalogue_keeps_names_like_na_and_ignores_other_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "shop.csv",
        [(" 7 ", "NA", "None", "3.50", "x"), ("8", "null", "None", "4", "y")],
        "ProductID,ProductName,Category,Price,Supplier",
    )

    read = Catalogue.read(path)

    assert (read.ids, read.names, read.prices) == (("7", "8"), ("NA", "null"), (3.5, 4.0))


def test_a_parquet_catalogue_with_integer_ids_is_read(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Category": ["Kitchenware", "Garden"],
            "ProductID": [10017, 20001],
            "Price": [34.5, 18.0],
            "ProductName": ["Stainless Kettle", "Pruning Shears"],
        }
    )
    frame.to_parquet(tmp_path / "shop.parquet")

    read = Catalogue.read(tmp_path / "shop.parquet")

    assert read.ids == ("10017", "20001")  # the rule set's id text
    assert read.names == ("Stainless Kettle", "Pruning Shears")
    assert read.prices == (34.5, 18.0)
    assert read.product_of_id("10017") == 0


HEADER = "ProductID,ProductName,Category,Price"
BAD_FILES = {
    "missing column": (
        "ProductID,ProductName,Price\n1,Kettle,3.5\n",
        "missing column(s) ['Category']",
    ),
    "duplicate id": (f"{HEADER}\n1,Kettle,Kitchen,3.5\n1,Pan,Kitchen,4\n", "duplicate ProductID"),
    "id differing in case only": (
        f"{HEADER}\nab1,Kettle,Kitchen,3.5\nAB1,Pan,Kitchen,4\n",
        "duplicate ProductID",
    ),
    "no products": (f"{HEADER}\n", "no products"),
    "empty file": ("", "cannot read it"),
    "empty price": (f"{HEADER}\n1,Kettle,Kitchen,\n", "Price is empty"),
    "zero price": (f"{HEADER}\n1,Kettle,Kitchen,0\n", "not a positive number"),
    "negative price": (f"{HEADER}\n1,Kettle,Kitchen,-2.5\n", "not a positive number"),
    "infinite price": (f"{HEADER}\n1,Kettle,Kitchen,inf\n", "not a positive number"),
    "non-numeric price": (f"{HEADER}\n1,Kettle,Kitchen,$3.50\n", "is not a number"),
    "names equal once normalised": (
        f"{HEADER}\n1,Bird Feeder,Garden,3\n2,  bird   FEEDER ,Garden,4\n",
        "duplicate ProductName",
    ),
    "categories equal once normalised": (
        f"{HEADER}\n1,Kettle,Garden,3\n2,Pan,GARDEN,4\n",
        "duplicate Category",
    ),
    "empty id": (f"{HEADER}\n,Kettle,Kitchen,3\n", "ProductID"),
    "empty name": (f"{HEADER}\n1,,Kitchen,3\n", "ProductName is empty"),
    "empty category": (f"{HEADER}\n1,Kettle, ,3\n", "Category is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_csv_catalogue_fails_naming_the_file_and_the_problem(
    tmp_path: Path, case: str
) -> None:
    text, problem = BAD_FILES[case]
    path = tmp_path / "shop.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match="shop.csv") as failure:
        Catalogue.read(path)

    assert problem in str(failure.value)


def test_a_bad_parquet_catalogue_fails_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "shop.parquet"
    frame = {"ProductID": [1, 2], "ProductName": ["a", "b"], "Category": ["c", "c"]}
    pd.DataFrame({**frame, "Price": [1.5, float("nan")]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"shop\.parquet: product 2: Price is empty"):
        Catalogue.read(path)
    pd.DataFrame({**frame, "Price": ["1.5", "cheap"]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"shop\.parquet: product 2: Price 'cheap' is not a num"):
        Catalogue.read(path)
    pd.DataFrame({**frame, "Price": [1.5, 2.0], "ProductID": [1, 1]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"shop\.parquet: duplicate ProductID"):
        Catalogue.read(path)


@pytest.mark.parametrize("name", ["missing.csv", "shop.json"])
def test_a_missing_file_or_another_format_fails_clearly(tmp_path: Path, name: str) -> None:
    if name.endswith(".json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        Catalogue.read(tmp_path / name)


def test_a_catalogue_pickles_small_and_whole() -> None:
    data = pickle.dumps(FOREIGN)
    again = pickle.loads(data)
    assert again == FOREIGN and len(data) < 1_000
    assert again.match_name("stainles kettle") == 0
    assert pickle.loads(pickle.dumps(Catalogue.default())) is Catalogue.default()


# ---------------------------------------------------------------------------------------------
# The rule set against another shop's catalogue


def test_the_default_catalogue_is_schema_catalogue() -> None:
    default = Catalogue.default()
    assert default is Catalogue.default()
    assert default.ids == tuple(p.product_id for p in CATALOGUE)
    assert default.names == tuple(p.name for p in CATALOGUE)
    assert default.categories == CATEGORIES


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"ProductID": 10017},  # a JSON integer id
        {"ProductID": 10017.0},
        {"ProductName": ABSENT},  # by id alone
        {"ProductID": ABSENT},  # by name alone
        {"ProductID": ABSENT, "ProductName": "  stainles KETTLE "},  # one typo
        {"Category": ABSENT, "Price": ABSENT},  # restored from the catalogue
        {"Category": "kitchenwear", "Price": "$34.50"},
    ],
)
def test_a_foreign_catalogue_resolves_its_own_products(overrides: dict[str, Any]) -> None:
    out = foreign(line(**overrides))
    assert product(out) == [("10017", "Stainless Kettle", "Kitchenware", 34.5)]
    assert out["TotalAmount"].tolist() == [69.0]


def test_a_foreign_catalogue_restores_name_category_and_price_from_an_id() -> None:
    out = foreign(
        line(
            ProductID="a-7",
            ProductName=ABSENT,
            Category=ABSENT,
            Price=ABSENT,
            Quantity=ABSENT,
            TotalAmount=122.5,
        )
    )
    assert product(out) == [("A-7", "Reading Lamp", "Lighting", 61.25)]
    assert out["Quantity"].tolist() == [2]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"ProductName": "Bird Feeder"}, "product_mismatch"),
        ({"Category": "Garden"}, "category_mismatch"),
        ({"Price": 30.0}, "price_mismatch"),
        ({"ProductID": "10099"}, "unknown_product_id"),
        ({"ProductID": ABSENT, "ProductName": ABSENT}, "missing_product"),
        ({"Category": "Lamps"}, "unknown_category"),
    ],
)
def test_a_foreign_catalogue_flags_what_disagrees(overrides: dict[str, Any], reason: str) -> None:
    assert foreign_reasons(line(**overrides)) == [reason]


def default_product(**overrides: Any) -> str:
    p = CATALOGUE[0]
    fields = {"ProductID": p.product_id, "ProductName": p.name, "Category": p.category}
    return line(**{**fields, "Price": p.price, "TotalAmount": round(2 * p.price, 2), **overrides})


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({}, "unknown_product_id"),
        ({"ProductID": ABSENT}, "unknown_product_name"),
        ({"ProductID": ABSENT, "ProductName": "Stainless Kettle"}, "unknown_category"),
    ],
)
def test_our_products_are_unknown_to_a_foreign_catalogue(
    overrides: dict[str, Any], reason: str
) -> None:
    assert foreign_reasons(default_product(**overrides)) == [reason]


def test_our_products_stay_known_to_the_default_catalogue() -> None:
    assert clean_lines([default_product(), default_product(ProductID=ABSENT)]).quarantine.empty


def test_each_catalogue_matches_its_own_vocabulary() -> None:
    # The same text, matched by two catalogues: each answers from its own names (no shared cache).
    typo = "Wireles Mouse"
    assert Catalogue.default().match_name(typo) == 0
    assert FOREIGN.match_name(typo) == -1
    assert clean_lines([default_product(ProductID=ABSENT, ProductName=typo)]).quarantine.empty
    assert foreign_reasons(line(ProductID=ABSENT, ProductName=typo)) == ["unknown_product_name"]


def test_check_lines_takes_the_catalogue_too() -> None:
    checked = check_lines([line(ProductName=ABSENT)], catalogue=FOREIGN)
    assert checked["reason"].isna().all()
    assert checked["ProductName"].tolist() == ["Stainless Kettle"]
    assert check_lines([line()])["reason"].tolist() == ["unknown_product_id"]


def default_rows() -> list[tuple[str, str, str, float]]:
    return [(p.product_id, p.name, p.category, p.price) for p in CATALOGUE]


def assert_same_result(a: Any, b: Any) -> None:
    assert_frame_equal(a.clean, b.clean)
    assert_frame_equal(a.quarantine, b.quarantine)
    assert a.duplicates == b.duplicates


def test_the_default_catalogue_gives_todays_results_on_generated_orders(tmp_path: Path) -> None:
    lines = generate_orders(5_000, seed=3, error_rate=0.05).lines
    today = clean_lines(lines)

    assert_same_result(today, clean_lines(lines, catalogue=Catalogue.default()))
    # The same products as data (a file, categories in their order of appearance): the same.
    path = write_csv(tmp_path / "ours.csv", default_rows(), HEADER)
    assert_same_result(today, clean_lines(lines, catalogue=Catalogue.read(path)))
    assert len(today.clean) > 4_000 and len(today.quarantine) > 0


# ---------------------------------------------------------------------------------------------
# Property: in any catalogue of distinct names, each product's exact name and id resolve to it


@st.composite
def catalogues(draw: st.DrawFn) -> list[tuple[str, str, str, float]]:
    """Distinct names, well separated: a drawn stem plus a serial word no two share."""
    size = draw(st.integers(1, 25))
    stems = draw(
        st.lists(
            st.text(string.ascii_letters + " -&'éß", min_size=1, max_size=12),
            min_size=size,
            max_size=size,
        )
    )
    serials = ["alpha", "bravo", "delta", "kilo", "oscar", "tango", "xray", "zulu"]
    names = [f"{stem.strip()} {serials[i % 8]}{i // 8:02d}".strip() for i, stem in enumerate(stems)]
    categories = draw(st.lists(st.sampled_from(["Tools", "Food", "Toys"]), min_size=size,
                               max_size=size))  # fmt: skip
    cents = draw(st.lists(st.integers(1, 10**6), min_size=size, max_size=size))
    first_id = draw(st.integers(0, 10**9))
    return [
        (str(first_id + i), name, category, c / 100)
        for i, (name, category, c) in enumerate(zip(names, categories, cents, strict=True))
    ]


@settings(max_examples=60, deadline=None)
@given(rows=catalogues(), integer_ids=st.booleans())
def test_any_catalogue_resolves_each_products_exact_name_and_id(
    rows: list[tuple[str, str, str, float]], integer_ids: bool
) -> None:
    assert len({normalise(r[1]) for r in rows}) == len(rows)
    catalogue = Catalogue.of(rows)
    lines = []
    for n, (pid, name, category, price) in enumerate(rows):
        common = {"Category": category, "Price": price, "TotalAmount": price, "Quantity": 1}
        given_id = int(pid) if integer_ids else pid
        lines.append(line(row_key=f"id{n}", ProductID=given_id, ProductName=ABSENT, **common))
        lines.append(line(row_key=f"name{n}", ProductID=ABSENT, ProductName=name, **common))

    result = clean_lines(lines, STATS, catalogue=catalogue)

    assert result.quarantine.empty
    want = {(kind, n): row for n, row in enumerate(rows) for kind in ("id", "name")}
    got = {
        (key.rstrip("0123456789"), int(key.lstrip("idname"))): row
        for key, row in zip(result.clean["row_key"], product(result.clean), strict=True)
    }
    assert got == want


# ---------------------------------------------------------------------------------------------
# Wiring: settings, command line, the clean gate's CATEGORIES


def test_settings_take_the_catalogue_from_the_environment() -> None:
    from pipeline.settings import Settings

    assert Settings.from_env({}).catalogue_path == ""
    assert Settings.from_env({"PIPELINE_CATALOGUE": "/x/shop.csv"}).catalogue_path == "/x/shop.csv"


def test_the_clean_and_run_commands_take_a_checked_catalogue_file(tmp_path: Path) -> None:
    from pipeline.cli import build_parser

    path = write_csv(tmp_path / "shop.csv", FOREIGN_ROWS, HEADER)
    for command in (["clean", "--input", "x.jsonl", "--output", "out"], ["run"]):
        args = build_parser().parse_args([*command, "--catalogue", str(path)])
        assert args.catalogue == str(path.resolve())
        assert build_parser().parse_args(command).catalogue is None
    bad = write_csv(tmp_path / "bad.csv", [("1", "Kettle", "Kitchen", "0")], HEADER)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--catalogue", str(bad)])


def test_the_clean_gate_checks_categories_against_the_catalogue_in_use() -> None:
    from pipeline import gates

    frame = foreign(line())
    assert gates.validate("clean", frame, catalogue=FOREIGN).success
    failed = gates.validate("clean", frame)
    assert [f.column for f in failed.failed] == ["Category"]
