"""Aggregates in, chart data and Plotly figure specs out. Pure: no Flask, no I/O.

Each chart has a data function (a selected aggregate -> JSON-ready dict, what /api/summary returns)
and a figure function (that dict -> a Plotly figure as a plain dict, what plotly.js draws), so the
page and the API always show the same numbers. Figures are plain dicts, not ``go.Figure``: building
and serialising five validated figures took ~75 ms a request; the dicts take well under 1 ms (the
unit tests validate them with ``go.Figure``).

Which filters each chart applies follows from its aggregate's keys (``pipeline.aggregate``): the
trend, country and age-group charts and the KPIs apply every filter; the age distribution and the
top products apply all but the month range.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

from dashboard.snapshot import PRODUCT, REVENUE_WITH_ORDERS, ROWS_WITH_ORDERS, Part, Selection
from pipeline.countries import region_of_name
from pipeline.schema import AGE_GROUPS

TOP_N = 10
# plotly_white's layout only: its per-trace defaults would triple each figure's JSON.
TEMPLATE: dict[str, Any] = {"layout": pio.templates["plotly_white"].layout.to_plotly_json()}
ORDER_TABLE_COLUMNS: tuple[str, ...] = (
    "OrderDate",
    "row_key",
    "ProductID",
    "ProductName",
    "Category",
    "Quantity",
    "Price",
    "TotalAmount",
    "ShippingDate",
    "ShippingAddress",
    "quality_flags",  # what was set aside in a kept order
)
PROFILE_COLUMNS: tuple[str, ...] = ("Name", "Age", "AgeGroup", "Country", "RegistrationDate")
EMPTY_TEXT = "No orders match the filters"

ChartData = dict[str, Any]
Figure = dict[str, Any]


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values]


def _money(cents: Any) -> list[float]:
    return [int(c) / 100 for c in cents]


def kpis(selection: Selection) -> dict[str, float | int]:
    """Revenue, orders (one clean row is one order), distinct customers, average order value."""
    cents = selection.cube.total("revenue_cents")
    orders = selection.cube.total("orders")
    return {
        "revenue": cents / 100,
        "orders": orders,
        "customers": selection.customer_count,
        "average_order_value": cents / orders / 100 if orders else 0.0,
    }


@functools.lru_cache(maxsize=4096)
def month_span(first: str, last: str) -> tuple[str, ...]:
    """Every calendar month from first to last ("YYYY-MM"); cached: a chart asks for few spans,
    and a period range costs more than the chart's sums."""
    return tuple(str(p) for p in pd.period_range(first, last, freq="M"))


def _monthly(
    cube: Part, key: str, label: str, series_of: Callable[[str], str] = str,
    order: tuple[str, ...] = (),
) -> ChartData:  # fmt: skip
    """Sales per calendar month and per value of `key` (mapped by `series_of`), one series each
    under `label`, from the cube's rows with orders; months without sales in between count as 0."""
    present = cube.sums(("month", key), ROWS_WITH_ORDERS) > 0
    if not present.any():
        return {"months": [], "series": []}
    cents = cube.sums(("month", key), REVENUE_WITH_ORDERS)
    month_labels, key_labels = cube.table.labels["month"], cube.table.labels[key]
    listed = [str(m) for m in month_labels[present.any(axis=1)]]
    months = list(month_span(min(listed), max(listed)))
    at = {str(m): i for i, m in enumerate(month_labels)}
    rows = [at.get(m) for m in months]
    per_series: dict[str, np.ndarray] = {}
    for k in np.flatnonzero(present.any(axis=0)):
        name = series_of(str(key_labels[k]))
        per_series[name] = per_series.get(name, 0) + cents[:, k]
    names = [n for n in order if n in per_series] or sorted(per_series)
    return {
        "months": months,
        "series": [
            {label: name, "sales": [0.0 if i is None else int(per_series[name][i]) / 100
                                    for i in rows]}
            for name in names
        ],
    }  # fmt: skip


