"""The pipeline health page: the last run's manifest as ``dashboard.health`` reports it."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from dashboard import health
from dashboard.views import data_docs
from dashboard.views.data import get_source

bp = Blueprint("pipeline_health", __name__)


@bp.get("/health/pipeline")
def pipeline_page() -> ResponseReturnValue:
    docs = data_docs.folder()
    return render_template(
        "health.html",
        report=health.report(get_source().manifest()),
        data_docs=docs is not None and (docs / "index.html").is_file(),
        source=get_source().label(),
    )
