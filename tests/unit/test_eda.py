"""The EDA report: sums over any chunking equal the whole, the order value bands, and one
self-contained HTML file that escapes what the data holds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_data import clean_orders
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import LocalSource, create_app
from dashboard.eda_report import CHARTS, render
from pipeline import aggregate
from pipeline.eda import ORDER_VALUE_EDGES, EdaTotals, band_labels, order_value_counts

pytestmark = pytest.mark.unit
ORDERS = clean_orders(rows=900)


def summed(cuts: list[int]) -> EdaTotals:
    totals = EdaTotals()
    bounds = [0, *sorted(cuts), len(ORDERS)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        totals.add(ORDERS.iloc[start:end])
    return totals


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, len(ORDERS)), max_size=6))
def test_any_chunking_sums_to_the_aggregates_of_the_whole(cuts: list[int]) -> None:
    totals = summed(cuts)
    whole = aggregate.build_aggregates(ORDERS)
    assert totals.rows == len(ORDERS)
    for name in ("cube", "ages", "products"):
        pd.testing.assert_frame_equal(
            totals.parts[name].reset_index(drop=True), whole[name], check_dtype=False, obj=name
        )
    assert totals.order_values.sum() == len(ORDERS)
    np.testing.assert_array_equal(totals.order_values, order_value_counts(ORDERS["TotalAmount"]))


def test_order_values_fall_in_half_open_bands() -> None:
    counts = order_value_counts(pd.Series([0.01, 9.99, 10.0, 24.99, 10_000.0, 1e9]))
    assert counts.tolist()[:3] == [2, 2, 0] and counts[-1] == 2
    assert len(band_labels()) == len(ORDER_VALUE_EDGES) and band_labels()[-1] == "10,000+"


def manifest() -> dict:
    return {
        "run_id": "run-7",
        "status": "succeeded",
        "stages": [
            {"name": "transform", "rows_in": 950, "rows_out": 900, "seconds": 1.5,
             "detail": {"quarantined_by_reason": {"malformed_json": 40, "unknown_country": 10}}},
        ],
        "reconciliation": {"raw = clean + quarantined + duplicates":
                           {"expected": 950, "actual": 950, "ok": True}},
        "gates": [{"dataset": "clean", "success": True}],
    }  # fmt: skip


def test_the_report_is_one_file_with_every_chart_and_the_quality_summary() -> None:
    page = render(summed([300]), manifest(), {"table": "customer_orders", "chunk_rows": 300,
                                              "rows_per_s": 1234.6})  # fmt: skip
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page), "nothing loaded from elsewhere"
    assert "Plotly.newPlot" in page  # plotly.js itself is inline
    data = re.search(r'id="figures-data">(.*?)</script>', page, re.S).group(1)
    drawn = json.loads(data)
    assert set(drawn) == {*CHARTS, "order_values"}
    assert sum(drawn["order_values"]["data"][0]["y"]) == len(ORDERS)
    for text in ("run-7", "malformed_json", "1,235 rows/s", "900 orders", 'id="eda-checks"'):
        assert text in page, text


def test_what_the_data_holds_is_escaped() -> None:
    hostile = ORDERS.copy()
    hostile["ProductName"] = hostile["ProductName"].astype(str)
    hostile.loc[:, "ProductName"] = "</script><script>alert(1)</script>"
    totals = EdaTotals()
    totals.add(hostile)
    bad = {**manifest(), "run_id": "<img src=x onerror=alert(1)>"}
    page = render(totals, bad, {"table": "t", "chunk_rows": 1, "rows_per_s": 1.0})
    assert "<script>alert(1)" not in page and "<img src=x" not in page


def test_nothing_scanned_is_no_report() -> None:
    with pytest.raises(ValueError, match="no orders"):
        render(EdaTotals(), None, {})


def test_the_dashboard_links_and_serves_the_report(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    app = create_app(LocalSource(ORDERS), {"TESTING": True, "EDA_REPORT": str(report)})
    client = app.test_client()
    assert client.get("/eda").status_code == 404
    report.write_text("<h1>EDA</h1>", encoding="utf-8")
    served = client.get("/eda")
    assert served.status_code == 200 and b"<h1>EDA</h1>" in served.data
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert b'id="eda-link"' in client.get("/").data
    unlinked = create_app(LocalSource(ORDERS), {"TESTING": True}).test_client()
    assert b'id="eda-link"' not in unlinked.get("/").data
