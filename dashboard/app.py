"""The Flask app: factory, one blueprint per page (overview, customer), the JSON API, plotly.js.

The orders source is injected into ``create_app``; views fetch it with ``get_source()``. Every
query parameter goes through ``dashboard.filters`` before it touches data or a template.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly
import plotly.io
import plotly.offline
from flask import Blueprint, Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashboard import figures
from dashboard.filters import Vocabulary, parse_customer_id, parse_filters
from dashboard.sources import OrdersSource, SourceError

SOURCE_KEY = "dashboard.source"
VOCABULARY_KEY = "dashboard.vocabulary"
PLOTLY_JS_URL = "/static/plotly.min.js"

# Plotly injects <style> elements and inline styles, hence 'unsafe-inline' for styles only.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DEFAULT_CONFIG: dict[str, Any] = {"CONTENT_SECURITY_POLICY": DEFAULT_CSP}

overview = Blueprint("overview", __name__)
customer = Blueprint("customer", __name__)
api = Blueprint("api", __name__)


def create_app(source: OrdersSource, config: Mapping[str, Any] | None = None) -> Flask:
    """A dashboard over ``source``; ``config`` overrides ``DEFAULT_CONFIG`` (tests: TESTING)."""
    if not isinstance(source, OrdersSource):
        raise TypeError(f"source must implement OrdersSource, got {type(source).__name__}")
    app = Flask(__name__)
    app.config.from_mapping(DEFAULT_CONFIG)
    app.config.from_mapping(config or {})
    app.debug = False  # the Werkzeug debugger runs code from the browser: never on
    app.extensions[SOURCE_KEY] = source
    app.register_blueprint(overview)
    app.register_blueprint(customer)
    app.register_blueprint(api)
    app.add_url_rule(PLOTLY_JS_URL, "plotly_js", plotly_js)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(SourceError, source_error)
    app.after_request(security_headers)
    return app


def serve(source: OrdersSource, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Run the dashboard on Werkzeug's server, bound to localhost unless told otherwise."""
    create_app(source).run(host=host, port=port, debug=False, use_reloader=False)


def get_source() -> OrdersSource:
    return current_app.extensions[SOURCE_KEY]


def orders_and_vocabulary() -> tuple[pd.DataFrame, Vocabulary]:
    """The source's frame and its allowlists, recomputed only when the source's frame changes."""
    frame = get_source().orders()
    cached = current_app.extensions.get(VOCABULARY_KEY)
    if cached is None or cached[0] is not frame:
        cached = (frame, Vocabulary.from_frame(frame))
        current_app.extensions[VOCABULARY_KEY] = cached
    return cached


@overview.get("/")
def index() -> ResponseReturnValue:
    frame, vocabulary = orders_and_vocabulary()
    filters = parse_filters(request.args, vocabulary)
    shown = figures.summary(filters.apply(frame))
    figure_json = {
        name: json.loads(plotly.io.to_json(fig, validate=False))
        for name, fig in figures.figures(shown["charts"]).items()
    }
    return render_template(
        "dashboard.html",
        filters=filters,
        vocabulary=vocabulary,
        kpis=shown["kpis"],
        top_customers=shown["top_customers"],
        figures=figure_json,
        source=get_source().describe(),
    )


@customer.get("/customer")
def orders() -> ResponseReturnValue:
    customer_id = parse_customer_id(request.args)
    if customer_id is None:
        return render_template("customer.html", customer_id=None)
    frame = get_source().customer_orders(customer_id)
    page = render_template(
        "customer.html",
        customer_id=customer_id,
        profile=figures.customer_profile(frame),
        kpis=figures.kpis(frame),
        columns=figures.ORDER_TABLE_COLUMNS,
        rows=figures.order_rows(frame),
    )
    return page, 200 if len(frame) else 404


@api.get("/health")
def health() -> ResponseReturnValue:
    source = get_source()
    try:
        rows = len(source.orders())
    except SourceError as exc:
        return {"status": "unavailable", "source": source.describe(), "error": str(exc)}, 503
    return {"status": "ok", "source": source.describe(), "rows": rows}


@api.get("/api/summary")
def summary() -> ResponseReturnValue:
    frame, vocabulary = orders_and_vocabulary()
    filters = parse_filters(request.args, vocabulary)
    shown = filters.apply(frame)
    return {"filters": filters.to_query(), "rows": len(shown), **figures.summary(shown)}


@functools.cache
def _plotly_js() -> bytes:
    return plotly.offline.get_plotlyjs().encode()


def plotly_js() -> ResponseReturnValue:
    """The plotly.js bundled with the plotly package: the dashboard needs no CDN."""
    response = current_app.response_class(_plotly_js(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 24 * 3600
    response.set_etag(f"plotly-{plotly.__version__}")
    return response.make_conditional(request)


def _wants_json() -> bool:
    return request.blueprint == api.name


def http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if _wants_json():
        return {"error": error.name, "message": error.description}, status
    return render_template("error.html", error=error), status


def source_error(error: SourceError) -> ResponseReturnValue:
    current_app.logger.error("orders source failed: %s", error)
    message = "The orders data source is unavailable; try again later."
    if _wants_json():
        return {"error": "Service Unavailable", "message": message}, 503
    return render_template("error.html", error=None, message=message), 503


def security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    csp = current_app.config.get("CONTENT_SECURITY_POLICY")
    if csp:
        headers.setdefault("Content-Security-Policy", csp)
    return response
