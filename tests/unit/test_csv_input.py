"""CSV input: a header in any order, extras kept, quoting, BOM, delimiters, streamed."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from csv_orders import csv_shaped, write_csv
from hypothesis import given
from pandas.testing import assert_frame_equal
from strategies import clean_batches

from pipeline.clean import clean_lines
from pipeline.csv_input import (
    EXTRA_KEY,
    FIELD_LIMIT,
    Converted,
    as_json_lines,
    csv_to_lines,
    detect_delimiter,
    detect_format,
    read_records,
)
from pipeline.generate import generate_orders
from pipeline.schema import FIELDS

pytestmark = pytest.mark.unit

ROW = {
    "row_key": "a", "CustomerID": "C1", "Name": "Ada Lovelace", "Age": "36",
    "Country": "United Kingdom", "RegistrationDate": "2023-01-10", "OrderDate": "2024-03-15",
    "Quantity": "2", "TotalAmount": "49.98", "ProductID": "P001", "ProductName": "Wireless Mouse",
    "Category": "Electronics", "Price": "24.99", "ShippingAddress": "1 Analytical Way, London",
    "ShippingDate": "2024-03-18",
}  # fmt: skip


def csv_text(rows: list[dict[str, Any]], columns: list[str], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, columns, delimiter=delimiter, lineterminator="\r\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def convert(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> list[dict[str, Any]]:
    source = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    source.write_bytes(text)
    csv_to_lines(source, tmp_path / "out.jsonl")
    return [json.loads(line) for line in lines_of(tmp_path / "out.jsonl")]


def lines_of(path: Path) -> list[str]:
    """The file's lines as the pipeline splits them (on \\n only)."""
    text = path.read_text("utf-8")
    assert text.endswith("\n") or not text
    return text.split("\n")[:-1]


def test_columns_in_any_order_become_the_same_records(tmp_path: Path) -> None:
    columns = sorted(FIELDS, reverse=True)
    records = convert(tmp_path, csv_text([ROW, {**ROW, "row_key": "b"}], columns))
    assert records == [ROW, {**ROW, "row_key": "b"}]
    assert list(records[0]) == columns  # header order kept


def test_empty_cells_are_null_and_text_stays_text(tmp_path: Path) -> None:
    (record,) = convert(tmp_path, csv_text([{**ROW, "Age": "", "Price": "$1,234.50"}], [*FIELDS]))
    assert record["Age"] is None and record["Price"] == "$1,234.50" and record["Quantity"] == "2"


def test_extra_columns_are_kept_and_ignored_by_the_rule_set(tmp_path: Path) -> None:
    columns = ["Coupon", *FIELDS, "Notes"]
    (record,) = convert(tmp_path, csv_text([{**ROW, "Coupon": "X1", "Notes": ""}], columns))
    assert record["Coupon"] == "X1" and record["Notes"] is None
    assert len(clean_lines([json.dumps(record)]).clean) == 1


def test_more_cells_than_the_header_go_to_extra_fewer_are_null(tmp_path: Path) -> None:
    header = ",".join(FIELDS)
    full = ",".join(f'"{ROW[f]}"' for f in FIELDS)
    short = ",".join(f'"{ROW[f]}"' for f in FIELDS[:3])
    records = convert(tmp_path, f"{header}\n{full},surplus,,more\n{short}\n")
    assert records[0][EXTRA_KEY] == ["surplus", None, "more"]
    assert {k: records[0][k] for k in FIELDS} == ROW
    assert records[1] == {**dict.fromkeys(FIELDS), **{f: ROW[f] for f in FIELDS[:3]}}
    # The extras do not change the judgement of the known keys.
    result = clean_lines([json.dumps(r) for r in records])
    assert len(result.clean) == 1 and len(result.quarantine) == 1


def test_quoted_fields_keep_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    address = 'Flat 2, "The Mill"\nLong Lane;\tLeeds'
    (record,) = convert(tmp_path, csv_text([{**ROW, "ShippingAddress": address}], [*FIELDS]))
    assert record["ShippingAddress"] == address
    clean = clean_lines([json.dumps(record)]).clean
    assert clean["ShippingAddress"].tolist() == [address]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_utf8_with_or_without_bom_and_each_delimiter(
    tmp_path: Path, bom: bytes, delimiter: str
) -> None:
    row = {**ROW, "Name": "Zoë Ñúñez", "Price": "24,99", "ShippingAddress": "Rue 1, Paris"}
    text = csv_text([row], [*FIELDS], delimiter)
    assert detect_delimiter(text.splitlines()[0]) == delimiter
    records = convert(tmp_path, bom + text.encode("utf-8"))
    assert records == [row]
    assert "row_key" in records[0]  # the BOM is not part of the first name


def test_header_names_are_matched_after_stripping_and_case_folding(tmp_path: Path) -> None:
    header = ",".join(f" {f.lower()} " for f in FIELDS)
    (record,) = convert(tmp_path, header + "\n" + ",".join(f'"{ROW[f]}"' for f in FIELDS) + "\n")
    assert record == ROW


def test_fields_the_header_lacks_are_null_and_the_rules_decide(tmp_path: Path) -> None:
    columns = [f for f in FIELDS if f not in ("Price", "ShippingAddress")]
    (record,) = convert(tmp_path, csv_text([ROW], columns))
    assert list(record) == [*columns, "Price", "ShippingAddress"]
    assert record == {**ROW, "Price": None, "ShippingAddress": None}
    result = clean_lines([json.dumps(record)])  # the sale kept, the address set aside
    assert result.quarantine.empty
    assert result.clean["quality_flags"].tolist() == ["missing_shipping_address"]


