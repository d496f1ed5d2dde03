"""The Flask app: the factory, the server, and what holds for every page (security headers,
trusted hosts, error pages).

The source is injected into ``create_app``; the pages, one blueprint per page group, live in
``dashboard.views``. Every query parameter goes through ``dashboard.filters`` before it touches
data or a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.serving import make_server

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
DEFAULT_CONFIG: dict[str, Any] = {
    "CONTENT_SECURITY_POLICY": DEFAULT_CSP,
    "VIEW_CACHE_SIZE": 256,
    "DATA_DOCS_DIR": None,
    # Requests must name this machine: a page elsewhere that points its own host name at
    # 127.0.0.1 (DNS rebinding) gets a 400 instead of customer data. `serve` adds its bind host.
    "TRUSTED_HOSTS": ["127.0.0.1", "localhost"],
}


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
) -> None:
    """Run the dashboard on Werkzeug's threaded server, bound to localhost unless told otherwise."""
    hosts = [*DEFAULT_CONFIG["TRUSTED_HOSTS"], host]
    server = make_server(host, port, create_app(source, {"TRUSTED_HOSTS": hosts, **(config or {})}),
                         threaded=True)  # fmt: skip
    try:
        server.serve_forever()
    finally:
        server.server_close()


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
