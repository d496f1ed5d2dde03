"""The dashboard contract on local Parquet: pages, filters, drill-down, errors, sources, charts.

Every number the pages show comes from the aggregates; the oracle is pandas over the clean rows.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest
from dashboard_data import (
    CATEGORIES,
    COUNTRIES,
    clean_orders,
    write_partitioned,
    write_spark_like,
)
from hbase_fake import FakeHBase
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from dashboard import (
    DashboardSource,
    HBaseSource,
    LocalSource,
    OrdersSource,
    ParquetSource,
    Snapshot,
    SourceError,
    create_app,
    figures,
    serve,
)
from dashboard import app as dashboard_app
from dashboard.filters import (
    FILTER_PARAMS,
    Filters,
    InvalidParameter,
    parse_customer_id,
    parse_filters,
)
from dashboard.sources import normalize
from pipeline import aggregate, hbase_codec
from pipeline.countries import region_of_name
from pipeline.schema import AGE_GROUPS, CLEAN_COLUMNS

pytestmark = pytest.mark.unit

CHARTS = tuple(figures.FIGURES)
KPIS = ("revenue", "orders", "customers", "average_order_value")


@pytest.fixture(scope="module")
def raw_orders() -> pd.DataFrame:
    return clean_orders()


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory, raw_orders: pd.DataFrame) -> Path:
    return write_spark_like(raw_orders, tmp_path_factory.mktemp("clean") / "orders")


@pytest.fixture
def app(parquet_dir: Path):
    return create_app(ParquetSource(parquet_dir), {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def revenue_where(frame: pd.DataFrame, **equals: Any) -> float:
    """The pandas oracle: TotalAmount summed (to the cent) over rows whose columns equal values."""
    mask = pd.Series(True, index=frame.index)
    for column, value in equals.items():
        mask &= frame[column] == value
    return round(float(frame.loc[mask, "TotalAmount"].sum()), 2)


def month_of(frame: pd.DataFrame) -> pd.Series:
    return frame["OrderDate"].map(lambda day: day.strftime("%Y-%m"))


def kpi_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="kpi-(\w+)" data-value="([^"]*)"', html))


def embedded_figures(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="figures-data">(.*?)<', html, re.S)
    assert match, "the page embeds its figures as JSON"
    return json.loads(match.group(1))


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "mimetype"),
    [
        ("/", "text/html"),
        ("/customer", "text/html"),
        ("/customer?id=C0001", "text/html"),
        ("/health", "application/json"),
        ("/health/pipeline", "text/html"),
        ("/api/summary", "application/json"),
        ("/static/plotly.min.js", "text/javascript"),
        ("/static/dashboard.js", "text/javascript"),
        ("/static/dashboard.css", "text/css"),
    ],
)
def test_every_route_answers_200(client, url: str, mimetype: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_dashboard_shows_every_kpi_and_chart_container(client) -> None:
    html = client.get("/").get_data(as_text=True)
    for name in CHARTS:
        assert f'id="chart-{name}"' in html
    assert set(kpi_values(html)) == set(KPIS)
    drawn = embedded_figures(html)
    assert set(drawn) == set(CHARTS)
    assert all(figure["data"] for figure in drawn.values()), "every chart has traces"


def test_dashboard_kpis_equal_pandas_aggregates(client, raw_orders: pd.DataFrame) -> None:
    shown = kpi_values(client.get("/").get_data(as_text=True))
    revenue = round(float(raw_orders["TotalAmount"].sum()), 2)
    assert float(shown["revenue"]) == revenue
    assert int(shown["orders"]) == len(raw_orders)
    assert int(shown["customers"]) == raw_orders["CustomerID"].nunique()
    assert float(shown["average_order_value"]) == pytest.approx(revenue / len(raw_orders))


def test_monthly_trend_has_one_line_per_category_over_every_month(client) -> None:
    line = embedded_figures(client.get("/").get_data(as_text=True))["monthly_sales"]
    assert sorted(trace["name"] for trace in line["data"]) == sorted(CATEGORIES)
    assert {trace["type"] for trace in line["data"]} == {"scatter"}
    assert len(line["data"][0]["x"]) == 18


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("country", COUNTRIES)
def test_country_filter_reduces_revenue_to_the_pandas_value(
    client, raw_orders: pd.DataFrame, country: str
) -> None:
    everything = client.get("/api/summary").get_json()
    only = client.get("/api/summary", query_string={"country": country}).get_json()
    expected = revenue_where(raw_orders, Country=country)
    assert only["kpis"]["revenue"] == expected
    assert only["kpis"]["revenue"] < everything["kpis"]["revenue"]
    assert only["kpis"]["orders"] == int((raw_orders["Country"] == country).sum())
    assert only["charts"]["sales_by_country"]["countries"] == [country]
    assert only["charts"]["sales_by_region"]["regions"] == [region_of_name(country)]
    assert only["filters"] == {"country": country}


def test_combined_filters_equal_the_pandas_selection(client, raw_orders: pd.DataFrame) -> None:
    query = {
        "start": "2023-03",
        "end": "2023-11",
        "category": "Home & Kitchen",
        "age_group": "25-34",
    }
    got = client.get("/api/summary", query_string=query).get_json()
    months = month_of(raw_orders)
    expected = raw_orders[
        (months >= "2023-03")
        & (months <= "2023-11")
        & (raw_orders["Category"] == "Home & Kitchen")
        & (raw_orders["AgeGroup"] == "25-34")
    ]
    assert len(expected) > 0, "the test data covers the selection"
    assert got["kpis"]["orders"] == len(expected)
    assert got["kpis"]["revenue"] == round(float(expected["TotalAmount"].sum()), 2)
    assert got["kpis"]["customers"] == expected["CustomerID"].nunique()
    assert got["charts"]["monthly_sales"]["months"][0] == "2023-03"
    assert got["charts"]["monthly_sales"]["months"][-1] <= "2023-11"
    assert got["filters"] == query


def test_a_filter_changes_every_chart_at_once(client) -> None:
    everything = client.get("/api/summary").get_json()["charts"]
    filtered = client.get(
        "/api/summary", query_string={"country": "Japan", "end": "2023-12"}
    ).get_json()["charts"]
    for name in CHARTS:
        assert filtered[name] != everything[name], name


def test_page_and_api_show_the_same_filtered_numbers(client) -> None:
    query = {"category": "Books", "age_group": "65+"}
    api = client.get("/api/summary", query_string=query).get_json()
    html = client.get("/", query_string=query).get_data(as_text=True)
    shown = kpi_values(html)
    assert float(shown["revenue"]) == api["kpis"]["revenue"]
    assert int(shown["orders"]) == api["kpis"]["orders"]
    bars = embedded_figures(html)["sales_by_country"]["data"][0]
    assert bars["x"] == api["charts"]["sales_by_country"]["countries"]
    assert bars["y"] == api["charts"]["sales_by_country"]["sales"]


def test_selected_filters_stay_in_the_form_and_links(client) -> None:
    query = {
        "start": "2023-02",
        "end": "2024-01",
        "country": "Côte d'Ivoire",
        "category": "Home & Kitchen",
        "age_group": "45-54",
    }
    html = client.get("/", query_string=query).get_data(as_text=True)
    assert 'method="get"' in html
    for name in query:
        assert f'<option value="{escape(query[name])}" selected>' in html
    assert html.count(" selected>") == 5
    json_link = re.search(r'id="summary-json" href="([^"]*)"', html).group(1)
    assert client.get(html_lib.unescape(json_link)).get_json()["filters"] == query


@pytest.mark.parametrize("query", [{"country": "", "category": ""}, {"utm_source": "m", "x": "1"}])
def test_empty_values_and_unknown_parameters_do_not_filter(client, query) -> None:
    assert client.get("/api/summary", query_string=query).get_json() == (
        client.get("/api/summary").get_json()
    )


def test_a_range_without_orders_renders_empty_charts(client) -> None:
    query = {"start": "2030-01", "end": "2030-12"}
    api = client.get("/api/summary", query_string=query).get_json()
    assert api["kpis"] == {"revenue": 0.0, "orders": 0, "customers": 0, "average_order_value": 0.0}
    assert api["charts"]["monthly_sales"] == {"months": [], "series": []}
    assert api["top_customers"]["customers"] == []
    page = client.get("/", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "No orders match the filters" in html
    assert '<option value="2030-01" selected>' in html, "a valid month outside the data stays"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"country": "Atlantis"}, "country"),
        ({"category": "<script>alert(1)</script>"}, "category"),
        ({"age_group": "17-"}, "age_group"),
        ({"start": "2024-13"}, "start"),
        ({"start": "2024-01-01"}, "start"),
        ({"start": "01/2024"}, "start"),
        ({"end": "0000-02"}, "end"),
        ({"start": "2024-02", "end": "2024-01"}, "end"),
        ({"country": ["Japan", "Brazil"]}, "country"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/api/summary"])
def test_bad_filter_is_400_naming_the_parameter_not_the_value(
    client, path: str, query: dict, parameter: str
) -> None:
    response = client.get(path, query_string=query)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    if path.startswith("/api"):
        message = response.get_json()["message"]
        assert message.startswith(f"Invalid query parameter '{parameter}': ")
    else:
        assert f"Invalid query parameter &#39;{parameter}&#39;: " in body
    for value in query.values():
        for text in value if isinstance(value, list) else [value]:
            if text not in ("Japan", "Brazil", "2024-02", "2024-01"):
                assert text not in body
                assert str(escape(text)) not in body


# --- customer drill-down -------------------------------------------------------------------------


@pytest.mark.parametrize("customer_id", ["C0000", "C0007", "C0042"])
def test_customer_page_lists_exactly_that_customers_orders(
    client, raw_orders: pd.DataFrame, customer_id: str
) -> None:
    response = client.get("/customer", query_string={"id": customer_id})
    assert response.status_code == 200
    shown = re.findall(r'<tr data-row-key="([^"]+)">', response.get_data(as_text=True))
    theirs = raw_orders[raw_orders["CustomerID"] == customer_id].sort_values(
        ["OrderDate", "row_key"]
    )
    assert shown == list(theirs["row_key"])


def test_unknown_customer_is_404_with_a_message(client) -> None:
    response = client.get("/customer?id=NOBODY")
    assert response.status_code == 404
    assert "No orders found for this customer." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "bad_id", ["x" * 65, "C 001", "C0001'--", "<b>", "Ç0001", "C0001\n", "../C0001"]
)
def test_bad_customer_id_is_400(client, bad_id: str) -> None:
    response = client.get("/customer", query_string={"id": bad_id})
    assert response.status_code == 400
    assert "Invalid query parameter &#39;id&#39;" in response.get_data(as_text=True)


def test_top_customers_link_to_their_drill_down(client) -> None:
    html = client.get("/", query_string={"country": "Japan"}).get_data(as_text=True)
    links = re.findall(r'href="/customer\?id=([A-Za-z0-9_-]+)"', html)
    assert links
    for customer_id in links[:3]:
        assert client.get(f"/customer?id={customer_id}").status_code == 200


# --- health, assets, headers ---------------------------------------------------------------------


def test_health_reports_the_run_and_order_count_but_no_endpoint(client) -> None:
    health = client.get("/health").get_json()
    assert health.pop("run_id").startswith("local-")
    assert health == {"status": "ok", "rows": 2_000}


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "10.0.0.5"])
def test_a_request_naming_another_host_is_refused(client, host: str) -> None:
    """DNS rebinding: a foreign page's host name resolved to 127.0.0.1 must not read the data."""
    for path in ("/", "/api/summary", "/health", "/customer?id=C1"):
        assert client.get(path, headers={"Host": host}).status_code == 400, path
    assert client.get("/health", headers={"Host": "127.0.0.1:5000"}).status_code == 200
    assert client.get("/health", headers={"Host": "localhost:5000"}).status_code == 200


