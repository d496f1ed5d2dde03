"""Test tiers and tools. Sessions run in the project's .venv (see ./run), not in venvs of nox's."""

from __future__ import annotations

import sys

import nox

nox.options.sessions = ["lint", "unit", "integration", "e2e", "faults"]
nox.options.default_venv_backend = "none"
PY = sys.executable


def _pytest(session: nox.Session, tier: str, *extra: str) -> None:
    session.run(
        PY,
        "-m",
        "pytest",
        f"tests/{tier}",
        "-m",
        tier,
        f"--junitxml=build/test-output/{tier}/junit.xml",
        *extra,
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "ci", "PIPELINE_TEST_OUTPUT": f"build/test-output/{tier}"},
    )


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff over the whole project (lint rules and formatting), mypy strict on the pure core."""
    session.run(PY, "-m", "ruff", "check", ".")
    session.run(PY, "-m", "ruff", "format", "--check", ".")
    session.run(PY, "-m", "mypy")


@nox.session(python=False)
def unit(session: nox.Session) -> None:
    """Pure functions and the dashboard on local data: no JVM, no Docker."""
    _pytest(session, "unit")


@nox.session(python=False)
def integration(session: nox.Session) -> None:
    """Each adapter and job against its real counterpart (local Spark, one service container)."""
    _pytest(session, "integration")


@nox.session(python=False)
def e2e(session: nox.Session) -> None:
    """The whole flow on the whole stack, and the dashboard in a browser."""
    _pytest(session, "e2e")


@nox.session(python=False)
def faults(session: nox.Session) -> None:
    """Runs killed, restarted, repeated and fed poison on the whole stack: exact HBase content."""
    _pytest(session, "faults")


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmarks; writes build/bench/results.json (pass --rows N after --)."""
    session.run(PY, "-m", "pipeline.bench", *session.posargs)


@nox.session(python=False)
def demo(session: nox.Session) -> None:
    """The pipeline at ~200k rows on the real stack, then the dashboard on 127.0.0.1:5000."""
    session.run(PY, "-m", "pipeline.cli", "demo", *session.posargs)
