"""The Flask app: factory, one blueprint per page (overview, customer, pipeline health), the JSON
API, plotly.js and the Data Docs.

The source is injected into ``create_app``; views fetch it with ``get_source()``. Every chart and
KPI comes from the source's aggregates (``dashboard.snapshot``), never from scanning orders; a
customer's orders are one lookup. Every query parameter goes through ``dashboard.filters`` before
it touches data or a template.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import plotly
import plotly.offline
from flask import Blueprint, Flask, current_app, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, NotFound, SecurityError
from werkzeug.serving import make_server

from dashboard import figures, health
from dashboard.filters import Filters, parse_customer_id, parse_filters
from dashboard.snapshot import Snapshot
from dashboard.sources import DashboardSource, SourceError

SOURCE_KEY = "dashboard.source"
VIEWS_KEY = "dashboard.views"
PLOTLY_JS_URL = "/static/plotly.min.js"

# Plotly injects <style> elements and inline styles, hence 'unsafe-inline' for styles only.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Data Docs are generated HTML with inline scripts: a sandbox (an opaque origin) lets them run
# without any access to the dashboard's origin.
DATA_DOCS_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'"
)
# VIEW_CACHE_SIZE: computed views (summaries, figures) kept per filter combination.
# DATA_DOCS_DIR: folder of the Great Expectations Data Docs served at /data-docs/ (None: 404).
DEFAULT_CONFIG: dict[str, Any] = {
    "CONTENT_SECURITY_POLICY": DEFAULT_CSP,
    "VIEW_CACHE_SIZE": 256,
    "DATA_DOCS_DIR": None,
    # Requests must name this machine: a page elsewhere that points its own host name at
    # 127.0.0.1 (DNS rebinding) gets a 400 instead of customer data. `serve` adds its bind host.
    "TRUSTED_HOSTS": ["127.0.0.1", "localhost"],
}

overview = Blueprint("overview", __name__)
customer = Blueprint("customer", __name__)
pipeline_health = Blueprint("pipeline_health", __name__)
api = Blueprint("api", __name__)


def create_app(source: DashboardSource, config: Mapping[str, Any] | None = None) -> Flask:
    """A dashboard over ``source``; ``config`` overrides ``DEFAULT_CONFIG`` (tests: TESTING)."""
    if not isinstance(source, DashboardSource):
        raise TypeError(f"source must implement DashboardSource, got {type(source).__name__}")
    app = Flask(__name__)
    app.config.from_mapping(DEFAULT_CONFIG)
    app.config.from_mapping(config or {})
    app.debug = False  # the Werkzeug debugger runs code from the browser: never on
    app.extensions[SOURCE_KEY] = source
    app.extensions[VIEWS_KEY] = SnapshotViews(app.config["VIEW_CACHE_SIZE"])
    for blueprint in (overview, customer, pipeline_health, api):
        app.register_blueprint(blueprint)
    app.add_url_rule(PLOTLY_JS_URL, "plotly_js", plotly_js)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(SecurityError, untrusted_host)
    app.register_error_handler(SourceError, source_error)
    app.after_request(security_headers)
    return app


def serve(
    source: DashboardSource,
    host: str = "127.0.0.1",
    port: int = 5000,
    config: Mapping[str, Any] | None = None,
) -> None:
    """Run the dashboard on Werkzeug's threaded server, bound to localhost unless told otherwise."""
    hosts = [*DEFAULT_CONFIG["TRUSTED_HOSTS"], host]
    server = make_server(host, port, create_app(source, {"TRUSTED_HOSTS": hosts, **(config or {})}),
                         threaded=True)  # fmt: skip
    try:
        server.serve_forever()
    finally:
        server.server_close()


def get_source() -> DashboardSource:
    return current_app.extensions[SOURCE_KEY]