def test_a_failing_source_gives_503_not_500(tmp_path: Path) -> None:
    client = create_app(ParquetSource(tmp_path / "missing"), {"TESTING": True}).test_client()
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable"}  # the reason is logged, not shown
    assert client.get("/").status_code == 503
    assert client.get("/api/summary").get_json()["error"] == "Service Unavailable"


def test_plotly_js_is_served_locally_and_no_page_loads_remote_scripts(client) -> None:
    js = client.get("/static/plotly.min.js")
    assert js.data.startswith(b"/**\n* plotly.js v")
    again = client.get("/static/plotly.min.js", headers={"If-None-Match": js.headers["ETag"]})
    assert again.status_code == 304
    html = client.get("/").get_data(as_text=True)
    assert '<script src="/static/plotly.min.js"' in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_responses_carry_security_headers_and_debug_is_off(parquet_dir: Path) -> None:
    app = create_app(ParquetSource(parquet_dir), {"TESTING": True, "DEBUG": True})
    assert app.debug is False
    headers = app.test_client().get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("host", "trusted"),
    [
        ("127.0.0.1", ["127.0.0.1", "localhost", "127.0.0.1"]),
        ("192.0.2.7", ["127.0.0.1", "localhost", "192.0.2.7"]),
    ],
)
def test_serve_runs_waitress_on_its_host_and_port_and_always_closes(
    parquet_dir: Path, monkeypatch, host: str, trusted: list[str]
) -> None:
    calls: list[Any] = []

    class Dispatcher:
        def shutdown(self) -> None:
            calls.append("threads stopped")

    class Server:
        task_dispatcher = Dispatcher()

        def run(self) -> None:
            calls.append("run")
            raise KeyboardInterrupt

        def close(self) -> None:
            calls.append("closed")

    def create_server(app, **adjustments):
        calls.append((app.debug, app.config["TRUSTED_HOSTS"], adjustments))
        return Server()

    monkeypatch.setattr("dashboard.app.create_server", create_server)
    with pytest.raises(KeyboardInterrupt):
        # `ready` (the CLI's "dashboard on URL") once the port is bound, not before.
        serve(ParquetSource(parquet_dir), host=host, port=5099, ready=lambda: calls.append("ready"))
    assert calls == [
        (False, trusted, {"host": host, "port": 5099, "threads": dashboard_app.SERVER_THREADS}),
        "ready",
        "run",
        "closed",
        "threads stopped",
    ]


