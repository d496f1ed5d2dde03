"""The dashboard page: KPIs, charts and top customers under the month, country, category and age
filters, and the plotly.js it draws them with."""

from __future__ import annotations

import functools

import plotly
import plotly.offline
from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from dashboard.views.data import chart_figures, get_source, snapshot_and_filters, summary

PLOTLY_JS_URL = "/static/plotly.min.js"

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    snapshot, filters = snapshot_and_filters()
    shown = summary(snapshot, filters)
    months = list(snapshot.vocabulary.months)
    for chosen in (filters.start, filters.end):  # a valid month outside the data stays selectable
        if chosen is not None and chosen not in months:
            months.append(chosen)
    return render_template(
        "dashboard.html",
        filters=filters,
        vocabulary=snapshot.vocabulary,
        months=sorted(months),
        kpis=shown["kpis"],
        top_customers=shown["top_customers"],
        ignored=shown["ignored_filters"],
        figures=chart_figures(snapshot, filters),
        source=get_source().label(),
        run_id=snapshot.run_id,
    )


@functools.cache
def _plotly_js() -> bytes:
    return plotly.offline.get_plotlyjs().encode()


@bp.get(PLOTLY_JS_URL)
def plotly_js() -> ResponseReturnValue:
    """The plotly.js bundled with the plotly package: the dashboard needs no CDN."""
    response = current_app.response_class(_plotly_js(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 24 * 3600
    response.set_etag(f"plotly-{plotly.__version__}")
    return response.make_conditional(request)
