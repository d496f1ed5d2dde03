"""Countries from ISO 3166-1: every ISO form names its country, typos map back or are AMBIGUOUS."""

from __future__ import annotations

import itertools
import json
import string

import pycountry
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein
from strategies import clean_records, single_typos

from pipeline import countries
from pipeline.clean import REASONS, CleanStats, clean_lines
from pipeline.countries import (
    ABBREVIATIONS,
    ALIASES,
    ALPHA_2,
    AMBIGUOUS_NAMES,
    COUNTRY_NAMES,
    M49_REGIONS,
    REGIONS,
    SUB_REGIONS,
    canonical_country,
    normalise,
    region_of,
    sub_region_of,
)
from pipeline.schema import COUNTRIES
from pipeline.value_status import AMBIGUOUS, INVALID, OK

pytestmark = pytest.mark.unit

RECORDS = sorted(pycountry.countries, key=lambda c: c.alpha_2)
NAME_ATTRIBUTES = ("name", "official_name", "common_name")
INDEX = {code: i for i, code in enumerate(ALPHA_2)}
CODES = {c.alpha_2.casefold() for c in RECORDS} | {c.alpha_3.casefold() for c in RECORDS}

# Every name a country goes by (ISO forms, aliases, canonical names) -> its alpha-2 code.
NAME_OF: dict[str, str] = {
    **{getattr(r, a): r.alpha_2 for r in RECORDS for a in NAME_ATTRIBUTES if hasattr(r, a)},
    **ALIASES,
    **dict(zip(COUNTRY_NAMES, ALPHA_2, strict=True)),
}
# Normalised name -> the codes it names (one, except for AMBIGUOUS_NAMES).
CODES_OF_KEY: dict[str, set[str]] = {}
for _name, _code in NAME_OF.items():
    CODES_OF_KEY.setdefault(normalise(_name), set()).add(_code)
LONG_NAMES = tuple(sorted(n for n in NAME_OF if len(n) >= 5))


def country(text: str) -> str | None:
    """The canonical name `text` maps to, or None."""
    index, status = canonical_country(text)
    assert (index >= 0) == (status == OK)
    return COUNTRY_NAMES[index] if status == OK else None


# ---------------------------------------------------------------------------------------------
# Examples


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.alpha_2)
def test_every_iso_name_and_code_maps_to_its_own_country(record) -> None:
    forms = [getattr(record, a) for a in NAME_ATTRIBUTES if hasattr(record, a)]
    codes = [record.alpha_2, record.alpha_3, record.alpha_2.lower(), record.alpha_3.lower()]
    for form in [*forms, *codes]:
        assert canonical_country(form) == (INDEX[record.alpha_2], OK), form


@pytest.mark.parametrize(
    ("text", "expected"),
    [("USA", "United States"), ("U.S.A.", "United States"), ("U.S.", "United States"),
     ("U. S. A.", "United States"), ("us", "United States"),
     ("United States of America", "United States"),
     ("UK", "United Kingdom"), ("U.K.", "United Kingdom"), ("GBR", "United Kingdom"),
     ("GB", "United Kingdom"), ("Great Britain", "United Kingdom"), ("England", "United Kingdom"),
     ("DE", "Germany"), ("deu", "Germany"), ("Deutschland", "Germany"), ("España", "Spain"),
     ("ESPANA", "Spain"), ("Holland", "Netherlands"), ("The Netherlands", "Netherlands"),
     ("Türkiye", "Turkey"), ("Turkiye", "Turkey"), ("Republic of Türkiye", "Turkey"),
     ("Russia", "Russian Federation"), ("Iran", "Iran"), ("Iraq", "Iraq"), ("Vietnam", "Vietnam"),
     ("Viet Nam", "Vietnam"), ("Czechia", "Czechia"), ("Czech Republic", "Czechia"),
     ("Korea, Republic of", "South Korea"), ("Republic of Korea", "South Korea"),
     ("North Korea", "North Korea"), ("Österreich", "Austria"), ("Schweiz", "Switzerland"),
     ("Nippon", "Japan"), ("Ivory Coast", "Côte d'Ivoire"), ("Cote d’Ivoire", "Côte d'Ivoire"),
     ("St. Lucia", "Saint Lucia"), ("The Gambia", "Gambia"), ("UAE", "United Arab Emirates"),
     ("DRC", "Congo, The Democratic Republic of the"), ("Congo", "Congo"),
     ("  germany ", "Germany"), ("GERMANY", "Germany"), ("Germnay", "Germany"),
     ("Untied Kingdom", "United Kingdom"), ("Swtizerland", "Switzerland"),
     ("Slovenkia", "Slovenia"),  # one edit from Slovenia, two from Slovakia: half as far
     ("Slovkia", "Slovakia")],
)  # fmt: skip
def test_aliases_codes_and_typos(text: str, expected: str) -> None:
    assert country(text) == expected


