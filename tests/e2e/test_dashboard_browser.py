"""The dashboard in headless Chromium: charts render, a filter changes them, a customer drill-down
and the pipeline health page open. Local data from the generator and the cleaner (no Spark, no
services): the HBase path is tested in tests/integration/test_aggregates_hbase.py."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dashboard import LocalSource, create_app
from pipeline.clean import clean_lines
from pipeline.generate import generate_orders
from pipeline.manifest import Manifest, reconcile

pytestmark = pytest.mark.e2e
ROWS = 20_000
CHARTS = (
    "monthly_sales",
    "sales_by_country",
    "sales_by_region",
    "age_groups",
    "age_distribution",
    "top_products",
    "top_products_by_units",
    "monthly_by_region",
    "monthly_by_age_group",
    "monthly_by_segment",
)


@pytest.fixture(scope="module")
def clean() -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean rows of a generated batch, and a run manifest describing how they were made."""
    orders = generate_orders(ROWS, seed=21, error_rate=0.05)
    result = clean_lines(orders.lines)
    manifest = {
        "run_id": "e2e-browser",
        "finished_at": "2026-01-01T12:00:00+00:00",
        "rows": ROWS,
        "seed": 21,
        "error_rate": 0.05,
        "stages": [
            {"name": "generate", "rows_in": ROWS, "rows_out": len(orders.lines), "seconds": 1.0,
             "detail": {}},
            {"name": "transform", "rows_in": len(orders.lines), "rows_out": len(result.clean),
             "seconds": 2.0,
             "detail": {"quarantined": len(result.quarantine), "duplicates": result.duplicates,
                        "quarantined_by_reason": dict(Counter(result.quarantine["reason"]))}},
        ],
        "gates": [{"name": "clean", "success": True}],
    }  # fmt: skip
    manifest["reconciliation"] = reconcile(Manifest.from_dict(manifest))
    return result.clean, manifest


@pytest.fixture(scope="module")
def base_url(clean, serve_app, tmp_path_factory: pytest.TempPathFactory) -> str:
    frame, manifest = clean
    docs = tmp_path_factory.mktemp("data-docs")
    (docs / "index.html").write_text("<h1 id='docs-title'>Data Docs</h1>", encoding="utf-8")
    source = LocalSource(frame, manifest=manifest, name="e2e")
    return serve_app(create_app(source, {"DATA_DOCS_DIR": str(docs)}))


@pytest.fixture
def page(browser, base_url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    yield opened
    context.close()
    assert problems == [], "the pages ran without script errors or CSP violations"


def api_summary(base_url: str, query: dict[str, str]) -> dict[str, Any]:
    url = f"{base_url}/api/summary?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)


def plotted(page, chart: str) -> dict[str, Any]:
    """The data plotly.js drew in one chart container (Plotly keeps it on the element)."""
    return page.evaluate(
        "name => { const el = document.getElementById('chart-' + name);"
        " return {x: el.data[0].x, y: el.data[0].y, traces: el.data.length}; }",
        chart,
    )


def wait_for_charts(page) -> None:
    for name in CHARTS:
        page.wait_for_selector(f"#chart-{name} svg.main-svg", state="attached", timeout=30_000)


def test_dashboard_renders_filters_drills_down_and_shows_pipeline_health(
    page, base_url: str, clean, browser_output: Path
) -> None:
    frame, _ = clean
    page.goto(f"{base_url}/")
    wait_for_charts(page)
    for name in CHARTS:
        assert page.locator(f"#chart-{name} svg.main-svg").count() >= 1, name
    everything = {name: plotted(page, name) for name in CHARTS}
    assert everything["monthly_sales"]["traces"] == frame["Category"].nunique()
    revenue = float(page.get_attribute("#kpi-revenue", "data-value"))
    assert revenue == round(float(frame["TotalAmount"].sum()), 2)
    page.screenshot(path=str(browser_output / "dashboard.png"), full_page=True)

    country = frame["Country"].value_counts().index[3]
    page.select_option("select[name=country]", country)
    with page.expect_navigation():
        page.click("#filters button[type=submit]")
    wait_for_charts(page)
    assert urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["country"] == [country]
    filtered = {name: plotted(page, name) for name in CHARTS}
    for name in CHARTS:
        assert filtered[name] != everything[name], f"{name} did not change with the country"
    api = api_summary(base_url, {"country": country})
    assert filtered["sales_by_country"]["x"] == [country]
    assert filtered["sales_by_country"]["y"] == api["charts"]["sales_by_country"]["sales"]
    shown = float(page.get_attribute("#kpi-revenue", "data-value"))
    theirs = frame[frame["Country"] == country]
    assert shown == api["kpis"]["revenue"] == round(float(theirs["TotalAmount"].sum()), 2)
    assert int(page.get_attribute("#kpi-customers", "data-value")) == theirs["CustomerID"].nunique()
    page.screenshot(path=str(browser_output / "dashboard-filtered.png"), full_page=True)

    first = page.locator("#top-customers tbody tr a").first
    customer_id = first.inner_text()
    with page.expect_navigation():
        first.click()
    page.wait_for_selector("#customer-orders")
    rows = page.locator("#customer-orders tbody tr")
    assert rows.count() == int((frame["CustomerID"] == customer_id).sum())
    assert page.locator("#customer-profile").inner_text().count(country) >= 1

    with page.expect_navigation():
        page.click("text=Pipeline health")
    page.wait_for_selector("#stages")
    assert page.inner_text("#health-run-id") == "e2e-browser"
    assert page.inner_text("#reconciliation-status") == "ok"
    assert page.locator("#stages tbody tr").count() == 2
    assert page.locator("#quarantine tbody tr").count() >= 1
    page.screenshot(path=str(browser_output / "health.png"), full_page=True)
    with page.expect_navigation():
        page.click("#data-docs-link")
    assert page.inner_text("#docs-title") == "Data Docs"
