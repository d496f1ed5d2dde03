"""The customer page: one customer's profile and orders, a single lookup by customer ID."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from dashboard import figures
from dashboard.filters import parse_customer_id
from dashboard.sources import DashboardSource, SourceError
from dashboard.views.data import get_source

bp = Blueprint("customer", __name__)


@bp.get("/customer")
def orders() -> ResponseReturnValue:
    customer_id = parse_customer_id(request.args)
    if customer_id is None:
        return render_template("customer.html", customer_id=None)
    source = get_source()
    frame = source.customer_orders(customer_id)
    page = render_template(
        "customer.html",
        customer_id=customer_id,
        segment=_segment_of(source, customer_id),
        profile=figures.customer_profile(frame),
        kpis=figures.order_kpis(frame),
        columns=figures.ORDER_TABLE_COLUMNS,
        rows=figures.order_rows(frame),
    )
    return page, 200 if len(frame) else 404


def _segment_of(source: DashboardSource, customer_id: str) -> dict[str, Any] | None:
    """The customer's segment, if the source's run has segments; the orders show without it."""
    try:
        return source.aggregates().segment_of(customer_id)
    except SourceError as exc:
        current_app.logger.warning("customer page: no segments: %s", exc)
        return None
