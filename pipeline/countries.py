"""Countries: any common way of writing one -> its canonical name, from ISO 3166-1 (pycountry).

Every ISO 3166-1 record (249: countries, territories, Antarctica) is a country here. A value names
one when, after normalisation, it equals one of the record's

- ISO forms: ``name`` (``Korea, Republic of``), ``official_name`` (``United States of America``),
  ``common_name`` (``South Korea``);
- codes, matched exactly (never fuzzily), case-insensitively and with dots removed: ``alpha_2``
  (``DE``, ``U.S.``) and ``alpha_3`` (``GBR``, ``U.S.A.``);
- aliases ISO does not cover (ALIASES below: older or English short names such as ``Russia``,
  ``Turkey``, ``Holland``, ``Great Britain``, ``Ivory Coast``, ``Burma``, ``Swaziland``; native
  names of common countries in Latin script such as ``Deutschland``, ``España``, ``Italia``,
  ``Nederland``, ``Polska``, ``Brasil``, ``Nippon``); only names that denote one ISO record. The
  constituent countries of the United Kingdom (``England``, ``Scotland``, ``Wales``, ``Northern
  Ireland``) map to the United Kingdom, the ISO record they belong to;
- abbreviations (ABBREVIATIONS, exact only, like codes): ``UK``, ``UAE``, ``DRC``.

Names that denote more than one record (``Korea``, ``Virgin Islands``, ``Saint Martin``) are
AMBIGUOUS. ``America`` (a continent) and ``Kosovo`` (no ISO 3166-1 code) are unknown. ``Congo`` is
ISO's name of the Republic of the Congo (CG) and maps to it.

Normalisation (both sides): NFKC, casefold, accents folded (``Türkiye`` = ``turkiye``,
``Österreich`` = ``osterreich``), dots removed (``U.S.A.`` = ``usa``; single letters spaced out
are joined: ``U S A`` = ``usa``), typographic apostrophes made ``'``, hyphens, commas and
parentheses made spaces, a leading ``the`` dropped (``The Gambia``), the word ``St`` made
``Saint`` (``St. Lucia``), whitespace collapsed.

Typos: a value of 4+ characters that names nothing exactly is compared with every name (ISO forms
and aliases; never codes or abbreviations) by Damerau-Levenshtein distance, and the nearest
distance per country counts. It maps to the nearest country when that is within one edit (two for
values of 8+ characters) and at most half as far as the nearest other country; within reach but
with another country closer than twice as far, it is AMBIGUOUS (``Nigera``: one edit from both
Nigeria and Niger); else INVALID. Exact names always win, so near pairs (Iran/Iraq,
Austria/Australia, Niger/Nigeria, Guinea/Guyana, Slovakia/Slovenia, Dominica/Dominican Republic)
each map to themselves.

Canonical names (COUNTRY_NAMES): the 30 names of ``schema.COUNTRIES`` first, in that order and
unchanged (the generator and its truth twin use them: ``United States``, ``Turkey``, ...), then the
other records by name: ``common_name`` when ISO gives one (``Iran``, ``Vietnam``), else ``name``
(``Russian Federation``, ``Congo, The Democratic Republic of the``).

Regions: REGIONS / SUB_REGIONS, aligned with COUNTRY_NAMES (and ALPHA_2), hold the UN M49
region (Africa, Americas, Asia, Europe, Oceania) and sub-region (``Western Europe``, ``Sub-Saharan
Africa``, ``Latin America and the Caribbean``, ...), read once from ``country_regions.csv``.
Antarctica has no M49 region: ``""`` for both. Every other record has one (Taiwan, which M49 does
not list separately: Asia / Eastern Asia). M49's finer "intermediate regions" (Western Africa,
Caribbean, South America, ...) are not included.
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import re
import unicodedata
from importlib import resources

import pycountry
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from pipeline.schema import COUNTRIES
from pipeline.value_status import AMBIGUOUS, INVALID, OK

M49_REGIONS: tuple[str, ...] = ("Africa", "Americas", "Asia", "Europe", "Oceania")

# Names ISO 3166-1 (as pycountry has it) does not give, each -> the alpha-2 code it denotes.
ALIASES: dict[str, str] = {
    # English short or former names
    "Turkey": "TR",
    "Russia": "RU",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Holland": "NL",
    "Republic of Ireland": "IE",
    "Republic of Korea": "KR",
    "Ivory Coast": "CI",
    "Burma": "MM",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "East Timor": "TL",
    "Macedonia": "MK",
    "Vatican": "VA",
    "Vatican City": "VA",
    "Palestine": "PS",
    "Brunei": "BN",
    "Micronesia": "FM",
    "Macau": "MO",
    "Democratic Republic of the Congo": "CD",
    "DR Congo": "CD",
    "Congo-Kinshasa": "CD",
    "Congo-Brazzaville": "CG",
    "Falkland Islands": "FK",
    "US Virgin Islands": "VI",
    "British Virgin Islands": "VG",
    "Czech Republic": "CZ",  # also ISO's official_name; listed for the README
    # native names (Latin script; accents are folded anyway)
    "Deutschland": "DE",
    "Österreich": "AT",
    "Schweiz": "CH",
    "Suisse": "CH",
    "Svizzera": "CH",
    "España": "ES",
    "Italia": "IT",
    "Nederland": "NL",
    "België": "BE",
    "Belgique": "BE",
    "Polska": "PL",
    "Sverige": "SE",
    "Norge": "NO",
    "Danmark": "DK",
    "Suomi": "FI",
    "Éire": "IE",
    "Brasil": "BR",
    "Česko": "CZ",
    "Hrvatska": "HR",
    "Magyarország": "HU",
    "Hellas": "GR",
    "Nippon": "JP",
    "Nihon": "JP",
    "Zhongguo": "CN",
    "Bharat": "IN",
    "Türkiye": "TR",  # ISO's name since 2022; listed for the README
}
# Abbreviations that are no ISO code: matched exactly, like codes, never fuzzily.
ABBREVIATIONS: dict[str, str] = {"UK": "GB", "UAE": "AE", "DRC": "CD"}
# Names that denote more than one ISO record: never guessed.
AMBIGUOUS_NAMES: tuple[str, ...] = ("Korea", "Virgin Islands", "Saint Martin")

_NAME_ATTRIBUTES = ("name", "official_name", "common_name")
_CODE_LENGTH = 3  # values this short are codes or abbreviations, never fuzzy-matched names
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACES = re.compile(r"[\s\-\u2010-\u2015,()]+")


def normalise(text: str) -> str:
    """The matching key of a country value: NFKC, casefold, accents folded, dots removed, ...

    Runs of single letters are joined ("u s a" from "U. S. A." -> "usa").
    """
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES).replace(".", " ")
    words: list[str] = []
    for single, group in itertools.groupby(_SPACES.sub(" ", text).split(), key=_is_letter):
        run = list(group)
        words.extend(["".join(run)] if single else run)
    return " ".join(words)


def _is_letter(word: str) -> bool:
    return len(word) == 1


def _variant(key: str) -> str:
    """The key without a leading "the" and with the word "st" as "saint" ("st lucia")."""
    words = key.split()
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join("saint" if w == "st" and len(words) > 1 else w for w in words)


def _name_keys(name: str) -> set[str]:
    key = normalise(name)
    return {key, _variant(key)}


def _display_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(alpha-2 codes, canonical names) in COUNTRY_NAMES order."""
    records = {c.alpha_2: c for c in pycountry.countries}
    plain: dict[str, str] = {}
    for code, record in records.items():
        for attribute in _NAME_ATTRIBUTES:
            if hasattr(record, attribute):
                for key in _name_keys(getattr(record, attribute)):
                    plain.setdefault(key, code)
    for alias, code in ALIASES.items():
        for key in _name_keys(alias):
            plain.setdefault(key, code)
    ours = [plain[normalise(name)] for name in COUNTRIES]  # KeyError: a schema name ISO lacks
    assert len(set(ours)) == len(ours), "schema.COUNTRIES names each ISO record once"
    rest = {
        code: getattr(r, "common_name", r.name) for code, r in records.items() if code not in ours
    }
    order = sorted(rest, key=lambda code: normalise(rest[code]))
    return (*ours, *order), (*COUNTRIES, *(rest[code] for code in order))


