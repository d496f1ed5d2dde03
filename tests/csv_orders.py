"""Generated orders as a CSV export: the unit and integration tests of CSV input share them."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.schema import FIELDS

NUMBER_FIELDS = ("Age", "Quantity", "TotalAmount", "Price")


def csv_shaped(lines: list[str]) -> list[str]:
    """The lines a CSV can hold as they are: JSON objects of text and nulls, numbers in the
    number fields (a list, a boolean, a number in a text or date field, or a line that is not an
    object has no CSV form that means the same)."""

    def fits(field: str, value: Any) -> bool:
        if value is None or isinstance(value, str):
            return True
        number = type(value) in (int, float) and value == value and abs(value) < 1e15
        return number and field in NUMBER_FIELDS

    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and all(fits(f, record.get(f)) for f in FIELDS):
            kept.append(line)
    return kept


def write_csv(
    lines: list[str],
    path: Path,
    columns: Sequence[str] = FIELDS,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """JSON-object lines as CSV records: text as it is, numbers as JSON writes them, null empty."""
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.DictWriter(out, list(columns), delimiter=delimiter, extrasaction="ignore")
        writer.writeheader()
        for line in lines:
            record = json.loads(line)
            writer.writerow({f: cell(record.get(f)) for f in columns})
    return path


def cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
