"""Flask + Plotly dashboard over the pipeline's aggregates, from HBase or from local clean data."""

from dashboard.app import create_app, serve
from dashboard.snapshot import Snapshot
from dashboard.sources import (
    AggregateSource,
    DashboardSource,
    HBaseSource,
    LocalSource,
    OrdersSource,
    ParquetSource,
    SourceError,
)

__all__ = [
    "AggregateSource",
    "DashboardSource",
    "HBaseSource",
    "LocalSource",
    "OrdersSource",
    "ParquetSource",
    "Snapshot",
    "SourceError",
    "create_app",
    "serve",
]
