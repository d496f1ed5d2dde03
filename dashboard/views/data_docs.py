"""The Great Expectations Data Docs, served from the DATA_DOCS_DIR folder in a sandbox."""

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
