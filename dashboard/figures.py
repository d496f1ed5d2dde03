"""Frames in, chart data and Plotly figures out. Pure: no Flask, no I/O.

Each chart has a data function (frame -> JSON-ready dict, what /api/summary returns) and a figure
function (that dict -> ``go.Figure``), so the page and the API always show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from pipeline.schema import AGE_GROUPS

TOP_N = 10
# plotly_white's layout only: its per-trace defaults would triple each figure's JSON and build time.
TEMPLATE = go.layout.Template(layout=pio.templates["plotly_white"].layout)
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
)
PROFILE_COLUMNS: tuple[str, ...] = ("Name", "Age", "AgeGroup", "Country", "RegistrationDate")

ChartData = dict[str, Any]


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values]


def _ints(values: Any) -> list[int]:
    return [int(v) for v in values]


def kpis(frame: pd.DataFrame) -> dict[str, float | int]:
    """Revenue, orders (one clean row is one order), distinct customers, average order value."""
    revenue = float(frame["TotalAmount"].sum())
    orders = len(frame)
    return {
        "revenue": revenue,
        "orders": orders,
        "customers": int(frame["CustomerID"].nunique()),
        "average_order_value": revenue / orders if orders else 0.0,
    }


def monthly_sales(frame: pd.DataFrame) -> ChartData:
    """Sales per calendar month and category; months without sales count as 0."""
    dated = frame.dropna(subset=["OrderDate"])
    if dated.empty:
        return {"months": [], "series": []}
    month = dated["OrderDate"].dt.to_period("M")
    table = dated.pivot_table(
        index=month, columns="Category", values="TotalAmount", aggfunc="sum", fill_value=0.0
    )
    months = pd.period_range(month.min(), month.max(), freq="M")
    table = table.reindex(months, fill_value=0.0)
    return {
        "months": [str(m) for m in months],
        "series": [
            {"category": str(category), "sales": _floats(table[category])}
            for category in sorted(table.columns)
        ],
    }


def sales_by_country(frame: pd.DataFrame) -> ChartData:
    totals = frame.groupby("Country")["TotalAmount"].sum().sort_values(ascending=False)
    return {"countries": [str(c) for c in totals.index], "sales": _floats(totals)}


def age_groups(frame: pd.DataFrame) -> ChartData:
    """Sales and orders for every schema age group, in the schema's order."""
    grouped = frame.groupby("AgeGroup")["TotalAmount"].agg(["sum", "size"])
    grouped = grouped.reindex(list(AGE_GROUPS), fill_value=0)
    return {
        "age_groups": list(AGE_GROUPS),
        "sales": _floats(grouped["sum"]),
        "orders": _ints(grouped["size"]),
    }


def age_distribution(frame: pd.DataFrame) -> ChartData:
    """Orders per year of age, every age from the youngest to the oldest present."""
    ages = frame["Age"].dropna().astype("int64")
    if ages.empty:
        return {"ages": [], "orders": []}
    counts = ages.value_counts().reindex(range(ages.min(), ages.max() + 1), fill_value=0)
    return {"ages": _ints(counts.index), "orders": _ints(counts)}


def top_products(frame: pd.DataFrame, n: int = TOP_N) -> ChartData:
    grouped = (
        frame.groupby(["ProductID", "ProductName"])[["TotalAmount", "Quantity"]]
        .sum()
        .sort_values(["TotalAmount"], ascending=False, kind="stable")
        .head(n)
    )
    ids = [str(i) for i, _ in grouped.index]
    names = [str(name) for _, name in grouped.index]
    # A categorical axis merges equal labels, so a repeated name gets its product id.
    labels = [
        f"{name} ({pid})" if names.count(name) > 1 else name
        for pid, name in zip(ids, names, strict=True)
    ]
    return {
        "products": labels,
        "product_ids": ids,
        "sales": _floats(grouped["TotalAmount"]),
        "quantity": _ints(grouped["Quantity"]),
    }