ALPHA_2, COUNTRY_NAMES = _display_names()
_INDEX: dict[str, int] = {code: i for i, code in enumerate(ALPHA_2)}
assert len(set(map(normalise, COUNTRY_NAMES))) == len(COUNTRY_NAMES)

_AMBIGUOUS = -2  # an exact key naming more than one country


def _add(table: dict[str, int], key: str, index: int) -> None:
    table[key] = index if table.get(key, index) == index else _AMBIGUOUS


def _tables() -> tuple[dict[str, int], dict[str, int]]:
    """(exact names -> index, codes and abbreviations -> index)."""
    names: dict[str, int] = {}
    codes: dict[str, int] = {}
    for record in pycountry.countries:
        index = _INDEX[record.alpha_2]
        _add(codes, record.alpha_2.casefold(), index)
        _add(codes, record.alpha_3.casefold(), index)
        for attribute in _NAME_ATTRIBUTES:
            if hasattr(record, attribute):
                for key in _name_keys(getattr(record, attribute)):
                    _add(names, key, index)
    for name, code in ALIASES.items():
        for key in _name_keys(name):
            _add(names, key, _INDEX[code])
    for abbreviation, code in ABBREVIATIONS.items():
        _add(codes, normalise(abbreviation), _INDEX[code])
    for index, name in enumerate(COUNTRY_NAMES):
        for key in _name_keys(name):
            _add(names, key, index)
    for name in AMBIGUOUS_NAMES:
        for key in _name_keys(name):
            names[key] = _AMBIGUOUS
    assert all(len(k) > _CODE_LENGTH for k in names), "names are longer than codes"
    assert all(len(k) <= _CODE_LENGTH for k in codes), "codes are short"
    return names, codes


