"""The one cleaning rule set: raw JSON lines -> typed clean rows + quarantined rows with a reason.

This module is its interface; the package holds its parts along their seams: `fields` (field
groups, reason and flag codes), `parsing` (lines -> columns), `values` (value converters),
`rules` (the checks per row) and `assembly` (statistics, clean and quarantine frames).

Pure (pandas, numpy, rapidfuzz). The unit tests, hypothesis, `pipeline clean` and the Spark
transform (check_lines per batch, then the duplicate rule and fill_stats across batches) all call
these functions; the streaming job lands raw lines as they came, for this rule set to judge.

Rules, field by field (what cannot be repaired with confidence is quarantined, never guessed):

- Line: not JSON -> ``malformed_json``; JSON but not an object -> ``not_an_object``; not text ->
  ``not_text``. A JSON string holding one JSON object (a line encoded twice, a common producer
  bug) is read as that object. Unknown keys are ignored. A field holding a JSON list, object or
  boolean, or a non-string in a text field -> ``wrong_type_<field>``.
- Text fields (row_key, CustomerID, Name, ShippingAddress): surrounding whitespace stripped; absent,
  null or blank -> ``missing_<field>``; not encodable as UTF-8 -> ``invalid_<field>`` (for Name and
  ShippingAddress these are flags, see "Set aside" below). The IDs
  (row_key, CustomerID, and ProductID before its catalogue lookup) may also be a JSON integer or a
  whole float within +-2**53: its decimal text, ``12345`` / ``12345.0`` -> ``"12345"`` (beyond
  +-2**53 -> ``invalid_<field>``; a fraction, boolean, list or object -> ``wrong_type_<field>``).
  Name and ShippingAddress given as numbers -> ``wrong_type_<field>`` (pipeline.number_forms).
- Numbers may be JSON numbers or text (pipeline.number_forms.parse_number): ``"42"``, ``" 42 "``,
  an optional sign and one currency sign or code before or after (``$ € £``, ``USD EUR GBP CHF``):
  ``"$1,234.50"``, ``"12.00 €"``, ``"USD 12.00"``; thousands grouping by ``,`` ``.`` spaces (also
  no-break and thin) or apostrophes, each group 3 digits after a first group of 1-3 not starting
  with 0, with the other of ``.``/``,`` once as decimal mark: ``"1 234.50"``, ``"1'234.50"``,
  ``"1.234,50"``, ``"1 234,50"``; a single comma as decimal mark unless followed by exactly 3
  digits: ``"12,50"``. Exact rule for the one form both ways are used: a single dot is a decimal
  point (``"1.234"`` -> 1.234) and a single comma followed by exactly three digits after a valid
  first group is grouping (``"1,234"`` -> 1234; ``"0,125"`` -> 0.125). Digits joined by
  separators any other way (``"1,234,5"``, ``"1,23,456"``, ``"1.234.567,8.9"``) -> AMBIGUOUS,
  never guessed: ``ambiguous_quantity`` / ``ambiguous_price`` (ambiguous Age is filled and an
  ambiguous TotalAmount ignored, as invalid ones are); anything else (``"abc"``, ``"1e3"``) is
  invalid.
- Age: an integer in [AGE_MIN, AGE_MAX]; missing or invalid -> the batch statistics' median age
  (rounded half up). AgeGroup follows from Age.
- Country (pipeline.countries): any ISO 3166-1 country or territory by its ISO name, official
  name, common name, alpha-2 or alpha-3 code (``DE``, ``GBR``, ``U.S.A.``), or a listed alias
  (``UK``, ``Great Britain``, ``Deutschland``, ``Russia``, ...); case, accents, dots and
  whitespace are normalised. Out: the canonical name (the 30 names of schema.COUNTRIES unchanged,
  else ISO's common or short name). A typo of a name is repaired by the rule below (codes never);
  a value about as close to two countries as to one (``Nigera``: Niger or Nigeria?) or a name of
  several (``Korea``) -> ``ambiguous_country``; else ``unknown_country``. Missing ->
  ``missing_country``.
- Region: the UN M49 region of the Country (Africa, Americas, Asia, Europe, Oceania; "" for
  Antarctica), from pipeline/country_regions.csv.
- Category / ProductName: case and whitespace are normalised; a value within one edit
  (two for values of 8+ characters) of exactly one vocabulary entry (the catalogue's categories /
  product names), and at most half as far as the runner-up, is mapped to it; else
  ``unknown_<field>``.
- Product: resolved against a catalogue (pipeline.catalogue.Catalogue: schema.CATALOGUE unless
  the caller passes another shop's, e.g. read from a CSV or Parquet file). ProductID (compared
  case-insensitively) and ProductName must name the same catalogue product (``product_mismatch``);
  either one alone is enough and the other is restored. Unknown id -> ``unknown_product_id``;
  neither -> ``missing_product``. Category: missing -> the product's; different ->
  ``category_mismatch``. Price: missing or not positive -> the catalogue price; a positive price
  differing from the catalogue -> ``price_mismatch`` (we cannot tell which side is wrong).
- Quantity: an integer in [1, QUANTITY_MAX]; missing or invalid -> TotalAmount / Price when that is
  a whole number within range that reproduces TotalAmount exactly; else ``missing_quantity`` /
  ``invalid_quantity``.
- TotalAmount: always round(Quantity * Price, 2) (the raw value only serves to recover Quantity).
- Dates (pipeline.date_forms): year-first dates (``-``, ``/``, ``.``, compact ``YYYYMMDD``),
  ISO-8601 timestamps with or without a zone (the date in UTC; no zone is taken as UTC), day-first
  ``DD.MM.YYYY``, ``MM/DD/YYYY`` or ``DD/MM/YYYY`` only when unambiguous (one part > 12, or both
  equal), English month names (``March 15, 2024``, ``15 Mar 2024``, ``15-Mar-2024``,
  ``March 15th, 2024``, with or without a weekday, RFC 2822). Missing -> ``missing_<field>``;
  unparseable, a bad time or a weekday that is not the date's -> ``invalid_<field>``; a
  calendar-impossible date (2024-02-30, or a UTC date outside 0001..9999) ->
  ``impossible_<field>``; slashes with both parts in 1..12 and different -> ``ambiguous_<field>``,
  unless the same input decides its order: at least 20 of its rows hold a slash date only
  day-first (``25/03/2024``) or only month-first (``03/25/2024``) can read, and at most 1 % of
  that number the other way (date_forms.day_first_of); then every slash date is read that way.
  OrderDate < RegistrationDate -> ``order_before_registration``; ShippingDate < OrderDate ->
  ``shipped_before_order`` (never repaired: which date is wrong is unknown).
- Customer-consistent repair: a missing or broken Name, Age, Country or RegistrationDate (any
  status but OK: missing, invalid, ambiguous, impossible, wrong type) is taken from the same
  CustomerID's other orders when every valid value they hold for it agrees (one distinct value);
  otherwise the rules above and below apply (Age: the median; Name: set aside; Country and
  RegistrationDate: quarantined). check_lines marks such rows `pending` and keeps their line; the
  caller gathers the agreed values over the whole input (agreed_customers) and passes them back
  (`known`) for those rows. clean_lines and clean_batch do both passes themselves.
- Set aside, the order kept: a Name or ShippingAddress that is missing, invalid or of the wrong
  type, and a ShippingDate that is (missing, invalid, impossible, ambiguous, wrong type, or before
  the OrderDate - the OrderDate is taken as the sound one when it is not before the
  RegistrationDate), become null and the row's ``quality_flags`` names each (the reason code the
  value would have had, e.g. ``missing_name,shipped_before_order``; "" when nothing was set
  aside). Such an order's sale still counts everywhere.
- Row key: the HBase row key built from CustomerID, OrderDate and row_key (pipeline.hbase_codec)
  longer than HBase allows (32,767 bytes) -> ``row_key_too_long``.
- Duplicates: among rows that pass, only the first of each row_key is kept; the rest are counted.
- TotalAmountNormalized = (TotalAmount - total_min) / (total_max - total_min), clipped to [0, 1]
  (0 when max <= min).

A row gets the first failing reason in the order above (line, row_key, wrong types, text fields,
country, product, category, price, quantity, dates, date order).
"""

