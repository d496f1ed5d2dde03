"""CSV input: a CSV file with a header -> JSON lines the rule set reads, streamed.

- The header names the columns, in any order; names are matched to pipeline.schema.FIELDS after
  stripping spaces, case-insensitively. A field the header lacks is null in every record (the
  rule set decides, e.g. ``missing_<field>``); a header naming none of the fields, or one column
  twice, is a ValueError (naming the missing fields) before anything is written. Other columns
  are kept under their own names (unnamed ones as ``_column_<n>``).
- The delimiter is ``,``, ``;`` or tab: the one that splits the header into the most known
  fields (then the most columns). Quoted fields may hold delimiters, quotes and newlines.
- UTF-8, with or without a byte-order mark. Bytes that are not UTF-8 are kept as escapes of lone
  surrogates, which the rule set rejects as invalid, so such a row is quarantined, not guessed.
- One JSON object per record, keys in header order (then the fields the header lacks, null): an
  empty cell is null, any other cell its text (the rule set reads numbers and IDs given as
  text). A record with more cells than the header keeps the extras, in order, as a list under
  ``_extra`` (ignored by the rules, kept in a quarantined row's raw line); one with fewer has
  null for the rest. Blank lines are skipped.
- Memory stays bounded by one record (a field may hold up to FIELD_LIMIT characters: an unclosed
  quote stops the conversion with the line number instead of reading the rest into memory).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.schema import FIELDS

DELIMITERS = (",", ";", "\t")
EXTRA_KEY = "_extra"
FIELD_LIMIT = 8 << 20  # characters in one field
CSV_SUFFIXES = frozenset({".csv", ".tsv"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
FORMATS = ("jsonl", "csv")
_BUFFER = 1 << 20
_SNIFF_BYTES = 1 << 16

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_dumps_ascii = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


@dataclass(frozen=True)
class Converted:
    """What csv_to_lines wrote: records, the delimiter found, the header, records with extras."""

    records: int
    delimiter: str
    columns: tuple[str, ...]
    with_extra_cells: int


def detect_format(path: Path) -> str:
    """The input's format: csv for .csv/.tsv, jsonl for .jsonl/.ndjson/.json; else by the first
    non-blank byte ("{": jsonl, anything else: csv; an empty file is jsonl)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    with path.open("rb") as handle:
        while chunk := handle.read(_SNIFF_BYTES):
            text = chunk.removeprefix(b"\xef\xbb\xbf").lstrip()
            if text:
                return "jsonl" if text.startswith(b"{") else "csv"
    return "jsonl"


def detect_delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most known fields, then most columns."""

    def score(delimiter: str) -> tuple[int, int, int]:
        names = next(csv.reader([header], delimiter=delimiter), [])
        known = len({_canonical_name(n) for n in names} & set(FIELDS))
        return known, len(names), -DELIMITERS.index(delimiter)

    return max(DELIMITERS, key=score)


_FIELD_BY_FOLDED = {f.casefold(): f for f in FIELDS}


def _canonical_name(name: str) -> str:
    name = name.strip()
    return _FIELD_BY_FOLDED.get(name.casefold(), name)


def header_columns(names: list[str]) -> tuple[str, ...]:
    """Header cells -> column names (FIELDS spelled as in the contract); checks the header."""
    columns = tuple(_canonical_name(n) or f"_column_{i}" for i, n in enumerate(names, start=1))
    missing = missing_fields(columns)
    if len(missing) == len(FIELDS):
        raise ValueError(
            f"CSV header lacks every expected field: {', '.join(missing)}; found columns "
            f"{list(columns)}. Name at least one of them (any order; fields left out are null)."
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"CSV header names the column(s) {', '.join(repeated)} more than once")
    return columns


def missing_fields(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The FIELDS a header lacks (null in every record)."""
    return tuple(f for f in FIELDS if f not in columns)


def read_records(
    lines: Iterable[str], delimiter: str | None = None
) -> tuple[str, tuple[str, ...], Iterator[dict[str, Any]]]:
    """(delimiter, columns, records) from CSV text lines (header first).

    The header is read and checked now; the records are produced one at a time as the lines are.
    """
    rest = iter(lines)
    header = next((line for line in rest if line.strip()), None)
    if header is None:
        raise ValueError("CSV input is empty: expected a header line naming the fields")
    header = header.removeprefix("\ufeff")
    delimiter = delimiter or detect_delimiter(header.rstrip("\r\n"))
    reader = csv.reader(itertools.chain([header], rest), delimiter=delimiter)
    columns = header_columns(next(reader))
    return delimiter, columns, _records(reader, columns)


def _records(reader: Any, columns: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    width = len(columns)
    absent = dict.fromkeys(missing_fields(columns))  # after the header's keys, always null
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValueError(f"CSV line {reader.line_num}: {error}") from None
        if not cells:
            continue  # a blank line
        record: dict[str, Any] = dict.fromkeys(columns)
        record.update(zip(columns, (c or None for c in cells[:width]), strict=False))
        record.update(absent)
        if len(cells) > width:
            record[EXTRA_KEY] = [c or None for c in cells[width:]]
        yield record


def record_line(record: dict[str, Any]) -> str:
    """One record as a JSON line (no newline); text that is not UTF-8 is written as escapes."""
    line = _dumps(record)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = _dumps_ascii(record)
    return line


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def csv_to_lines(source: Path, target: Path, delimiter: str | None = None) -> Converted:
    """Stream the CSV file `source` into the JSON-lines file `target` (see the module doc)."""
    with (
        _field_limit(FIELD_LIMIT),
        source.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle,
    ):
        try:
            delimiter, columns, records = read_records(handle, delimiter)
        except (ValueError, csv.Error) as error:
            raise ValueError(f"{source}: {error}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        written = extra = 0
        with target.open("w", encoding="utf-8", newline="\n", buffering=_BUFFER) as out:
            try:
                for record in records:
                    out.write(record_line(record) + "\n")
                    written += 1
                    extra += EXTRA_KEY in record
            except ValueError as error:
                out.close()
                target.unlink(missing_ok=True)
                raise ValueError(f"{source}: {error}") from None
    return Converted(written, delimiter, columns, extra)


def as_json_lines(path: Path, folder: Path, input_format: str | None = None) -> Path:
    """The input as a JSON-lines file: `path` itself, or a CSV converted once into
    `folder`/input.jsonl. `input_format` "jsonl" or "csv"; None: detect_format."""
    input_format = input_format or detect_format(path)
    if input_format not in FORMATS:
        raise ValueError(f"input format {input_format!r}: expected one of {FORMATS}")
    if input_format == "jsonl":
        return path
    target = folder / "input.jsonl"
    csv_to_lines(path, target)
    return target