def monthly_sales(cube: Part) -> ChartData:
    """Sales per calendar month and category."""
    return _monthly(cube, "Category", "category")


def monthly_by_region(cube: Part) -> ChartData:
    """Sales per calendar month and UN M49 region of the customers' countries."""
    return _monthly(cube, "Country", "region", series_of=region_of_name)


def monthly_by_segment(cube: Part) -> ChartData:
    """Sales per calendar month and customer segment (one series when the run has none)."""
    return _monthly(cube, "Segment", "segment", series_of=lambda s: s or "all customers")


def monthly_by_age_group(cube: Part) -> ChartData:
    """Sales per calendar month and age group, in the schema's order."""
    return _monthly(cube, "AgeGroup", "age_group", order=tuple(AGE_GROUPS))


def _descending(labels: np.ndarray, values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The labels with a positive value, largest first (ties in label order), and their values."""
    keep = np.flatnonzero(values > 0)
    ranked = keep[np.argsort(-values[keep], kind="stable")]
    return [str(v) for v in labels[ranked]], values[ranked]


def sales_by_country(cube: Part) -> ChartData:
    countries, cents = _descending(
        cube.table.labels["Country"], cube.sums(("Country",), "revenue_cents")
    )
    return {"countries": countries, "sales": _money(cents)}


def sales_by_region(cube: Part) -> ChartData:
    """Sales per UN M49 region of the customers' countries (the region follows from the country,
    so the cube needs no column of its own for it)."""
    cents = cube.sums(("Country",), "revenue_cents")
    totals: dict[str, int] = {}
    for country, value in zip(cube.table.labels["Country"], cents, strict=True):
        if value:
            region = region_of_name(str(country))
            totals[region] = totals.get(region, 0) + int(value)
    names = sorted(totals)
    regions, sums = _descending(
        np.asarray(names, dtype=object), np.asarray([totals[n] for n in names], dtype=np.int64)
    )
    return {"regions": regions, "sales": _money(sums)}


def age_groups(cube: Part) -> ChartData:
    """Sales and orders for every schema age group, in the schema's order."""
    at = {str(g): i for i, g in enumerate(cube.table.labels["AgeGroup"])}
    cents = cube.sums(("AgeGroup",), "revenue_cents")
    orders = cube.sums(("AgeGroup",), "orders")
    return {
        "age_groups": list(AGE_GROUPS),
        "sales": [int(cents[at[g]]) / 100 if g in at else 0.0 for g in AGE_GROUPS],
        "orders": [int(orders[at[g]]) if g in at else 0 for g in AGE_GROUPS],
    }


def age_distribution(ages: Part) -> ChartData:
    """Orders per year of age, every age from the youngest to the oldest present."""
    counts = ages.sums(("Age",), "orders")
    present = counts > 0
    if not present.any():
        return {"ages": [], "orders": []}
    by_age = {
        int(a): int(n)
        for a, n in zip(ages.table.labels["Age"][present], counts[present], strict=True)
    }
    span = range(min(by_age), max(by_age) + 1)
    return {"ages": list(span), "orders": [by_age.get(a, 0) for a in span]}


def top_products(products: Part, n: int = TOP_N, by: str = "revenue_cents") -> ChartData:
    """The n products with the most sales (`by` "revenue_cents") or units sold ("quantity")."""
    cents = products.sums((PRODUCT,), "revenue_cents")
    measure = cents if by == "revenue_cents" else products.sums((PRODUCT,), by)
    keep = np.flatnonzero(cents > 0)
    top = keep[np.argsort(-measure[keep], kind="stable")][:n]
    pairs = products.table.labels[PRODUCT][top]
    ids = [str(i) for i, _ in pairs]
    names = [str(name) for _, name in pairs]
    # A categorical axis merges equal labels, so a repeated name gets its product id.
    labels = [
        f"{name} ({pid})" if names.count(name) > 1 else name
        for pid, name in zip(ids, names, strict=True)
    ]
    quantity = measure if by == "quantity" else products.sums((PRODUCT,), "quantity")
    return {
        "products": labels,
        "product_ids": ids,
        "sales": _money(cents[top]),
        "quantity": _ints(quantity[top]),
    }


