"""Generated orders on disk: output/orders.jsonl and its truth twin (output/truth-NNNNN.parquet).

The I/O around the pure generator (pipeline.generate): large outputs are generated in chunks by
forked worker processes, one per core, and appended in order, so the files do not depend on the
number of workers; a `Progress` display shows how far it is.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import multiprocessing
import os
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from pipeline.generate import ERROR_KINDS, check_arguments, error_counts, generate_orders
from pipeline.generate_values import customers
from pipeline.progress import SILENT, Progress


@dataclass(frozen=True)
class GenerateSummary:
    """What write_orders wrote."""

    rows: int
    lines: int
    errors: dict[str, int]
    orders_path: Path
    truth_paths: tuple[Path, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Chunk:
    """What write_orders needs from one chunk, once its lines and truth are on disk."""

    rows: int
    lines: int
    errors: dict[str, int]


_Job = tuple[int, int, float, int, Path]  # generate_orders' rows, seed, error_rate, start; truth


def _write_chunk(job: _Job, out: BinaryIO) -> _Chunk:
    rows, seed, error_rate, start, truth_path = job
    orders = generate_orders(rows, seed, error_rate, start)
    orders.truth.to_parquet(truth_path, index=False)
    if orders.lines:
        out.write("\n".join(orders.lines).encode())
        out.write(b"\n")
    return _Chunk(rows, len(orders.lines), error_counts(orders.truth))


def _write_part(job: _Job, part: Path) -> _Chunk:
    """_write_chunk in a worker: the lines go to a part file that write_orders appends."""
    with part.open("wb") as out:
        return _write_chunk(job, out)


# From this many chunks on, worker processes save more than they cost.
_PARALLEL_MIN_CHUNKS = 4


def write_orders(
    rows: int,
    seed: int,
    error_rate: float,
    output: Path,
    chunk_rows: int = 100_000,
    progress: Progress = SILENT,
) -> GenerateSummary:
    """Write output/orders.jsonl and output/truth-NNNNN.parquet (one per chunk).

    Chunk n holds generate_orders(chunk_rows, seed, error_rate, start=n * chunk_rows). From
    _PARALLEL_MIN_CHUNKS chunks on, worker processes (one per available core) generate them into
    part files that are appended in order, so the files are the same: forked from the caller when
    it runs no other thread, else from a forkserver (forking a threaded process is not safe).
    """
    if chunk_rows <= 0:
        raise ValueError(f"write_orders: chunk_rows={chunk_rows} must be > 0")
    check_arguments(rows, seed, error_rate, 0)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    for stale in [*output.glob("truth-*.parquet"), *output.glob("orders-*.part")]:
        stale.unlink()
    orders_path = output / "orders.jsonl"
    starts = range(0, rows, chunk_rows)
    truth_paths = tuple(output / f"truth-{n:05d}.parquet" for n in range(len(starts)))
    jobs = [
        (min(chunk_rows, rows - start), seed, error_rate, start, path)
        for start, path in zip(starts, truth_paths, strict=True)
    ]
    errors: Counter[str] = Counter()
    lines, done = 0, 0
    with (
        orders_path.open("wb") as out,
        _chunks(jobs, out, output) as chunks,  # first: a progress display starts a thread
        progress.track("generate", rows, lambda: done),
    ):
        for chunk in chunks:
            errors.update(chunk.errors)
            lines += chunk.lines
            done += chunk.rows
    return GenerateSummary(
        rows=rows,
        lines=lines,
        errors={k: errors.get(k, 0) for k in ERROR_KINDS},
        orders_path=orders_path,
        truth_paths=truth_paths,
    )


@contextlib.contextmanager
def _chunks(jobs: list[_Job], out: BinaryIO, output: Path) -> Iterator[Iterator[_Chunk]]:
    """Write each job's chunk (its lines to `out`), in job order: in worker processes when that
    is worth it, with at most 2 chunks per worker in flight."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(cores or 1, len(jobs))
    # A thread of the caller (`pipeline run` has Spark's and a meter's) could hold a lock the
    # workers need at the fork: then they fork from a fresh forkserver process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    if (
        len(jobs) < _PARALLEL_MIN_CHUNKS
        or workers < 2
        or method not in multiprocessing.get_all_start_methods()
    ):
        yield (_write_chunk(job, out) for job in jobs)
        return
    customers(jobs[0][1])  # the per-seed tables, built once and inherited by forked workers
    parts = [output / f"orders-{n:05d}.part" for n in range(len(jobs))]
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            submitted = (
                pool.submit(_write_part, job, part) for job, part in zip(jobs, parts, strict=True)
            )
            pending = collections.deque(itertools.islice(submitted, 2 * workers))

            def appended() -> Iterator[_Chunk]:
                for part in parts:
                    chunk = pending.popleft().result()
                    pending.extend(itertools.islice(submitted, 1))
                    _append(part, out)
                    part.unlink()
                    yield chunk

            yield appended()
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _append(part: Path, out: BinaryIO) -> None:
    """Append the file `part` to `out`, in the kernel where it can (no copy through Python)."""
    out.flush()
    with part.open("rb") as src:
        if not hasattr(os, "sendfile"):
            shutil.copyfileobj(src, out)
            return
        size, done = os.fstat(src.fileno()).st_size, 0
        while done < size:
            done += os.sendfile(out.fileno(), src.fileno(), done, size - done)


def read_truth(output: Path) -> pd.DataFrame:
    """The truth chunks written by write_orders, concatenated (I/O)."""
    paths = sorted(Path(output).glob("truth-*.parquet"))
    if not paths:
        raise FileNotFoundError(f"read_truth: no truth-*.parquet in {output}; run write_orders")
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
