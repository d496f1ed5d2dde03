"""The segments page and ``/api/segments``: the run's customer segments, their sizes, revenue and
RFM spread, from the published segment tables."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from dashboard import segment_figures
from dashboard.snapshot import Snapshot
from dashboard.views.data import cached, get_source

bp = Blueprint("segments", __name__)


def _summary(snapshot: Snapshot) -> list[dict[str, Any]]:
    return cached(
        snapshot,
        "segments",
        lambda: segment_figures.segment_summary(snapshot.segments, snapshot.segment_centroids),
    )


@bp.get("/segments")
def page() -> ResponseReturnValue:
    snapshot = get_source().aggregates()
    summary = _summary(snapshot)
    return render_template(
        "segments.html",
        summary=summary,
        figures=segment_figures.segment_figures(summary) if summary else {},
        labels=segment_figures.MEASURE_LABELS,
        source=get_source().label(),
        run_id=snapshot.run_id,
    )


@bp.get("/api/segments")
def api() -> ResponseReturnValue:
    snapshot = get_source().aggregates()
    return {"run_id": snapshot.run_id, "segments": _summary(snapshot)}
