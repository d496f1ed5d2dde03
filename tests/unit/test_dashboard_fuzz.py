"""Hostile query strings on every endpoint: never a 5xx, and a rejected value never echoed."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from dashboard_data import CATEGORIES, COUNTRIES, clean_orders, write_spark_like
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from dashboard import ParquetSource, create_app
from dashboard.filters import FILTER_PARAMS
from pipeline.schema import AGE_GROUPS

pytestmark = pytest.mark.unit


# The profile tests/conftest.py loaded (HYPOTHESIS_PROFILE), less two health checks: huge payloads
# are the point here, so "slow/large data" does not apply.
FUZZ = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Pages that read query parameters are fuzzed; the health pages read none, so they only get
# the fixed injection probes below (a fuzzer could not find more there).
PARAMETER_PAGES = ("/", "/api/summary", "/customer")
ENDPOINTS = (*PARAMETER_PAGES, "/health", "/health/pipeline")
TARGETS = [(path, name) for path in ("/", "/api/summary") for name in FILTER_PARAMS] + [
    ("/customer", "id")
]
# Per parameter, one known-bad value for each way it can be rejected: every 400 body must be one
# of the bodies these give, which proves the rejected value left no trace in the response.
REJECTION_PROBES = {
    "start": ("x", "2023-13"),
    "end": ("x", "2023-13"),
    "country": ("x",),
    "category": ("x",),
    "age_group": ("x",),
    "segment": ("x",),
    "id": ("x" * 65, "x y"),
}

INJECTIONS = (
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{7*7}}",
    "{% print 7*7 %}",
    "${7*7}",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\x00",
    "C0001\x00<b>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "\r\nSet-Cookie: pwned=1",
    "%3Cscript%3E",
    "Japan<script>",
    "2024-01-01' OR '1'='1",
    "18-24\n",
    "C0001 ",
    "\u202egnp.exe",
    "\U0001f642" * 50,
    "9" * 10_000,
)
VALID_VALUES = (
    *COUNTRIES,
    *CATEGORIES,
    *AGE_GROUPS,
    "2023-06",
    "C0001",
)

injections = st.sampled_from(INJECTIONS)
huge_numbers = st.integers(min_value=10**18, max_value=10**1000).map(str)
huge_texts = st.builds(
    lambda chunk, times: chunk * times,
    st.text(min_size=1, max_size=8),
    st.integers(min_value=500, max_value=5_000),
)
unicode_texts = st.text(st.characters(codec="utf-8"), max_size=200)
near_valid = st.builds(
    lambda valid, tail, head: head + valid + tail,
    st.sampled_from(VALID_VALUES) | st.dates().map(lambda day: day.isoformat()[:7]),
    st.text(max_size=4),
    st.sampled_from(("", "", " ", "<", "'", "\x00")),
)
payloads = st.one_of(injections, st.text(), unicode_texts, huge_numbers, huge_texts, near_valid)
unknown_names = st.text(max_size=30).map(lambda name: "zz_" + name)
raw_queries = st.text(string.ascii_letters + string.digits + "%&=+;-_.<>'\"{}", max_size=120)


def is_acceptable(name: str, value: str) -> bool:
    """The validation contract, written independently of dashboard.filters."""
    if value == "":
        return True
    if name in ("start", "end"):
        if len(value) != 7 or not re.fullmatch(r"[0-9]{4}-[0-9]{2}", value):
            return False
        return int(value[:4]) >= 1 and 1 <= int(value[5:]) <= 12
    # The fuzzed source has no customer segments: no segment is acceptable.
    allowed = {"country": COUNTRIES, "category": CATEGORIES, "age_group": AGE_GROUPS, "segment": ()}
    if name in allowed:
        return value in allowed[name]
    ascii_safe = string.ascii_letters + string.digits + "_-"
    return len(value) <= 64 and all(ch in ascii_safe for ch in value)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    orders: Path = write_spark_like(clean_orders(), tmp_path_factory.mktemp("fuzz") / "orders")
    return create_app(ParquetSource(orders), {"TESTING": True}).test_client()


@pytest.fixture(scope="module")
def baseline(client) -> dict[str, bytes]:
    return {path: client.get(path).data for path in PARAMETER_PAGES}


@pytest.fixture(scope="module")
def rejection_bodies(client) -> dict[tuple[str, str], set[bytes]]:
    bodies = {}
    for path, name in TARGETS:
        responses = [client.get(path, query_string={name: v}) for v in REJECTION_PROBES[name]]
        assert {r.status_code for r in responses} == {400}
        bodies[path, name] = {r.data for r in responses}
    return bodies


@pytest.mark.parametrize(("path", "name"), TARGETS)
@FUZZ
@given(payload=payloads)
# The validation's own boundaries, on every run whatever the draw:
@example(payload="0000-01")  # a month's shape but year 0: not a calendar month
@example(payload="2023-00")
@example(payload="2023-12")  # the last calendar month, accepted as a month
@example(payload="2023-06\n")  # re's "$" lets a trailing newline through; fullmatch does not
@example(payload="\uff12\uff10\uff12\uff13-\uff10\uff16")  # full-width digits: \d, not [0-9]
@example(payload="x" * 64)  # the longest customer ID accepted (65 is a rejection probe)
def test_any_value_is_answered_by_its_contract_and_a_rejection_leaves_no_trace(
    client, rejection_bodies, path: str, name: str, payload: str
) -> None:
    response = client.get(path, query_string={name: payload})
    if is_acceptable(name, payload):
        assert response.status_code in ((200, 404) if path == "/customer" else (200,))
    else:
        assert response.status_code == 400
        assert response.data in rejection_bodies[path, name]


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_payloads_are_rejected_and_not_reflected(client, path: str, payload: str) -> None:
    names = [name for target, name in TARGETS if target == path] or ["id"]
    for name in names:
        response = client.get(path, query_string={name: payload})
        assert response.status_code == (200 if path.startswith("/health") else 400)
        body = response.get_data(as_text=True)
        assert payload not in body
        assert str(escape(payload)) not in body


@pytest.mark.parametrize("path", PARAMETER_PAGES)
@FUZZ
@given(name=unknown_names, payload=payloads)
def test_unknown_parameters_change_nothing(client, baseline, path: str, name, payload) -> None:
    response = client.get(path, query_string={name: payload})
    assert response.status_code == 200
    assert response.data == baseline[path]


@pytest.mark.parametrize("path", PARAMETER_PAGES)
@FUZZ
@given(query=raw_queries)
def test_raw_query_strings_never_cause_a_server_error(client, path: str, query: str) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code in (200, 400, 404)
    if response.status_code == 400:
        message = re.search(rb"Invalid query parameter (?:'|&#39;)(\w+)(?:'|&#39;)", response.data)
        assert message and message.group(1).decode() in (*FILTER_PARAMS, "id")