@pytest.mark.parametrize(("alias", "code"), [*ALIASES.items(), *ABBREVIATIONS.items()])
def test_every_alias_maps_to_its_country(alias: str, code: str) -> None:
    assert canonical_country(alias) == (INDEX[code], OK)


@pytest.mark.parametrize(
    "pair",
    [("Iran", "Iraq"), ("Austria", "Australia"), ("Niger", "Nigeria"), ("Guinea", "Guyana"),
     ("Slovakia", "Slovenia"), ("Dominica", "Dominican Republic"), ("Gambia", "Zambia"),
     ("Ireland", "Iceland"), ("Mali", "Malta")],
)  # fmt: skip
def test_near_pairs_each_map_to_themselves(pair: tuple[str, str]) -> None:
    assert [country(name) for name in pair] == list(pair)


@pytest.mark.parametrize(
    ("text", "status"),
    [*((name, AMBIGUOUS) for name in AMBIGUOUS_NAMES),
     ("Nigera", AMBIGUOUS),  # one edit from Nigeria and from Niger
     ("Irak", AMBIGUOUS),  # one edit from Iraq and from Iran
     ("Atlantis", INVALID), ("America", INVALID), ("Kosovo", INVALID), ("Gmny", INVALID),
     ("XX", INVALID), ("GBX", INVALID), ("USAA", INVALID), ("The", INVALID), ("", INVALID)],
)  # fmt: skip
def test_ambiguous_and_unknown_values(text: str, status: int) -> None:
    assert canonical_country(text) == (-1, status)


def test_the_schema_names_come_first_and_unchanged() -> None:
    assert COUNTRY_NAMES[: len(COUNTRIES)] == COUNTRIES
    assert len(COUNTRY_NAMES) == len(set(COUNTRY_NAMES)) == len(RECORDS)
    assert sorted(ALPHA_2) == [r.alpha_2 for r in RECORDS]


def test_other_canonical_names_are_iso_common_or_short_names() -> None:
    records = {r.alpha_2: r for r in RECORDS}
    for code, name in zip(ALPHA_2[len(COUNTRIES) :], COUNTRY_NAMES[len(COUNTRIES) :], strict=True):
        assert name == getattr(records[code], "common_name", records[code].name)


def test_aliases_name_one_country_and_are_no_iso_code() -> None:
    for alias in [*ALIASES, *ABBREVIATIONS]:
        assert CODES_OF_KEY.get(normalise(alias), set()) <= {(ALIASES | ABBREVIATIONS)[alias]}
        assert normalise(alias) not in CODES


# ---------------------------------------------------------------------------------------------
# Properties


@given(st.sampled_from(COUNTRY_NAMES), st.sampled_from(["upper", "lower", "swapcase", "pad"]))
def test_a_canonical_name_is_never_changed(name: str, form: str) -> None:
    text = f"  {name}\t" if form == "pad" else getattr(name, form)()
    assert country(text) == name


TYPOS = single_typos(LONG_NAMES).map(lambda pair: pair[1])


@given(st.text(max_size=24) | st.sampled_from(LONG_NAMES) | TYPOS)
def test_canonical_names_are_fixed_points(text: str) -> None:
    index, status = canonical_country(text)
    if status == OK:
        assert canonical_country(COUNTRY_NAMES[index]) == (index, OK)
    assert status in (OK, INVALID, AMBIGUOUS)


@given(single_typos(LONG_NAMES))
@example(("Nigeria", "Nigera"))
@example(("the State of Palestine", "tha State of Palestine"))
@example(("East Timor", "E st Timor"))
def test_a_one_edit_typo_maps_back_or_is_ambiguous(pair: tuple[str, str]) -> None:
    name, typo = pair
    key = normalise(typo)
    other = (CODES_OF_KEY.get(key, set()) | CODES_OF_KEY.get(countries._variant(key), set())) - {
        NAME_OF[name]
    }
    assume(not other)  # the typo is itself another country's name: that country is right
    index, status = canonical_country(typo)
    assert status in (OK, AMBIGUOUS), typo
    if status == OK:
        assert ALPHA_2[index] == NAME_OF[name], (name, typo, COUNTRY_NAMES[index])


@given(st.sampled_from(sorted(CODES)), st.integers(0, 2), st.sampled_from(string.ascii_lowercase))
def test_codes_are_never_matched_fuzzily(code: str, position: int, letter: str) -> None:
    near = code[:position] + letter + code[position + 1 :]
    assume(near not in CODES and normalise(near) not in map(normalise, ABBREVIATIONS))
    assert canonical_country(near) == (-1, INVALID)


def _equidistant_values() -> list[tuple[str, str, str]]:
    """(value, name a, name b): a value exactly one edit from names of two different countries.

    For two same-length names two substitutions apart, take a's letter at one of the two places
    and b's at the other. One edit is within every name's reach, so only the runner-up guard (at
    most half as far as the next country) keeps such a value from being guessed.
    """
    keys = sorted({normalise(n): c for n, c in NAME_OF.items() if len(normalise(n)) >= 4}.items())
    found = []
    for (a, code_a), (b, code_b) in itertools.combinations(keys, 2):
        if code_a == code_b or len(a) != len(b):
            continue
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 2:
            value = a[: diff[0]] + b[diff[0]] + a[diff[0] + 1 :]
            if normalise(value) == countries._variant(value) == value not in CODES_OF_KEY:
                found.append((value, a, b))
    return found


