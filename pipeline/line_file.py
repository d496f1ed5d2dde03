"""Streaming over a lines file: count, copy a range, iterate a share. Memory stays bounded by one
line whatever the file's size; lines are bytes, since an input may hold bytes that are not UTF-8."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

BUFFER = 1 << 20


def count_lines(path: Path) -> int:
    """Lines in the file; a last line without a newline counts."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(BUFFER):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def iter_lines(
    path: Path, start: int, stop: int, step: int = 1, offset: int = 0
) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the newline) for lines start+offset, +step, ... below stop."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            if number >= stop:
                return
            if number >= start and (number - start) % step == offset:
                yield number, line.rstrip(b"\n")


def copy_lines(source: Path, target: Path, start: int, stop: int) -> int:
    """Lines [start, stop) of source into target, each ending with a newline; returns lines."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = 0
    with target.open("wb", buffering=BUFFER) as out:
        for _, line in iter_lines(source, start, stop):
            out.write(line + b"\n")
            copied += 1
    return copied
