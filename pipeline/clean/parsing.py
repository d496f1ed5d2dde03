"""Raw lines -> parsed columns: one row per line, never raising; what is not a JSON object gets a
reason."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from pipeline.schema import FIELDS


def parse_lines(lines: pd.Series | Iterable[Any]) -> pd.DataFrame:
    """Raw JSON lines -> one row per line with the FIELDS as parsed (object), `raw`, `parse_error`.

    Never raises: a line that is not a JSON object keeps its text in `raw` and gets a reason code.
    """
    return pd.DataFrame(parse_columns(lines), columns=list(RAW_COLUMNS))


RAW_COLUMNS: tuple[str, ...] = (*FIELDS, "raw", "parse_error")


def parse_columns(lines: pd.Series | Iterable[Any]) -> dict[str, np.ndarray]:
    """parse_lines' columns as object arrays (clean_lines skips building the frame)."""
    values = lines.tolist() if isinstance(lines, pd.Series) else list(lines)
    rows, raws, errors = _parse_all(values)
    n = len(values)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in FIELDS]
    data = {f: np.fromiter(c, dtype=object, count=n) for f, c in zip(FIELDS, columns, strict=True)}
    data["raw"] = np.fromiter(raws, dtype=object, count=n)
    data["parse_error"] = np.fromiter(errors, dtype=object, count=n)
    return data


def _parse_all(values: list[Any]) -> tuple[list[tuple[Any, ...]], list[Any], list[str | None]]:
    """Per line: the FIELDS values, the text to keep as `raw`, and the parse error (or None)."""
    n = len(values)
    decode, fields_of = _DECODE_ROW, msgspec.structs.astuple
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    raws: list[Any] = list(values)
    errors: list[str | None] = [None] * n
    for i, line in enumerate(values):
        # Fast path: a str holding exactly one JSON object with every field; else the exact path.
        try:
            if type(line) is not str:
                raise TypeError
            append(fields_of(decode(line)))
        except (ValueError, TypeError, RecursionError):  # msgspec.DecodeError is a ValueError
            record, raws[i], errors[i] = _parse_one(line)
            append(_NO_FIELDS if record is None else tuple(record.get(f) for f in FIELDS))
    if not all(type(r) is str and r.isascii() for r in raws):
        raws = [r if r is None else safe_text(r) for r in raws]
    return rows, raws, errors


# The fast path's decoder: FIELDS of one JSON object, other keys skipped, in C (1.5 µs a line
# against 3.6 for json's scanner and a dict). It refuses what json reads in its own way (NaN,
# 1e400, lone surrogates, text UTF-8 cannot hold, a missing field): those lines take the exact
# path, through json, so every line reads as json.loads reads it (tests/unit/test_clean.py).
_DECODE_ROW = msgspec.json.Decoder(msgspec.defstruct("Fields", [(f, Any) for f in FIELDS])).decode
_NO_FIELDS: tuple[None, ...] = (None,) * len(FIELDS)


def _parse_one(line: Any) -> tuple[dict[str, Any] | None, str | None, str | None]:
    if isinstance(line, bytes | bytearray):
        try:
            line = bytes(line).decode("utf-8")
        except UnicodeDecodeError:
            return None, bytes(line).decode("utf-8", "backslashreplace"), "malformed_json"
    if not isinstance(line, str):
        return None, None if line is None else safe_text(repr(line)), "not_text"
    try:
        value = json.loads(line)
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)  # encoded twice
    except (ValueError, RecursionError):
        return None, safe_text(line), "malformed_json"
    if not isinstance(value, dict):
        return None, safe_text(line), "not_an_object"
    return value, safe_text(line), None


def safe_text(text: str) -> str:
    """Text that can be written as UTF-8 (lone surrogates escaped)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
