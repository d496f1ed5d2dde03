"""The JSON API: ``/health`` for monitors and ``/api/summary``, the dashboard page's numbers.

Errors under this blueprint are JSON too (``dashboard.app``'s error handlers ask for ``bp.name``).
"""

from __future__ import annotations

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from dashboard.sources import SourceError
from dashboard.views import data

bp = Blueprint("api", __name__)


@bp.get("/health")
def health_json() -> ResponseReturnValue:
    try:
        snapshot = data.get_source().aggregates()
    except SourceError as exc:
        # The reason (endpoints, paths) goes to the log, not to whoever asks.
        current_app.logger.error("health: data source failed: %s", exc)
        return {"status": "unavailable"}, 503
    return {
        "status": "ok",
        "rows": snapshot.orders,
        "run_id": snapshot.run_id,
    }


@bp.get("/api/summary")
def summary() -> ResponseReturnValue:
    snapshot, filters = data.snapshot_and_filters()
    return data.summary(snapshot, filters)