from pipeline.clean.assembly import (
    CHECKED_TYPES,
    QUARANTINE_TEXT,
    STATS_COLUMNS,
    CleanResult,
    CleanStats,
    agreed_customers,
    check_lines,
    checked_arrays,
    clean_batch,
    clean_lines,
    compute_stats,
    fill_age,
    fill_stats,
    normalise_totals,
    slash_tally,
    stat_inputs,
)
from pipeline.clean.fields import (
    CUSTOMER_FIELDS,
    DEFAULT_AGE_MEDIAN,
    FLAG_FIELDS,
    FLAGS,
    QUANTITY_MAX,
    REASONS,
    SET_ASIDE_FIELDS,
)
from pipeline.clean.parsing import parse_lines
from pipeline.clean.rules import AGE_GROUP_LOWER, age_groups

__all__ = [
    "AGE_GROUP_LOWER",
    "CHECKED_TYPES",
    "CUSTOMER_FIELDS",
    "DEFAULT_AGE_MEDIAN",
    "FLAGS",
    "FLAG_FIELDS",
    "QUANTITY_MAX",
    "QUARANTINE_TEXT",
    "REASONS",
    "SET_ASIDE_FIELDS",
    "STATS_COLUMNS",
    "CleanResult",
    "CleanStats",
    "age_groups",
    "agreed_customers",
    "check_lines",
    "checked_arrays",
    "clean_batch",
    "clean_lines",
    "compute_stats",
    "fill_age",
    "fill_stats",
    "normalise_totals",
    "parse_lines",
    "slash_tally",
    "stat_inputs",
]
