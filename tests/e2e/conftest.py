"""Browser fixtures: Debian's Chromium (installed by the project when missing) driven by
Playwright, and the dashboard served on a free loopback port in a background thread."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's build, never a downloaded one; no network but the loopback dashboard.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_output() -> Path:
    """Screenshots go here: PIPELINE_TEST_OUTPUT, else build/test-output/e2e."""
    folder = Path(os.environ.get("PIPELINE_TEST_OUTPUT", "build/test-output/e2e")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        from stack.engine import apt_install

        apt_install("chromium")  # apt-get update + install, or an error naming what is missing
    if not CHROMIUM.exists():
        raise RuntimeError(f"missing: {CHROMIUM} after apt-get install chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise RuntimeError(
            "missing: the playwright package (pip install playwright; the browser is Debian's "
            "chromium, so `playwright install` is never needed)"
        ) from exc
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def serve_app() -> Iterator[Any]:
    """``serve_app(app) -> base URL``: the app on the waitress server `pipeline serve` runs, on a
    free loopback port; every server started is stopped after the module."""
    from dashboard.app import serving

    with contextlib.ExitStack() as servers:
        yield lambda app: servers.enter_context(serving(app))
