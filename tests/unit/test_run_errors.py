"""What a failed run's manifest says of the error that stopped it."""

from __future__ import annotations

import pytest

from pipeline.run import first_line

pytestmark = pytest.mark.unit


def test_first_line_of_a_message() -> None:
    assert first_line(ValueError("the gate failed\n  detail")) == "the gate failed"


def test_an_error_without_message_gives_an_empty_line() -> None:
    # A bare StopIteration (next() on an empty generator) has no text at all: the run must still
    # close with its type, not fail again while closing.
    assert first_line(StopIteration()) == ""
    assert first_line(RuntimeError("")) == ""