class SnapshotViews:
    """Recent views (summaries, figures) of one snapshot, by filters.

    When the source hands out a new snapshot (a new run landed), everything derived from the old
    one is dropped. Views are read-only once cached.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._views: OrderedDict[tuple[str, Filters], Any] = OrderedDict()

    def view(self, snapshot: Snapshot, key: tuple[str, Filters], build: Callable[[], Any]) -> Any:
        with self._lock:
            if self._snapshot is not snapshot:
                self._snapshot, self._views = snapshot, OrderedDict()
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        view = build()  # outside the lock: two threads may build the same view, both correct
        with self._lock:
            if self._snapshot is snapshot and self._size > 0:
                self._views[key] = view
                while len(self._views) > self._size:
                    self._views.popitem(last=False)
        return view


def _views() -> SnapshotViews:
    return current_app.extensions[VIEWS_KEY]


def snapshot_and_filters() -> tuple[Snapshot, Filters]:
    """The source's aggregates and the request's filters checked against their vocabulary."""
    snapshot = get_source().aggregates()
    return snapshot, parse_filters(request.args, snapshot.vocabulary)


def _summary(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        return {
            "filters": filters.to_query(),
            "run_id": snapshot.run_id,
            **figures.summary(snapshot.select(filters)),
        }

    return _views().view(snapshot, ("summary", filters), build)


def _figures(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    def build() -> dict[str, Any]:
        return figures.figures(_summary(snapshot, filters)["charts"])

    return _views().view(snapshot, ("figures", filters), build)


@overview.get("/")
def index() -> ResponseReturnValue:
    snapshot, filters = snapshot_and_filters()
    shown = _summary(snapshot, filters)
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
        figures=_figures(snapshot, filters),
        source=get_source().describe(),
        run_id=snapshot.run_id,
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
        kpis=figures.order_kpis(frame),
        columns=figures.ORDER_TABLE_COLUMNS,
        rows=figures.order_rows(frame),
    )
    return page, 200 if len(frame) else 404


def _data_docs_dir() -> Path | None:
    folder = current_app.config.get("DATA_DOCS_DIR")
    return Path(folder) if folder else None


@pipeline_health.get("/health/pipeline")
def pipeline_page() -> ResponseReturnValue:
    docs = _data_docs_dir()
    return render_template(
        "health.html",
        report=health.report(get_source().manifest()),
        data_docs=docs is not None and (docs / "index.html").is_file(),
        source=get_source().describe(),
    )


@pipeline_health.get("/data-docs/", defaults={"path": "index.html"})
@pipeline_health.get("/data-docs/<path:path>")
def data_docs(path: str) -> ResponseReturnValue:
    """Files of the Data Docs folder; anything outside it (or no folder configured) is a 404."""
    folder = _data_docs_dir()
    if folder is None or not folder.is_dir():
        raise NotFound("No Data Docs are configured for this dashboard.")
    if path.endswith("/"):
        path += "index.html"
    response = send_from_directory(folder.resolve(), path, max_age=60)
    response.headers["Content-Security-Policy"] = DATA_DOCS_CSP
    return response


@api.get("/health")
def health_json() -> ResponseReturnValue:
    source = get_source()
    try:
        snapshot = source.aggregates()
    except SourceError as exc:
        # The reason (endpoints, paths) goes to the log, not to whoever asks.
        current_app.logger.error("health: data source failed: %s", exc)
        return {"status": "unavailable"}, 503
    return {
        "status": "ok",
        "rows": snapshot.orders,
        "run_id": snapshot.run_id,
    }


@api.get("/api/summary")
def summary() -> ResponseReturnValue:
    snapshot, filters = snapshot_and_filters()
    return _summary(snapshot, filters)


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


def untrusted_host(error: SecurityError) -> ResponseReturnValue:
    """A Host outside TRUSTED_HOSTS: plain text, since no URL can be built for that host."""
    return current_app.response_class("Bad Request: untrusted Host header\n", 400,
                                      mimetype="text/plain")  # fmt: skip


def source_error(error: SourceError) -> ResponseReturnValue:
    current_app.logger.error("data source failed: %s", error)
    message = "The data source is unavailable; try again later."
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