def top_customers(selection: Selection, n: int = TOP_N) -> ChartData:
    """Customers with orders in the selection, ranked by their lifetime sales (ties: by id)."""
    table, rows = selection.customers, selection.customer_rows
    codes = table.code[rows]
    size = len(table.ids)
    present = np.flatnonzero(np.bincount(codes, minlength=size))
    cents = np.bincount(codes, weights=table.revenue_cents[rows], minlength=size)[present]
    orders = np.bincount(codes, weights=table.orders[rows], minlength=size)[present]
    if len(present) > n:  # only the n largest (and ties with the n-th) need sorting
        cut = np.partition(cents, len(cents) - n)[len(cents) - n]
        keep = cents >= cut
        present, cents, orders = present[keep], cents[keep], orders[keep]
    top = np.lexsort((present, -cents))[:n]  # codes follow the sorted CustomerIDs
    return {
        "customers": [str(c) for c in table.ids[present[top]]],
        "names": [_cell(name) for name in table.names[present[top]]],
        "sales": _money(np.rint(cents[top])),
        "orders": _ints(np.rint(orders[top])),
    }


# chart -> (the Selection field it reads, its data function)
CHART_DATA: dict[str, tuple[str, Callable[[Part], ChartData]]] = {
    "monthly_sales": ("cube", monthly_sales),
    "sales_by_country": ("cube", sales_by_country),
    "sales_by_region": ("cube", sales_by_region),
    "age_groups": ("cube", age_groups),
    "age_distribution": ("ages", age_distribution),
    "top_products": ("products", top_products),
    "top_products_by_units": ("products", lambda p: top_products(p, by="quantity")),
    "monthly_by_region": ("cube", monthly_by_region),
    "monthly_by_age_group": ("cube", monthly_by_age_group),
    "monthly_by_segment": ("cube", monthly_by_segment),
}


def chart_data(name: str, selection: Selection) -> ChartData:
    field, build = CHART_DATA[name]
    return build(getattr(selection, field))


def ignored_filters(selection: Selection) -> dict[str, list[str]]:
    """Per chart (and the top customers), the set filters its aggregate cannot apply."""
    out = {
        name: list(selection.filters.ignored_by(getattr(selection, field).columns))
        for name, (field, _) in CHART_DATA.items()
    }
    return {name: ignored for name, ignored in out.items() if ignored}


def summary(selection: Selection) -> dict[str, Any]:
    """Everything the dashboard shows for one selection."""
    return {
        "kpis": kpis(selection),
        "charts": {name: chart_data(name, selection) for name in CHART_DATA},
        "top_customers": top_customers(selection),
        "ignored_filters": ignored_filters(selection),
    }


def _figure(title: str, traces: list[dict[str, Any]], empty: bool, **layout: Any) -> Figure:
    spec: dict[str, Any] = {
        "title": {"text": title},
        "template": TEMPLATE,
        "margin": {"l": 50, "r": 20, "t": 50, "b": 50},
        **layout,
    }
    if empty:
        spec["annotations"] = [
            {"text": EMPTY_TEXT, "showarrow": False, "xref": "paper", "yref": "paper"}
        ]
    return {"data": traces, "layout": spec}


def _axis(title: str, **more: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **more}


def _monthly_figure(title: str, label: str) -> Callable[[ChartData], Figure]:
    def figure(data: ChartData) -> Figure:
        traces = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": data["months"],
                "y": s["sales"],
                "name": s[label],
            }
            for s in data["series"]
        ]
        return _figure(
            title,
            traces,
            not data["months"],
            xaxis=_axis("Month", type="category"),
            yaxis=_axis("Sales"),
        )

    return figure


monthly_sales_figure = _monthly_figure("Monthly sales by category", "category")


def sales_by_country_figure(data: ChartData) -> Figure:
    bar = {"type": "bar", "x": data["countries"], "y": data["sales"], "name": "Sales"}
    return _figure("Sales by country", [bar], not data["countries"], yaxis=_axis("Sales"))