_NAMES, _CODES = _tables()
assert all(_NAMES[normalise(n)] == i for i, n in enumerate(COUNTRY_NAMES)), "canonical is exact"
_FUZZY_KEYS: tuple[str, ...] = tuple(k for k, i in _NAMES.items() if i != _AMBIGUOUS)
_FUZZY_INDEX: tuple[int, ...] = tuple(_NAMES[k] for k in _FUZZY_KEYS)


@functools.lru_cache(maxsize=1 << 16)
def canonical_country(text: str) -> tuple[int, int]:
    """(index into COUNTRY_NAMES, OK) for a value naming one country; else (-1, INVALID/AMBIGUOUS).

    Confident typo repair: within one edit (two for 8+ characters) of a country's nearest name and
    at most half as far as any other country's nearest name.
    """
    key = normalise(text)
    if len(key) <= _CODE_LENGTH:
        index = _CODES.get(key, -1)
        return (index, OK) if index >= 0 else (-1, INVALID)
    variant = _variant(key)
    exact = _NAMES.get(key, _NAMES.get(variant))
    if exact is not None:
        return (exact, OK) if exact >= 0 else (-1, AMBIGUOUS)
    limit = 1 if len(key) < 8 else 2
    nearest: dict[int, int] = {}  # country index -> distance to its nearest name
    for query in {key, variant}:
        near = process.extract(
            query,
            _FUZZY_KEYS,
            scorer=DamerauLevenshtein.distance,
            score_cutoff=2 * limit,
            limit=None,
        )
        for _, distance, position in near:
            index = _FUZZY_INDEX[position]
            nearest[index] = min(distance, nearest.get(index, distance))
    if not nearest:
        return -1, INVALID
    best = min(nearest, key=nearest.__getitem__)
    if nearest[best] > limit:
        return -1, INVALID
    runner_up = min((d for i, d in nearest.items() if i != best), default=math.inf)
    if runner_up < 2 * nearest[best] or _names_another(key, best):
        return -1, AMBIGUOUS
    return best, OK


def _names_another(key: str, index: int) -> bool:
    """Does `key` hold, word for word, the exact name of a country other than `index`? Then a
    one-edit repair would change which country it names: "Republic of Ireland" (an alias too) is
    one edit from Iceland's official name, "Republic of Iceland", but holds "Ireland"."""
    words = key.split()
    spans = (" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))
    return any(_NAMES.get(span, index) not in (index, -1) for span in spans)


def _regions() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(REGIONS, SUB_REGIONS) aligned with COUNTRY_NAMES, from country_regions.csv."""
    text = resources.files("pipeline").joinpath("country_regions.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    by_code = {row["alpha_2"]: (row["region"], row["sub_region"]) for row in rows}
    missing = set(ALPHA_2) - set(by_code)
    assert not missing, f"country_regions.csv lacks {sorted(missing)}"
    pairs = [by_code[code] for code in ALPHA_2]
    assert all(r in M49_REGIONS or (r, s) == ("", "") for r, s in pairs), "unknown M49 region"
    return tuple(r for r, _ in pairs), tuple(s for _, s in pairs)


REGIONS, SUB_REGIONS = _regions()


def _checked(index: int) -> int:
    if not 0 <= index < len(COUNTRY_NAMES):
        raise IndexError(f"no country has index {index}")
    return index


def region_of(index: int) -> str:
    """The UN M49 region of COUNTRY_NAMES[index] ("" for Antarctica)."""
    return REGIONS[_checked(index)]


def sub_region_of(index: int) -> str:
    """The UN M49 sub-region of COUNTRY_NAMES[index] ("" for Antarctica)."""
    return SUB_REGIONS[_checked(index)]


_REGION_BY_NAME: dict[str, str] = dict(zip(COUNTRY_NAMES, REGIONS, strict=True))


def region_of_name(name: str) -> str:
    """The region of a canonical country name (as the cleaner writes it); "Unknown" for a name
    that is not one (data cleaned by an older rule set)."""
    return _REGION_BY_NAME.get(name) or "Unknown"
