"""Generated documents, served in a sandbox: the Great Expectations Data Docs (DATA_DOCS_DIR) and
the EDA report of `pipeline eda` (EDA_REPORT)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound

# Data Docs are generated HTML with inline scripts: a sandbox (an opaque origin) lets them run
# without any access to the dashboard's origin.
DATA_DOCS_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'"
)

bp = Blueprint("data_docs", __name__)


def folder() -> Path | None:
    """The configured Data Docs folder (None: no Data Docs)."""
    configured = current_app.config.get("DATA_DOCS_DIR")
    return Path(configured) if configured else None


@bp.get("/data-docs/", defaults={"path": "index.html"})
@bp.get("/data-docs/<path:path>")
def document(path: str) -> ResponseReturnValue:
    """Files of the Data Docs folder; anything outside it (or no folder configured) is a 404."""
    docs = folder()
    if docs is None or not docs.is_dir():
        raise NotFound("No Data Docs are configured for this dashboard.")
    if path.endswith("/"):
        path += "index.html"
    response = send_from_directory(docs.resolve(), path, max_age=60)
    response.headers["Content-Security-Policy"] = DATA_DOCS_CSP
    return response


@bp.get("/eda")
def eda_report() -> ResponseReturnValue:
    """The EDA report file, if one was written (`pipeline eda --output DIR`)."""
    configured = current_app.config.get("EDA_REPORT")
    report = Path(configured) if configured else None
    if report is None or not report.is_file():
        raise NotFound("No EDA report yet: `pipeline eda --output DIR` writes one.")
    response = send_from_directory(report.parent.resolve(), report.name, max_age=60)
    response.headers["Content-Security-Policy"] = DATA_DOCS_CSP
    return response
