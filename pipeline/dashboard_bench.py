"""Dashboard latency: the app on a free loopback port, real HTTP requests with random valid filters.

``measure_dashboard(source)`` is what the bench session calls (with an ``AggregateSource`` after a
pipeline run); ``python -m pipeline.dashboard_bench`` runs it on a ``pipeline clean`` output
(``--source DIR``) or on the HBase named by the ``PIPELINE_*`` variables.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dashboard.app import create_app, serving
from dashboard.filters import Vocabulary
from dashboard.sources import DashboardSource

REQUEST_TIMEOUT = 30.0


def random_filters(vocabulary: Vocabulary, rnd: random.Random) -> dict[str, str]:
    """A valid filter combination: each filter set with probability 1/2."""
    query: dict[str, str] = {}
    for name, values in (
        ("country", vocabulary.countries),
        ("category", vocabulary.categories),
        ("age_group", vocabulary.age_groups),
        ("segment", vocabulary.segments),
    ):
        if values and rnd.random() < 0.5:
            query[name] = rnd.choice(values)
    if vocabulary.months and rnd.random() < 0.5:
        start, end = sorted(rnd.choices(vocabulary.months, k=2))
        query["start"], query["end"] = start, end
    return query


def _percentile(sorted_ms: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, round(share * len(sorted_ms) + 0.5 - 1e-9))
    return sorted_ms[min(rank, len(sorted_ms)) - 1]


def _get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310 - loopback
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return (time.perf_counter() - started) * 1000, status


def measure_dashboard(
    source: DashboardSource,
    requests: int = 300,
    seed: int = 0,
    *,
    path: str = "/",
    concurrency: int = 1,
    warmup: int = 10,
) -> dict[str, Any]:
    """p50/p95/p99 latency (ms) and throughput of ``path`` under random valid filters.

    The first load of the aggregates happens before the clock starts (``load_seconds``); the app
    runs with its production config (view cache included) on Werkzeug's threaded server.
    """
    if requests <= 0 or concurrency <= 0:
        raise ValueError(f"requests={requests} and concurrency={concurrency} must be positive")
    started = time.perf_counter()
    snapshot = source.aggregates()
    load_seconds = time.perf_counter() - started

    with serving(create_app(source)) as url:
        base = f"{url}{path}"
        rnd = random.Random(seed)
        queries = [random_filters(snapshot.vocabulary, rnd) for _ in range(requests)]
        urls = [f"{base}?{urllib.parse.urlencode(q)}" if q else base for q in queries]
        # Warm-up (imports, first template render) on filters drawn apart from the measured ones.
        other = random.Random(f"warmup-{seed}")
        for _ in range(warmup):
            query = random_filters(snapshot.vocabulary, other)
            _get(f"{base}?{urllib.parse.urlencode(query)}")
        wall = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(_get, urls))
        wall = time.perf_counter() - wall

    timings = sorted(ms for ms, _ in results)
    errors = sum(1 for _, status in results if status != 200)
    return {
        "source": source.describe(),
        "run_id": snapshot.run_id,
        "orders": snapshot.orders,
        "path": path,
        "requests": requests,
        "concurrency": concurrency,
        "distinct_filters": len({tuple(sorted(q.items())) for q in queries}),
        "errors": errors,
        "p50_ms": round(_percentile(timings, 0.50), 2),
        "p95_ms": round(_percentile(timings, 0.95), 2),
        "p99_ms": round(_percentile(timings, 0.99), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
        "max_ms": round(timings[-1], 2),
        "requests_per_second": round(requests / wall, 1),
        "load_seconds": round(load_seconds, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.dashboard_bench", description=__doc__)
    parser.add_argument("--source", type=Path, help="a `pipeline clean` output (else: HBase)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", default="/", help="'/' (the page) or '/api/summary'")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    if args.source:
        from dashboard.sources import ParquetSource

        folder = args.source / "clean" if (args.source / "clean").is_dir() else args.source
        source: DashboardSource = ParquetSource(folder)
    else:
        from dashboard.sources import AggregateSource
        from pipeline.settings import Settings

        settings = Settings.from_env()
        source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    result = measure_dashboard(
        source, args.requests, args.seed, path=args.path, concurrency=args.concurrency
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
