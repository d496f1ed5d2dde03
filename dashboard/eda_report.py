"""The EDA report: one self-contained HTML file (plotly.js inline, no CDN) from the sums of a scan
(``pipeline.eda.EdaTotals``) and the run manifest. Pure: numbers in, text out.

The charts are the dashboard's own (``dashboard.figures``), over every order of the run: customer
demographics, most purchased products by units and by sales, monthly trends by category, region
and age group, the order value distribution, and the data-quality summary of the run.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
import plotly.offline

from dashboard import figures
from dashboard.filters import Filters
from dashboard.snapshot import Table
from pipeline.eda import EdaTotals, band_labels

TEMPLATES = Path(__file__).resolve().parent / "templates"
DRAW_JS = Path(__file__).resolve().parent / "static" / "dashboard.js"
CHARTS: tuple[str, ...] = (
    "age_groups", "age_distribution", "sales_by_country", "sales_by_region",
    "top_products_by_units", "top_products", "monthly_sales", "monthly_by_region",
    "monthly_by_age_group",
)  # fmt: skip


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


def report_figures(totals: EdaTotals) -> dict[str, figures.Figure]:
    """Every chart of the report as a Plotly figure dict."""
    every = Filters()
    frames = {name: Table.from_frame(totals.parts[name]).select(every)
              for name in ("cube", "ages", "products")}  # fmt: skip
    out = {}
    for name in CHARTS:
        field, build = figures.CHART_DATA[name]
        out[name] = figures.FIGURES[name](build(frames[field]))
    bar = {"type": "bar", "x": band_labels(), "y": [int(n) for n in totals.order_values],
           "name": "Orders"}  # fmt: skip
    out["order_values"] = {
        "data": [bar],
        "layout": {
            "title": {"text": "Order value distribution"},
            "template": figures.TEMPLATE,
            "xaxis": {"title": {"text": "Order value (TotalAmount)"}, "type": "category"},
            "yaxis": {"title": {"text": "Orders"}},
        },
    }
    return out


def quality(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The data-quality summary of the run: stages, quarantine by reason, checks, gates."""
    if not manifest:
        return {}
    stages = manifest.get("stages", [])
    transform = next((s for s in stages if s.get("name") == "transform"), {})
    reasons = transform.get("detail", {}).get("quarantined_by_reason", {})
    return {
        "run_id": manifest.get("run_id", ""),
        "status": manifest.get("status", ""),
        "stages": [(s["name"], s["rows_in"], s["rows_out"], s["seconds"]) for s in stages],
        "quarantine": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "checks": [(name, c["expected"], c["actual"], c["ok"])
                   for name, c in manifest.get("reconciliation", {}).items()],
        "gates": [(g.get("dataset", ""), g.get("success", False))
                  for g in manifest.get("gates", [])],
    }  # fmt: skip


def render(totals: EdaTotals, manifest: dict[str, Any] | None, scan: dict[str, Any]) -> str:
    """The report as one HTML document. `scan`: how the rows were read (table, rows, seconds)."""
    if totals.rows == 0:
        raise ValueError("no orders were scanned: nothing to report")
    cube = totals.parts["cube"]
    return (
        _environment()
        .get_template("eda_report.html")
        .render(
            figures=report_figures(totals),
            rows=totals.rows,
            revenue=int(cube["revenue_cents"].sum()) / 100,
            months=(str(cube["month"].min()), str(cube["month"].max())),
            quality=quality(manifest),
            scan=scan,
            plotly_js=plotly.offline.get_plotlyjs(),
            draw_js=DRAW_JS.read_text(encoding="utf-8"),
        )
    )
