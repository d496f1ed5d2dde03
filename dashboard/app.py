"""The Flask app: factory, one blueprint per page (overview, customer), the JSON API, plotly.js.

The orders source is injected into ``create_app``; views fetch it with ``get_source()``. Every
query parameter goes through ``dashboard.filters`` before it touches data or a template.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import plotly
import plotly.io
import plotly.offline
from flask import Blueprint, Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from dashboard import figures
from dashboard.filters import Filters, Vocabulary, parse_customer_id, parse_filters
from dashboard.sources import OrdersSource, SourceError

SOURCE_KEY = "dashboard.source"
VIEWS_KEY = "dashboard.views"
PLOTLY_JS_URL = "/static/plotly.min.js"

# Plotly injects <style> elements and inline styles, hence 'unsafe-inline' for styles only.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# VIEW_CACHE_SIZE: computed views (KPIs, chart data, figures) kept per filter combination.
DEFAULT_CONFIG: dict[str, Any] = {"CONTENT_SECURITY_POLICY": DEFAULT_CSP, "VIEW_CACHE_SIZE": 64}

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
    app.extensions[VIEWS_KEY] = FrameViews(app.config["VIEW_CACHE_SIZE"])
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


class FrameViews:
    """What the pages derive from one frame: its allowlists, and recent views by filters.

    The source caches its frame; when that frame is replaced (a refresh), everything derived from
    the old one is dropped. Views are read-only once cached.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._frame: pd.DataFrame | None = None
        self._vocabulary: Vocabulary | None = None
        self._views: OrderedDict[tuple[str, Filters], Any] = OrderedDict()

    def _bind(self, frame: pd.DataFrame) -> None:
        if self._frame is not frame:
            self._frame, self._vocabulary, self._views = frame, None, OrderedDict()

    def vocabulary(self, frame: pd.DataFrame) -> Vocabulary:
        with self._lock:
            self._bind(frame)
            if self._vocabulary is None:
                self._vocabulary = Vocabulary.from_frame(frame)
            return self._vocabulary

    def view(self, frame: pd.DataFrame, key: tuple[str, Filters], build: Callable[[], Any]) -> Any:
        with self._lock:
            self._bind(frame)
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        view = build()  # outside the lock: two threads may build the same view, both correct
        with self._lock:
            if self._frame is frame and self._size > 0:
                self._views[key] = view
                while len(self._views) > self._size:
                    self._views.popitem(last=False)
        return view


def _views() -> FrameViews:
    return current_app.extensions[VIEWS_KEY]


def orders_and_filters() -> tuple[pd.DataFrame, Vocabulary, Filters]:
    """The source's frame, its allowlists, and the request's filters checked against them."""
    frame = get_source().orders()
    vocabulary = _views().vocabulary(frame)
    return frame, vocabulary, parse_filters(request.args, vocabulary)


def _summary(frame: pd.DataFrame, filters: Filters) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        shown = filters.apply(frame)
        return {"filters": filters.to_query(), "rows": len(shown), **figures.summary(shown)}

    return _views().view(frame, ("summary", filters), build)


def _figure_json(frame: pd.DataFrame, filters: Filters) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        charts = _summary(frame, filters)["charts"]
        return {
            name: json.loads(plotly.io.to_json(fig, validate=False))
            for name, fig in figures.figures(charts).items()
        }

    return _views().view(frame, ("figures", filters), build)


@overview.get("/")
def index() -> ResponseReturnValue:
    frame, vocabulary, filters = orders_and_filters()
    shown = _summary(frame, filters)
    return render_template(
        "dashboard.html",
        filters=filters,
        vocabulary=vocabulary,
        kpis=shown["kpis"],
        top_customers=shown["top_customers"],
        figures=_figure_json(frame, filters),
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
    frame, _, filters = orders_and_filters()
    return _summary(frame, filters)


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