def sales_by_region_figure(data: ChartData) -> Figure:
    bar = {"type": "bar", "x": data["regions"], "y": data["sales"], "name": "Sales"}
    return _figure("Sales by region", [bar], not data["regions"], yaxis=_axis("Sales"))


def age_groups_figure(data: ChartData) -> Figure:
    traces = [
        # Bars on two overlaid axes sit side by side only with an offsetgroup each.
        {"type": "bar", "x": data["age_groups"], "y": series, "name": name, "yaxis": axis,
         "offsetgroup": name}
        for name, series, axis in (("Sales", data["sales"], "y"), ("Orders", data["orders"], "y2"))
    ]  # fmt: skip
    return _figure(
        "Demographics: sales and orders by age group",
        traces,
        not any(data["orders"]),
        barmode="group",
        xaxis=_axis("Age group"),
        yaxis=_axis("Sales"),
        yaxis2=_axis("Orders", overlaying="y", side="right", rangemode="tozero"),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        margin={"l": 50, "r": 60, "t": 50, "b": 50},
    )


def age_distribution_figure(data: ChartData) -> Figure:
    bar = {"type": "bar", "x": data["ages"], "y": data["orders"], "name": "Orders"}
    return _figure(
        "Age distribution of orders (all months)",
        [bar],
        not data["ages"],
        bargap=0,
        xaxis=_axis("Age"),
        yaxis=_axis("Orders"),
    )


def top_products_figure(data: ChartData, measure: str = "sales") -> Figure:
    label, number = ("Sales", ",.2f") if measure == "sales" else ("Units", ",d")
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": data[measure][::-1],
        "y": data["products"][::-1],
        "name": label,
        "customdata": data["product_ids"][::-1],
        "hovertemplate": f"%{{y}} [%{{customdata}}]<br>{label} %{{x:{number}}}<extra></extra>",
    }
    return _figure(
        f"Top {TOP_N} products by {label.lower()} (all months)",
        [bar],
        not data["products"],
        xaxis=_axis(label),
        yaxis={"type": "category", "automargin": True},
    )


FIGURES: dict[str, Callable[[ChartData], Figure]] = {
    "monthly_sales": monthly_sales_figure,
    "sales_by_country": sales_by_country_figure,
    "sales_by_region": sales_by_region_figure,
    "age_groups": age_groups_figure,
    "age_distribution": age_distribution_figure,
    "top_products": top_products_figure,
    "top_products_by_units": lambda data: top_products_figure(data, "quantity"),
    "monthly_by_region": _monthly_figure("Monthly sales by region", "region"),
    "monthly_by_age_group": _monthly_figure("Monthly sales by age group", "age_group"),
    "monthly_by_segment": _monthly_figure("Monthly sales by customer segment", "segment"),
}
assert FIGURES.keys() == CHART_DATA.keys(), "every chart has data and a figure"


def figures(charts: dict[str, ChartData]) -> dict[str, Figure]:
    return {name: FIGURES[name](data) for name, data in charts.items()}


# --- one customer's orders (clean rows from the drill-down lookup) -------------------------------


def order_kpis(frame: pd.DataFrame) -> dict[str, float | int]:
    """A customer's order count and total spent, from their clean rows."""
    return {"orders": len(frame), "revenue": round(float(frame["TotalAmount"].sum()), 2)}


def _cell(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def order_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    """A customer's orders as display strings, one dict per row, ORDER_TABLE_COLUMNS keys."""
    return [
        {column: _cell(row[column]) for column in ORDER_TABLE_COLUMNS}
        for row in frame.to_dict("records")
    ]


def customer_profile(frame: pd.DataFrame) -> dict[str, str]:
    """The customer attributes of the latest order (they are repeated on every order row)."""
    if frame.empty:
        return {}
    latest = frame.sort_values("OrderDate", kind="stable").iloc[-1]
    return {column: _cell(latest[column]) for column in PROFILE_COLUMNS}