EQUIDISTANT = _equidistant_values()


def test_there_are_equidistant_values_to_check() -> None:
    assert len(EQUIDISTANT) >= 10, EQUIDISTANT


@pytest.mark.parametrize(("value", "a", "b"), EQUIDISTANT, ids=[v for v, _, _ in EQUIDISTANT])
def test_a_value_as_close_to_two_countries_is_ambiguous(value: str, a: str, b: str) -> None:
    """Fails without the ambiguity guard: the value is one edit from each name, within reach."""
    assert DamerauLevenshtein.distance(value, a) == DamerauLevenshtein.distance(value, b) == 1
    assert canonical_country(value) == (-1, AMBIGUOUS), (value, a, b)
    assert canonical_country(value.upper()) == (-1, AMBIGUOUS), (value, a, b)


@pytest.mark.parametrize("letter", sorted(set(string.ascii_lowercase) - {"n", "q"}))
def test_ira_forms_between_iran_and_iraq_are_ambiguous(letter: str) -> None:
    """Ira? is one edit from Iran and from Iraq: never guessed (fails without the guard)."""
    assert canonical_country(f"Ira{letter}") == (-1, AMBIGUOUS)


# ---------------------------------------------------------------------------------------------
# In the cleaner

STATS = CleanStats(age_median=40.0, total_min=0.0, total_max=1000.0)


@given(
    clean_records(),
    st.sampled_from(
        [("USA", "United States"), ("U.K.", "United Kingdom"), ("DE", "Germany"),
         ("Deutschland", "Germany"), ("Russia", "Russian Federation"), ("civ", "Côte d'Ivoire"),
         ("Türkiye", "Turkey"), ("Untied States", "United States")]
    ),
)  # fmt: skip
def test_the_cleaner_writes_the_canonical_name(record: dict, case: tuple[str, str]) -> None:
    text, name = case
    result = clean_lines([json.dumps({**record, "Country": text})], STATS)
    assert result.clean["Country"].tolist() == [name]


@given(clean_records(), st.sampled_from(["Korea", "Nigera", "Irak", "Virgin Islands"]))
def test_the_cleaner_quarantines_an_ambiguous_country(record: dict, text: str) -> None:
    result = clean_lines([json.dumps({**record, "Country": text})], STATS)
    assert result.quarantine["reason"].tolist() == ["ambiguous_country"]


def test_ambiguous_country_follows_unknown_country_in_the_reasons() -> None:
    assert REASONS.index("ambiguous_country") == REASONS.index("unknown_country") + 1


# ---------------------------------------------------------------------------------------------
# Regions


def test_every_country_but_antarctica_has_an_m49_region_and_sub_region() -> None:
    assert len(REGIONS) == len(SUB_REGIONS) == len(COUNTRY_NAMES)
    for index, code in enumerate(ALPHA_2):
        if code == "AQ":
            assert (region_of(index), sub_region_of(index)) == ("", "")
        else:
            assert region_of(index) in M49_REGIONS, code
            assert sub_region_of(index), code
    assert set(REGIONS) == {*M49_REGIONS, ""}


@pytest.mark.parametrize(
    ("name", "region", "sub_region"),
    [("Germany", "Europe", "Western Europe"), ("United States", "Americas", "Northern America"),
     ("Brazil", "Americas", "Latin America and the Caribbean"), ("Japan", "Asia", "Eastern Asia"),
     ("Turkey", "Asia", "Western Asia"), ("Egypt", "Africa", "Northern Africa"),
     ("Kenya", "Africa", "Sub-Saharan Africa"),
     ("New Zealand", "Oceania", "Australia and New Zealand"),
     ("Russian Federation", "Europe", "Eastern Europe"), ("Taiwan", "Asia", "Eastern Asia")],
)  # fmt: skip
def test_regions_of_some_countries(name: str, region: str, sub_region: str) -> None:
    index = COUNTRY_NAMES.index(name)
    assert (region_of(index), sub_region_of(index)) == (region, sub_region)


@pytest.mark.parametrize("index", [-1, len(COUNTRY_NAMES)])
def test_region_of_no_country_raises(index: int) -> None:
    with pytest.raises(IndexError):
        region_of(index)
    with pytest.raises(IndexError):
        sub_region_of(index)


def test_a_name_holding_another_countrys_name_is_never_repaired_into_a_third() -> None:
    ireland, iceland = (COUNTRY_NAMES.index(n) for n in ("Ireland", "Iceland"))
    assert canonical_country("Republic of Ireland") == (ireland, OK)
    assert countries._names_another("republic of ireland", iceland)
    assert not countries._names_another("republic of iceland", iceland)
