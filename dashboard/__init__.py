"""Flask + Plotly dashboard over the clean orders, from Parquet or HBase."""

from dashboard.app import create_app, serve
from dashboard.sources import HBaseSource, OrdersSource, ParquetSource, SourceError

__all__ = ["HBaseSource", "OrdersSource", "ParquetSource", "SourceError", "create_app", "serve"]
