"""Streaming a lines file: counting, copying a range and sharing lines out reassemble it exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import line_file

pytestmark = pytest.mark.unit

LINES = st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=60)


def written(lines: list[bytes], folder: Path, final_newline: bool = True) -> Path:
    path = folder / "lines.jsonl"
    body = b"\n".join(lines)
    path.write_bytes(body + (b"\n" if final_newline and lines else b""))
    return path


@given(lines=LINES, step=st.integers(1, 4), final_newline=st.booleans())
def test_shares_of_every_step_reassemble_the_file(
    lines: list[bytes], step: int, final_newline: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        # Without a final newline an empty last line does not exist: only end on a non-empty one.
        final_newline = final_newline or not lines or lines[-1] == b""
        path = written(lines, Path(folder), final_newline)
        assert line_file.count_lines(path) == len(lines)
        shares = [
            pair
            for offset in range(step)
            for pair in line_file.iter_lines(path, 0, len(lines), step, offset)
        ]
        assert [line for _, line in sorted(shares)] == lines


@given(lines=LINES, cut=st.integers(0, 70))
def test_copied_ranges_add_up_to_the_file(lines: list[bytes], cut: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = written(lines, Path(folder))
        head, tail = Path(folder) / "head", Path(folder) / "tail"
        cut = min(cut, len(lines))
        assert line_file.copy_lines(path, head, 0, cut) == cut
        assert line_file.copy_lines(path, tail, cut, len(lines)) == len(lines) - cut
        assert head.read_bytes() + tail.read_bytes() == path.read_bytes()
