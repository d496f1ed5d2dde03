"""The dashboard's pages, one blueprint per page group; ``create_app`` registers ``BLUEPRINTS``."""

from dashboard.views import api, customer, data_docs, overview, pipeline_health, segments

BLUEPRINTS = (
    overview.bp, segments.bp, customer.bp, pipeline_health.bp, data_docs.bp, api.bp,
)  # fmt: skip