def test_a_header_without_any_expected_field_is_refused_before_any_work(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,amount,when\n1,2,3\n")
    with pytest.raises(ValueError, match="lacks every expected field: CustomerID, Name") as error:
        csv_to_lines(source, tmp_path / "out.jsonl")
    assert str(source) in str(error.value) and "ShippingDate" in str(error.value)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("\n\n", "empty"), (",".join([*FIELDS, "Price"]) + "\n", "more than once")],
)
def test_an_empty_file_or_a_repeated_column_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text(text)
    with pytest.raises(ValueError, match=message):
        csv_to_lines(source, tmp_path / "out.jsonl")


def test_an_unclosed_quote_stops_with_the_line_instead_of_reading_everything(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in.csv"
    with source.open("w") as out:
        out.write(",".join(FIELDS) + "\n" + ",".join(ROW[f] for f in FIELDS[:5]) + '\n"unclosed,')
        out.write("x" * (FIELD_LIMIT + 10))
    before = csv.field_size_limit()
    with pytest.raises(ValueError, match=r"CSV line 3: field larger than field limit"):
        csv_to_lines(source, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert csv.field_size_limit() == before


def test_bytes_that_are_not_utf8_reach_the_rule_set_as_invalid_text(tmp_path: Path) -> None:
    text = csv_text([{**ROW, "Name": "NAME"}], [*FIELDS]).encode().replace(b"NAME", b"Bad\xff")
    (record,) = convert(tmp_path, text)
    assert clean_lines([json.dumps(record)]).clean["quality_flags"].tolist() == ["invalid_name"]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    text = csv_text([ROW], [*FIELDS])
    assert convert(tmp_path, "\n" + text + "\n\n") == [ROW]


def test_records_stream_one_at_a_time_from_a_generator() -> None:
    """Bounded: the converter reads lines only as records are asked for (an endless source)."""
    consumed = 0

    def endless() -> Iterator[str]:
        nonlocal consumed
        consumed += 1
        yield ",".join(FIELDS) + "\r\n"
        for i in itertools.count():
            consumed += 1
            yield ",".join(f'"k{i}"' if f == "row_key" else f'"{ROW[f]}"' for f in FIELDS) + "\n"

    delimiter, columns, records = read_records(endless())
    assert (delimiter, columns, consumed) == (",", FIELDS, 1)
    first = list(itertools.islice(records, 3))
    assert [r["row_key"] for r in first] == ["k0", "k1", "k2"]
    assert consumed <= 4


def test_csv_to_lines_reports_what_it_wrote(tmp_path: Path) -> None:
    source = tmp_path / "in.tsv"
    text = csv_text([ROW, ROW], [*FIELDS], "\t")
    source.write_text(text + "\t".join(ROW[f] for f in FIELDS) + "\textra\r\n", newline="")
    summary = csv_to_lines(source, tmp_path / "out.jsonl")
    assert summary == Converted(3, "\t", FIELDS, 1)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [("a.csv", '{"row_key": 1}', "csv"), ("a.TSV", "x", "csv"), ("a.jsonl", "x,y", "jsonl"),
     ("a.txt", '\ufeff  \n {"row_key": "a"}', "jsonl"), ("a.txt", "row_key,Name", "csv"),
     ("a", "[1, 2]", "csv"), ("a.dat", "", "jsonl")],
)  # fmt: skip
def test_detect_format(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert detect_format(path) == expected


def test_as_json_lines_converts_a_csv_once_and_passes_json_lines_through(tmp_path: Path) -> None:
    lines = tmp_path / "orders.jsonl"
    lines.write_text(json.dumps(ROW) + "\n")
    assert as_json_lines(lines, tmp_path / "work") == lines
    source = tmp_path / "orders.csv"
    source.write_text(csv_text([ROW], [*FIELDS]))
    converted = as_json_lines(source, tmp_path / "work")
    assert converted == tmp_path / "work" / "input.jsonl"
    assert [json.loads(s) for s in lines_of(converted)] == [ROW]
    assert as_json_lines(source, tmp_path / "work", "jsonl") == source  # --format wins
    with pytest.raises(ValueError, match="input format 'xml'"):
        as_json_lines(source, tmp_path, "xml")


@given(clean_batches())
def test_generated_records_as_csv_clean_like_their_json_lines(records: list[dict]) -> None:
    """Every value as text (how a CSV holds it): the same clean rows as the JSON numbers."""
    text = csv_text(records, [*FIELDS])
    _, _, converted = read_records(io.StringIO(text, newline=""))
    from_csv = clean_lines([json.dumps(r) for r in converted])
    from_json = clean_lines([json.dumps(r) for r in records])
    assert_frame_equal(from_csv.clean, from_json.clean)


def test_messy_generated_orders_as_csv_clean_like_their_json_lines(tmp_path: Path) -> None:
    lines = csv_shaped(generate_orders(3_000, seed=7, error_rate=0.3).lines)
    source, target = tmp_path / "orders.csv", tmp_path / "orders.jsonl"
    write_csv(lines, source)
    assert csv_to_lines(source, target).records == len(lines)
    from_csv, from_json = clean_lines(lines_of(target)), clean_lines(lines)
    assert_frame_equal(from_csv.clean, from_json.clean)
    reasons = ["row_key", "reason"]
    assert_frame_equal(from_csv.quarantine[reasons], from_json.quarantine[reasons])
    assert from_csv.duplicates == from_json.duplicates > 0