def serve_in_thread(source: Any, monkeypatch) -> tuple[threading.Thread, list[Any]]:
    """serve(source) on a free port in a thread, waited for (10 s at most); the list holds the
    server it made."""
    made: list[Any] = []
    make_server = dashboard_app.make_server

    def recording_make_server(*args: Any, **kwargs: Any) -> Any:
        made.append(make_server(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(dashboard_app, "make_server", recording_make_server)
    thread = threading.Thread(target=serve, args=(source,), kwargs={"port": 0}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not made and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, made


def test_serve_reads_the_source_before_any_request(raw_orders, monkeypatch) -> None:
    read = threading.Event()

    class WatchedSource(LocalSource):
        def aggregates(self):  # noqa: ANN202 - the Snapshot of LocalSource
            read.set()
            return super().aggregates()

    source = WatchedSource(raw_orders.head(50), manifest={"run_id": "r-warm"})
    thread, made = serve_in_thread(source, monkeypatch)
    try:
        assert made, "serve made no server within 10 s"
        assert read.wait(timeout=10), "serve read nothing within 10 s of starting"
    finally:
        if made:
            dashboard_app.stop_server(made[0])
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_dashboard_warm_logs_a_source_error_instead_of_raising(caplog) -> None:
    class DownSource(LocalSource):
        def aggregates(self):  # noqa: ANN202
            raise SourceError("HBase is down")

    dashboard_app.warm(DownSource(pd.DataFrame(columns=list(CLEAN_COLUMNS))))
    assert "HBase is down" in caplog.text


def test_serve_answers_over_http_rejects_foreign_hosts_and_stops(raw_orders, monkeypatch) -> None:
    source = LocalSource(raw_orders.head(50), manifest={"run_id": "r-live"}, name="live")
    thread, made = serve_in_thread(source, monkeypatch)
    assert made, "serve made no server within 10 s"
    server = made[0]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy for loopback
    url = f"http://127.0.0.1:{server.effective_port}/health"
    try:
        with opener.open(url, timeout=10) as response:
            assert response.status == 200
            assert response.headers.get_content_type() == "application/json"
            assert json.load(response) == {"status": "ok", "rows": 50, "run_id": "r-live"}
        foreign = urllib.request.Request(url, headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as rejected:
            opener.open(foreign, timeout=10)
        with rejected.value as error:
            assert error.code == 400
            assert b"untrusted Host" in error.read()
    finally:
        dashboard_app.stop_server(server)
        thread.join(timeout=10)
    assert not thread.is_alive(), "serve returned once the server was stopped"
    assert server.socket is None, "serve closed the listening socket"
    assert not server.task_dispatcher.threads, "and stopped its worker threads"


def test_create_app_rejects_something_that_is_not_a_source() -> None:
    with pytest.raises(TypeError, match="DashboardSource"):
        create_app(object())


# --- sources -------------------------------------------------------------------------------------


def test_parquet_source_reads_spark_output_ignoring_markers(parquet_dir: Path, raw_orders) -> None:
    source = ParquetSource(parquet_dir)
    assert isinstance(source, OrdersSource) and isinstance(source, DashboardSource)
    frame = source.orders()
    assert tuple(frame.columns) == CLEAN_COLUMNS
    assert sorted(frame["row_key"]) == sorted(raw_orders["row_key"])
    assert frame["OrderDate"].dtype == "datetime64[ns]"
    assert source.orders() is frame, "read once per process"


def test_partitioned_output_reads_like_flat_output(tmp_path: Path, raw_orders) -> None:
    flat = ParquetSource(write_spark_like(raw_orders, tmp_path / "flat")).orders()
    nested = ParquetSource(
        write_partitioned(raw_orders, tmp_path / "nested", ("Category", "AgeGroup"))
    ).orders()
    by_key = ["row_key"]
    pd.testing.assert_frame_equal(
        nested.sort_values(by_key).reset_index(drop=True),
        flat.sort_values(by_key).reset_index(drop=True),
    )


def test_parquet_source_refresh_rereads_the_directory(tmp_path: Path, raw_orders) -> None:
    source = ParquetSource(write_spark_like(raw_orders.head(10), tmp_path / "o", parts=1))
    assert len(source.orders()) == 10
    write_spark_like(raw_orders.iloc[10:30], tmp_path / "o" / "more", parts=1)
    assert len(source.orders()) == 10
    assert len(source.refresh()) == 30


def test_pages_follow_a_source_refresh(tmp_path: Path, raw_orders) -> None:
    source = ParquetSource(write_spark_like(raw_orders.head(10), tmp_path / "o", parts=1))
    client = create_app(source, {"TESTING": True}).test_client()
    assert client.get("/api/summary").get_json()["kpis"]["orders"] == 10
    write_spark_like(raw_orders.iloc[10:30], tmp_path / "o" / "more", parts=1)
    assert client.get("/api/summary").get_json()["kpis"]["orders"] == 10, "cached until refreshed"
    source.refresh()
    assert client.get("/api/summary").get_json()["kpis"]["orders"] == 30
    assert 'data-value="30"' in client.get("/").get_data(as_text=True)


def test_missing_parquet_dir_names_the_path_and_a_hint(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no Parquet files under .*missing.*Hint"):
        ParquetSource(tmp_path / "missing").orders()


def test_normalize_names_missing_and_present_columns() -> None:
    with pytest.raises(SourceError, match=r"missing clean columns \[.*'row_key'.*present: \['x'\]"):
        normalize(pd.DataFrame({"x": [1]}))


@pytest.fixture(scope="module")
def hbase_rows(raw_orders: pd.DataFrame) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return [hbase_codec.encode(record) for record in raw_orders.head(300).to_dict("records")]


def hbase_with(rows: list[tuple[bytes, dict[bytes, bytes]]]) -> FakeHBase:
    hbase = FakeHBase()
    table = hbase.table("customer_orders")
    for key, cells in rows:
        table.put(key, cells)
    return hbase


def test_hbase_source_connects_lazily_and_scans_once(hbase_rows, raw_orders) -> None:
    hbase = hbase_with(hbase_rows)
    source = HBaseSource("hbase", 9090, batch_size=500, connect=hbase.connect)
    assert hbase.connections == [] and source.describe() == "hbase://hbase:9090/customer_orders"
    assert source.label() == "HBase table customer_orders"
    frame = source.orders()
    assert source.orders() is frame
    assert len(hbase.connections) == 1 and hbase.connections[0].opened
    assert hbase.calls == [("scan", "customer_orders", None, 500)]
    assert tuple(frame.columns) == CLEAN_COLUMNS
    expected = normalize(raw_orders.head(300)).sort_values("row_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame.sort_values("row_key").reset_index(drop=True), expected)


def test_hbase_customer_orders_is_a_prefix_scan(hbase_rows, raw_orders) -> None:
    hbase = hbase_with(hbase_rows)
    source = HBaseSource("hbase", 9090, connect=hbase.connect)
    customer_id = raw_orders.head(300)["CustomerID"].iloc[0]
    frame = source.customer_orders(customer_id)
    assert hbase.calls[-1][2] == hbase_codec.customer_prefix(customer_id)
    assert set(frame["CustomerID"]) == {customer_id}
    head = raw_orders.head(300)
    theirs = head.loc[head["CustomerID"] == customer_id, "row_key"]
    assert sorted(frame["row_key"]) == sorted(theirs)


def test_hbase_failure_raises_source_error_and_reconnects_next_time(hbase_rows) -> None:
    hbase = hbase_with(hbase_rows)
    hbase.fail = True
    source = HBaseSource("hbase", 9090, connect=hbase.connect)
    with pytest.raises(SourceError, match=r"customer_orders.*hbase:9090.*Hint"):
        source.orders()
    hbase.fail = False
    assert len(source.orders()) == 300
    assert len(hbase.connections) == 2


def test_create_app_accepts_an_hbase_source(hbase_rows) -> None:
    source = HBaseSource("hbase", 9090, connect=hbase_with(hbase_rows).connect)
    client = create_app(source, {"TESTING": True}).test_client()
    assert client.get("/health").get_json()["rows"] == 300


def source_pages(customer_id: str) -> tuple[str, ...]:
    """Every page with the footer, a customer's, an error page, and the JSON."""
    return (
        *("/", "/health/pipeline", "/customer", f"/customer?id={customer_id}", "/no-such-page"),
        *("/health", "/api/summary", "/api/no-such-thing"),
    )


def test_pages_name_the_hbase_table_but_never_the_thrift_endpoint(hbase_rows, raw_orders) -> None:
    source = HBaseSource("thrift.internal.example", 47123, connect=hbase_with(hbase_rows).connect)
    client = create_app(source, {"TESTING": True}).test_client()
    for url in source_pages(raw_orders["CustomerID"].iloc[0]):
        text = client.get(url).get_data(as_text=True)
        assert "thrift.internal.example" not in text and "47123" not in text, url
        assert "hbase://" not in text, url
    for url in ("/", "/health/pipeline"):
        footer = "Data source: <code>HBase table customer_orders</code>"
        assert footer in client.get(url).get_data(as_text=True), url


def test_pages_name_the_parquet_folder_but_not_its_path(parquet_dir: Path, raw_orders) -> None:
    source = ParquetSource(parquet_dir)
    assert source.label() == f"Parquet folder {parquet_dir.name}"
    assert source.describe() == f"parquet:{parquet_dir}"  # the whole path: for logs
    client = create_app(source, {"TESTING": True}).test_client()
    for url in source_pages(raw_orders["CustomerID"].iloc[0]):
        assert str(parquet_dir.parent) not in client.get(url).get_data(as_text=True), url
    assert f"Data source: <code>Parquet folder {parquet_dir.name}</code>" in client.get(
        "/"
    ).get_data(as_text=True)
    single = next(parquet_dir.glob("*.parquet"))
    assert ParquetSource(single).label() == f"Parquet file {single.name}"


# --- filters, the snapshot and figures as pure functions -----------------------------------------


@pytest.fixture(scope="module")
def frame(parquet_dir: Path) -> pd.DataFrame:
    return ParquetSource(parquet_dir).orders()


@pytest.fixture(scope="module")
def snapshot(frame: pd.DataFrame) -> Snapshot:
    return Snapshot.from_aggregates(aggregate.build_aggregates(frame), "run-1")


def selection_of(frame: pd.DataFrame, **filters: Any):
    snap = Snapshot.from_aggregates(aggregate.build_aggregates(frame), "x")
    return snap.select(Filters(**filters))


def test_parsed_filters_round_trip_through_their_query(snapshot) -> None:
    filters = Filters("2023-01", "2023-06", "Japan", "Books", "18-24")
    assert parse_filters(filters.to_query(), snapshot.vocabulary) == filters
    assert parse_filters({}, snapshot.vocabulary) == Filters()


def test_vocabulary_comes_from_the_aggregates(snapshot) -> None:
    vocabulary = snapshot.vocabulary
    assert vocabulary.countries == tuple(sorted(COUNTRIES))
    assert vocabulary.categories == tuple(sorted(CATEGORIES))
    assert vocabulary.age_groups == AGE_GROUPS
    assert vocabulary.first_month == "2023-01"
    assert len(vocabulary.months) == 18


@pytest.mark.parametrize(
    ("start", "end", "orders"),
    [("0001-01", "9999-12", 2_000), ("9999-01", None, 0), (None, "0001-12", 0)],
)
def test_any_calendar_month_filters_without_overflow(snapshot, start, end, orders) -> None:
    query = {k: v for k, v in (("start", start), ("end", end)) if v}
    selected = snapshot.select(parse_filters(query, snapshot.vocabulary))
    assert figures.kpis(selected)["orders"] == orders


@pytest.mark.parametrize("value", ["C0001", "a", "A-b_9", "x" * 64])
def test_safe_customer_ids_are_accepted(value: str) -> None:
    assert parse_customer_id({"id": value}) == value


def test_invalid_parameter_is_a_400_that_names_the_parameter() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_customer_id({"id": "{{7*7}}"})
    assert caught.value.code == 400
    assert caught.value.parameter == "id"
    assert "{{" not in caught.value.description
    assert set(FILTER_PARAMS) == {"start", "end", "country", "category", "age_group", "segment"}


SELECTIONS = st.fixed_dictionaries(
    {},
    optional={
        "country": st.sampled_from(COUNTRIES),
        "category": st.sampled_from(CATEGORIES),
        "age_group": st.sampled_from(AGE_GROUPS),
        "start": st.sampled_from(["2022-12", "2023-01", "2023-05", "2024-02", "2024-06"]),
        "end": st.sampled_from(["2023-01", "2023-07", "2024-03", "2024-06", "2025-01"]),
    },
).map(
    lambda f: (
        {**f, "start": f["end"], "end": f["start"]}
        if f.get("start") and f.get("end") and f["start"] > f["end"]
        else f
    )
)


@settings(deadline=None)
@given(chosen=SELECTIONS)
@example(chosen={})  # no filter: every order
@example(chosen={"start": "2024-06", "end": "2024-06"})  # one month, the data's last
# A range that starts before the data, and a country with an apostrophe.
@example(chosen={"start": "2022-12", "end": "2023-01", "country": "Côte d'Ivoire"})
def test_filters_on_the_aggregates_equal_filters_on_the_clean_rows(
    snapshot, raw_orders, chosen
) -> None:
    months = month_of(raw_orders)
    rows = raw_orders[
        (months >= chosen.get("start", "0000")) & (months <= chosen.get("end", "9999"))
    ]
    for param, column in (
        ("country", "Country"),
        ("category", "Category"),
        ("age_group", "AgeGroup"),
    ):
        if param in chosen:
            rows = rows[rows[column] == chosen[param]]
    selected = snapshot.select(Filters(**chosen))
    shown = figures.kpis(selected)
    assert shown["orders"] == len(rows)
    assert shown["revenue"] == round(float(rows["TotalAmount"].sum()), 2)
    assert shown["customers"] == rows["CustomerID"].nunique(), "distinct customers are exact"
    by_country = figures.sales_by_country(selected.cube)
    expected = rows.groupby("Country")["TotalAmount"].sum().round(2)
    assert (
        dict(zip(by_country["countries"], by_country["sales"], strict=True)) == expected.to_dict()
    )
    monthly = figures.monthly_sales(selected.cube)
    assert sum(sum(s["sales"]) for s in monthly["series"]) == pytest.approx(shown["revenue"])
    # Panels whose aggregates have no month key apply every other filter.
    undated = raw_orders
    for param, column in (
        ("country", "Country"),
        ("category", "Category"),
        ("age_group", "AgeGroup"),
    ):
        if param in chosen:
            undated = undated[undated[column] == chosen[param]]
    assert sum(figures.age_distribution(selected.ages)["orders"]) == len(undated)
    top = figures.top_products(selected.products, n=100)
    assert sum(top["quantity"]) == undated["Quantity"].sum()
    dated = "start" in chosen or "end" in chosen
    ignored = figures.ignored_filters(selected)
    assert ignored == ({} if not dated else {
        "age_distribution": [p for p in ("start", "end") if p in chosen],
        "top_products": [p for p in ("start", "end") if p in chosen],
        "top_products_by_units": [p for p in ("start", "end") if p in chosen],
    })  # fmt: skip
    by_units = figures.chart_data("top_products_by_units", selected)
    assert by_units["quantity"] == sorted(by_units["quantity"], reverse=True)
    units = undated.groupby("ProductID")["Quantity"].sum().sort_values(ascending=False)
    assert by_units["quantity"] == [int(q) for q in units.head(len(by_units["quantity"]))]
    by_region = figures.monthly_by_region(selected.cube)
    regions = rows["Country"].map(region_of_name)
    expected_regions = rows.groupby(regions)["TotalAmount"].sum().round(2).to_dict()
    assert {s["region"]: round(sum(s["sales"]), 2) for s in by_region["series"]} == pytest.approx(
        expected_regions
    )
    by_age = figures.monthly_by_age_group(selected.cube)
    assert [s["age_group"] for s in by_age["series"]] == [
        g for g in AGE_GROUPS if g in set(rows["AgeGroup"])
    ]
    assert by_age["months"] == monthly["months"]


def test_top_customers_are_those_with_orders_in_the_selection_by_lifetime_sales(
    snapshot, raw_orders
) -> None:
    chosen = {"start": "2024-03", "end": "2024-04", "category": "Books"}
    top = figures.top_customers(snapshot.select(Filters(**chosen)), n=5)
    months = month_of(raw_orders)
    active = raw_orders[
        (months >= "2024-03") & (months <= "2024-04") & (raw_orders["Category"] == "Books")
    ]["CustomerID"].unique()
    lifetime = (
        raw_orders[raw_orders["CustomerID"].isin(active)]
        .groupby("CustomerID")["TotalAmount"]
        .sum()
        .round(2)
        .reset_index()
        .sort_values(["TotalAmount", "CustomerID"], ascending=[False, True])
        .head(5)
    )
    assert top["customers"] == list(lifetime["CustomerID"])
    assert top["sales"] == list(lifetime["TotalAmount"])
    assert top["names"] == [f"Customer {int(c[1:])}" for c in top["customers"]]


def test_chart_totals_add_up_to_revenue(snapshot, frame) -> None:
    selected = snapshot.select(Filters())
    revenue = figures.kpis(selected)["revenue"]
    monthly = figures.monthly_sales(selected.cube)
    assert sum(sum(s["sales"]) for s in monthly["series"]) == pytest.approx(revenue)
    assert sum(figures.sales_by_country(selected.cube)["sales"]) == pytest.approx(revenue)
    by_region = figures.sales_by_region(selected.cube)
    assert sum(by_region["sales"]) == pytest.approx(revenue)
    expected = frame.assign(Region=[region_of_name(c) for c in frame["Country"]])
    totals = expected.groupby("Region")["TotalAmount"].sum().round(2)
    assert dict(zip(by_region["regions"], by_region["sales"], strict=True)) == totals.to_dict()
    assert by_region["sales"] == sorted(by_region["sales"], reverse=True)
    groups = figures.age_groups(selected.cube)
    assert groups["age_groups"] == list(AGE_GROUPS)
    assert sum(groups["sales"]) == pytest.approx(revenue)
    assert sum(groups["orders"]) == len(frame)
    assert sum(figures.age_distribution(selected.ages)["orders"]) == len(frame)


def test_monthly_sales_fills_months_without_orders() -> None:
    orders = normalize(clean_orders(rows=40))
    orders = orders[orders["OrderDate"].dt.month != 3]
    months = figures.monthly_sales(selection_of(orders).cube)["months"]
    assert months == [str(m) for m in pd.period_range(months[0], months[-1], freq="M")]
    assert "2023-03" in months


def test_top_products_are_sorted_and_labels_unique(snapshot) -> None:
    top = figures.top_products(snapshot.select(Filters()).products, n=5)
    assert top["sales"] == sorted(top["sales"], reverse=True)
    assert len(top["products"]) == len(set(top["products"])) == 5


def test_repeated_product_names_get_their_ids() -> None:
    orders = normalize(clean_orders(rows=200))
    orders["ProductName"] = "Same name"
    labels = figures.top_products(selection_of(orders).products, n=3)["products"]
    assert len(set(labels)) == 3 and all(label.startswith("Same name (P") for label in labels)


@pytest.mark.parametrize("name", CHARTS)
def test_every_figure_is_a_valid_plotly_figure_for_full_and_empty_selections(
    snapshot, name: str
) -> None:
    everything = snapshot.select(Filters())
    nothing = snapshot.select(Filters(country="Nowhere"))  # no aggregate row matches
    for selected in (everything, nothing):
        spec = figures.FIGURES[name](figures.chart_data(name, selected))
        figure = go.Figure(spec)  # raises on anything plotly.js would not understand
        assert figure.layout.title.text
    assert go.Figure(figures.FIGURES[name](figures.chart_data(name, everything))).data
    empty = figures.FIGURES[name](figures.chart_data(name, nothing))
    assert empty["layout"]["annotations"][0]["text"] == figures.EMPTY_TEXT


def test_customer_rows_are_display_strings(frame) -> None:
    rows = figures.order_rows(frame.head(2))
    assert set(rows[0]) == set(figures.ORDER_TABLE_COLUMNS)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[0]["OrderDate"])
    assert all(isinstance(v, str) for row in rows for v in row.values())


def test_local_source_serves_clean_rows_held_in_memory(raw_orders) -> None:
    source = LocalSource(raw_orders, manifest={"run_id": "r-7", "stages": []}, name="unit")
    client = create_app(source, {"TESTING": True}).test_client()
    assert client.get("/health").get_json()["run_id"] == "r-7"
    assert client.get("/api/summary").get_json()["kpis"]["orders"] == len(raw_orders)
    assert source.aggregates() is source.aggregates(), "built once"
    assert client.get("/customer?id=C0001").status_code == 200
    assert source.describe() == "local:unit"
    assert source.label() == "Local data unit"
