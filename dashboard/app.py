"""The Flask app: the factory, the server (waitress), and what holds for every page (security
headers, trusted hosts, error pages).

The source is injected into ``create_app``; the pages, one blueprint per page group, live in
``dashboard.views``. Every query parameter goes through ``dashboard.filters`` before it touches
data or a template.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from waitress import wasyncore
from waitress.server import create_server
from werkzeug.exceptions import HTTPException, SecurityError

from dashboard.sources import DashboardSource, SourceError
from dashboard.views import BLUEPRINTS, api, data

# Plotly injects <style> elements and inline styles, hence 'unsafe-inline' for styles only.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# VIEW_CACHE_SIZE: computed views (summaries, figures) kept per filter combination.
# DATA_DOCS_DIR: folder of the Great Expectations Data Docs served at /data-docs/ (None: 404).
# EDA_REPORT: the HTML file of `pipeline eda`, served at /eda (None: 404).
DEFAULT_CONFIG: dict[str, Any] = {
    "CONTENT_SECURITY_POLICY": DEFAULT_CSP,
    "VIEW_CACHE_SIZE": 256,
    "DATA_DOCS_DIR": None,
    "EDA_REPORT": None,
    # Requests must name this machine: a page elsewhere that points its own host name at
    # 127.0.0.1 (DNS rebinding) gets a 400 instead of customer data. `serve` adds its bind host.
    "TRUSTED_HOSTS": ["127.0.0.1", "localhost"],
}
# Requests served at once; more wait in waitress's queue.
SERVER_THREADS = 8

log = logging.getLogger(__name__)


def create_app(source: DashboardSource, config: Mapping[str, Any] | None = None) -> Flask:
    """A dashboard over ``source``; ``config`` overrides ``DEFAULT_CONFIG`` (tests: TESTING)."""
    if not isinstance(source, DashboardSource):
        raise TypeError(f"source must implement DashboardSource, got {type(source).__name__}")
    app = Flask(__name__)
    app.config.from_mapping(DEFAULT_CONFIG)
    app.config.from_mapping(config or {})
    app.debug = False  # the Werkzeug debugger runs code from the browser: never on
    data.init_app(app, source)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
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
    ready: Callable[[], None] = lambda: None,
) -> None:
    """Run the dashboard on waitress, bound to ``host``:``port`` only (localhost unless told
    otherwise), until Ctrl-C; then the port and the worker threads are freed. ``ready`` is called
    once the port is bound: the first read of the source comes before it."""
    hosts = [*DEFAULT_CONFIG["TRUSTED_HOSTS"], host]
    app = create_app(source, {"TRUSTED_HOSTS": hosts, **(config or {})})
    warm(source)
    server = make_server(app, host, port)
    log.info("dashboard on http://%s:%s (%s)", host, port, source.describe())
    ready()
    try:
        server.run()  # waitress returns from run() on Ctrl-C
    finally:
        close_server(server)


def warm(source: DashboardSource) -> None:
    """Read the source's data before serving, so the first request does not wait for it (a run's
    aggregates over Thrift: about 9 s for 290k rows); a failure is logged and the requests then
    say it. In the calling thread: a reader left running in the background would outlive a
    stopped server."""
    try:
        source.aggregates()
    except SourceError as exc:
        log.warning("the dashboard's data could not be read yet: %s", exc)


def make_server(
    app: Flask, host: str = "127.0.0.1", port: int = 5000, *, threads: int = SERVER_THREADS
) -> Any:
    """``app`` on a waitress server bound to ``host``:``port`` only (port 0: a free one, see
    ``server.effective_port``), listening but not serving yet. ``server.run()`` serves in the
    calling thread until Ctrl-C or ``stop_server``; ``close_server`` frees the port and threads.

    No access log and no "Serving on" line; waitress still warns when requests queue up.
    """
    return create_server(app, host=host, port=port, threads=threads)


def stop_server(server: Any) -> None:
    """Make ``server.run()`` return, from any thread: the server's own loop closes every
    connection and the listening socket (closing them from another thread would race its
    select)."""
    connections = server._map  # the asyncore map run() loops over until it is empty
    server.trigger.pull_trigger(lambda: wasyncore.close_all(connections))


@contextlib.contextmanager
def serving(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """``app`` served from a background thread while the block runs; yields its base URL."""
    server = make_server(app, host, port)
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.effective_port}"
    finally:
        stop_server(server)
        thread.join(timeout=10)
        close_server(server)


def close_server(server: Any) -> None:
    """Close the listening socket and stop the worker threads (once ``run()`` has returned)."""
    try:
        server.close()
    finally:
        server.task_dispatcher.shutdown()


def _wants_json() -> bool:
    return request.blueprint == api.bp.name


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
