"""What the pages read: the source injected into the app, and the summaries and figures computed
from its snapshot, cached per filter combination.

Every chart and KPI comes from the source's aggregates (``dashboard.snapshot``), never from
scanning orders. Every query parameter goes through ``dashboard.filters`` before it touches data.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request

from dashboard import figures
from dashboard.filters import Filters, parse_filters
from dashboard.snapshot import Snapshot
from dashboard.sources import DashboardSource

SOURCE_KEY = "dashboard.source"
VIEWS_KEY = "dashboard.views"


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


def init_app(app: Flask, source: DashboardSource) -> None:
    """Give ``app`` its source and an empty cache of VIEW_CACHE_SIZE views."""
    app.extensions[SOURCE_KEY] = source
    app.extensions[VIEWS_KEY] = SnapshotViews(app.config["VIEW_CACHE_SIZE"])


def get_source() -> DashboardSource:
    return current_app.extensions[SOURCE_KEY]


def _views() -> SnapshotViews:
    return current_app.extensions[VIEWS_KEY]


def snapshot_and_filters() -> tuple[Snapshot, Filters]:
    """The source's aggregates and the request's filters checked against their vocabulary."""
    snapshot = get_source().aggregates()
    return snapshot, parse_filters(request.args, snapshot.vocabulary)


def cached(snapshot: Snapshot, name: str, build: Callable[[], Any]) -> Any:
    """A view of the whole snapshot (no filters), built once per snapshot."""
    return _views().view(snapshot, (name, Filters()), build)


def summary(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    """KPIs, chart data and top customers of the selection (the page and the JSON API)."""

    def build() -> dict[str, Any]:
        return {
            "filters": filters.to_query(),
            "run_id": snapshot.run_id,
            **figures.summary(snapshot.select(filters)),
        }

    return _views().view(snapshot, ("summary", filters), build)


def chart_figures(snapshot: Snapshot, filters: Filters) -> dict[str, Any]:
    """The Plotly figures of the selection's charts."""

    def build() -> dict[str, Any]:
        return figures.figures(summary(snapshot, filters)["charts"])

    return _views().view(snapshot, ("figures", filters), build)