def top_customers(frame: pd.DataFrame, n: int = TOP_N) -> ChartData:
    grouped = (
        frame.groupby("CustomerID")
        .agg(name=("Name", "first"), sales=("TotalAmount", "sum"), orders=("row_key", "size"))
        .sort_values("sales", ascending=False, kind="stable")
        .head(n)
    )
    return {
        "customers": [str(c) for c in grouped.index],
        "names": [str(name) for name in grouped["name"]],
        "sales": _floats(grouped["sales"]),
        "orders": _ints(grouped["orders"]),
    }


CHART_DATA: dict[str, Callable[[pd.DataFrame], ChartData]] = {
    "monthly_sales": monthly_sales,
    "sales_by_country": sales_by_country,
    "age_groups": age_groups,
    "age_distribution": age_distribution,
    "top_products": top_products,
}


def summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Everything the dashboard shows for one (filtered) frame."""
    return {
        "kpis": kpis(frame),
        "charts": {name: chart(frame) for name, chart in CHART_DATA.items()},
        "top_customers": top_customers(frame),
    }


def _figure(title: str, traces: list[Any], empty: bool, **layout: Any) -> go.Figure:
    fig = go.Figure(data=traces)
    fig.update_layout(
        title=title, template=TEMPLATE, margin={"l": 50, "r": 20, "t": 50, "b": 50}, **layout
    )
    if empty:
        fig.add_annotation(
            text="No orders match the filters", showarrow=False, xref="paper", yref="paper"
        )
    return fig


def monthly_sales_figure(data: ChartData) -> go.Figure:
    traces = [
        go.Scatter(x=data["months"], y=s["sales"], mode="lines+markers", name=s["category"])
        for s in data["series"]
    ]
    return _figure(
        "Monthly sales by category",
        traces,
        not data["months"],
        xaxis_title="Month",
        yaxis_title="Sales",
        xaxis_type="category",
    )


def sales_by_country_figure(data: ChartData) -> go.Figure:
    return _figure(
        "Sales by country",
        [go.Bar(x=data["countries"], y=data["sales"], name="Sales")],
        not data["countries"],
        yaxis_title="Sales",
    )


def age_groups_figure(data: ChartData) -> go.Figure:
    traces = [
        go.Bar(x=data["age_groups"], y=data["sales"], name="Sales", yaxis="y"),
        go.Bar(x=data["age_groups"], y=data["orders"], name="Orders", yaxis="y2"),
    ]
    return _figure(
        "Sales and orders by age group",
        traces,
        not any(data["orders"]),
        barmode="group",
        xaxis_title="Age group",
        yaxis={"title": {"text": "Sales"}},
        yaxis2={"title": {"text": "Orders"}, "overlaying": "y", "side": "right"},
    )


def age_distribution_figure(data: ChartData) -> go.Figure:
    return _figure(
        "Age distribution of orders",
        [go.Bar(x=data["ages"], y=data["orders"], name="Orders")],
        not data["ages"],
        bargap=0,
        xaxis_title="Age",
        yaxis_title="Orders",
    )


def top_products_figure(data: ChartData) -> go.Figure:
    bar = go.Bar(
        x=data["sales"][::-1],
        y=data["products"][::-1],
        orientation="h",
        name="Sales",
        customdata=data["product_ids"][::-1],
        hovertemplate="%{y} [%{customdata}]<br>Sales %{x:,.2f}<extra></extra>",
    )
    return _figure(
        f"Top {TOP_N} products by sales",
        [bar],
        not data["products"],
        xaxis_title="Sales",
        yaxis_type="category",
    )


FIGURES: dict[str, Callable[[ChartData], go.Figure]] = {
    "monthly_sales": monthly_sales_figure,
    "sales_by_country": sales_by_country_figure,
    "age_groups": age_groups_figure,
    "age_distribution": age_distribution_figure,
    "top_products": top_products_figure,
}
assert FIGURES.keys() == CHART_DATA.keys(), "every chart has data and a figure"


def figures(charts: dict[str, ChartData]) -> dict[str, go.Figure]:
    return {name: FIGURES[name](data) for name, data in charts.items()}


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
