"""Synthetic e-commerce orders as raw JSON lines, with deliberate errors and their truth twin.

Fast: Faker only builds small value pools (cached per seed); every customer's values and JSON text
are built once per seed, rows are sampled with numpy, and an error-free line is one template filled
with pre-rendered fragments (pipeline.generate_values). Only the ~error_rate share of erroneous rows
is handled one by one, as dicts (pipeline.generate_errors). Everything is a pure function of (rows,
seed, error_rate, start) except `write_orders` and `read_truth`, which do the file I/O.

- Row keys are ``f"{seed:x}-{index:09d}"``; CustomerIDs ``f"C{seed:x}-{customer:06d}"``.
- A customer's Name, Age, Country, RegistrationDate and ShippingAddress are a hash of (seed,
  customer), so they agree across rows and chunks.
- Per-row randomness comes from ``numpy.random.default_rng([seed, start, k])``, one stream for the
  values and one for the errors: the truth values do not depend on error_rate.
- Each erroneous row gets one error kind (ERROR_KINDS), and with MULTI_ERROR_SHARE a second one on
  another field group (FIELD_GROUP), so that errors never hide each other.
- ``mixed_date_format`` uses formats that cannot be misread: ``MM/DD/YYYY`` (only when the day is
  > 12), ``DD.MM.YYYY``, ``YYYY/MM/DD``, ``March 15, 2024``, ``15 March 2024``, ``15 Mar 2024``.
- An erroneous line is its clean line with the touched fields rendered anew (json) or left out;
  the other fields keep their clean text (prices with two decimals). A duplicate repeats the line a
  little later.
- Malformed lines are truncated JSON, a JSON array of the values, a doubly encoded JSON string, or
  an object with a wrong JSON type (e.g. Age as a list). All keep the row_key in their text (it is
  the first key of every line), so a quarantined line can be traced to its truth row.
- `write_orders` generates large outputs in worker processes, one per core; the files do not depend
  on the number of workers.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import itertools
import json
import multiprocessing
import os
import random
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from faker import Faker
from tqdm import tqdm

from pipeline.generate_errors import (
    DEFAULT_ERROR_RATE,
    ERROR_KINDS,
    FIELD_GROUP,
    KIND_FIELDS,
    MULTI_ERROR_SHARE,
    ROW_KINDS,
    dirty_lines,
    draw_kinds,
    inject,
    inject_kinds,
    malformed_line,
    other_date_format,
    replace_fields,
    typo,
)
from pipeline.generate_values import (
    MAX_SHIPPING_DAYS,
    N_CUSTOMERS,
    ORDER_END,
    ORDER_START,
    QUANTITY_WEIGHTS,
    REGISTRATION_START,
    Draws,
    customers,
    draw,
    lines,
    no_errors,
    objects,
    records,
    truth_frame,
    with_extra,
)
from pipeline.schema import AGE_MAX, AGE_MIN, CATALOGUE, COUNTRIES

__all__ = [
    "DEFAULT_ERROR_RATE",
    "ERROR_KINDS",
    "FIELD_GROUP",
    "KIND_FIELDS",
    "MULTI_ERROR_SHARE",
    "ROW_KINDS",
    "GenerateSummary",
    "Orders",
    "dirty_lines",
    "error_counts",
    "generate_orders",
    "inject",
    "iter_orders",
    "malformed_line",
    "naive_faker_rows",
    "other_date_format",
    "read_truth",
    "typo",
    "write_orders",
]


@dataclass(frozen=True)
class Orders:
    """Raw lines (the record contract) and the truth: one row of clean values per distinct row_key.

    truth columns: schema.CLEAN_COLUMNS (TotalAmountNormalized is NaN: it needs global statistics),
    `errors` (injected kinds) and `error_fields` (the field each kind touched, None for whole-line
    kinds): tuples of equal length, empty for error-free rows.
    """

    lines: list[str]
    truth: pd.DataFrame


@dataclass(frozen=True)
class GenerateSummary:
    """What write_orders wrote."""

    rows: int
    lines: int
    errors: dict[str, int]
    orders_path: Path
    truth_paths: tuple[Path, ...] = field(default_factory=tuple)


def _check(rows: int, seed: int, error_rate: float, start: int) -> None:
    if rows < 0 or seed < 0 or start < 0:
        raise ValueError(f"generate_orders: rows={rows}, seed={seed}, start={start} must be >= 0")
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"generate_orders: error_rate={error_rate} must be within [0, 1]")


def generate_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, start: int = 0
) -> Orders:
    """`rows` orders starting at row index `start`: raw lines plus the truth twin."""
    _check(rows, seed, error_rate, start)
    draws = draw(rows, seed, start)
    err_rng = np.random.default_rng([seed, start, 1])
    erroneous = np.flatnonzero(err_rng.random(rows) < error_rate)
    kinds = draw_kinds(err_rng, len(erroneous))
    rnd = random.Random(int(err_rng.integers(0, 2**63)))
    text = lines(draws)
    errors, error_fields, extra = _inject(draws, erroneous, kinds, text, rnd)
    return Orders(lines=with_extra(text, extra), truth=truth_frame(draws, errors, error_fields))


def _inject(
    draws: Draws,
    erroneous: np.ndarray,
    kinds: list[tuple[str, ...]],
    text: list[str],
    rnd: random.Random,
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, str]]]:
    """The `kinds` of errors for the rows at positions `erroneous`, changing their lines in `text`
    in place.

    A row's line keeps the text of its untouched fields (replace_fields); a malformed line is made
    from the record; a duplicate is placed a little after its original. Returns the truth's
    `errors` and `error_fields` columns, and the duplicates as ``(after, line)``.
    """
    # Tuples, and one object per distinct tuple (the empty one for error-free rows): per-row
    # containers would cost the garbage collector more than the rest of the generator.
    errors, error_fields = no_errors(len(text)), no_errors(len(text))
    row_errors: list[tuple[str | None, ...]] = []
    row_fields: list[tuple[str | None, ...]] = []
    shared: dict[tuple[str | None, ...], tuple[str | None, ...]] = {}  # one object per value
    extra: list[tuple[float, str]] = []
    rows = zip(erroneous.tolist(), kinds, records(draws, erroneous), strict=True)
    for i, row_kinds, record in rows:
        fields = inject_kinds(record, row_kinds, rnd)  # the records are ours: changed in place
        if "malformed" in row_kinds:
            text[i] = malformed_line(record, rnd)
        else:
            text[i] = replace_fields(text[i], record, [f for f in fields if f])
            if "duplicate" in row_kinds:
                extra.append((i + rnd.uniform(0.5, 500.0), text[i]))
        if None in fields and len(row_kinds) > 1:
            # A second kind found no field outside the first one's group: it was not injected.
            kept = [(k, f) for k, f in zip(row_kinds, fields, strict=True) if k in ROW_KINDS or f]
            row_kinds = tuple(k for k, _ in kept)
            fields = [f for _, f in kept]
        fields_key = tuple(fields)
        row_errors.append(shared.setdefault(row_kinds, row_kinds))
        row_fields.append(shared.setdefault(fields_key, fields_key))
    errors[erroneous] = objects(row_errors)
    error_fields[erroneous] = objects(row_fields)
    return errors, error_fields, extra


def iter_orders(
    rows: int, seed: int, error_rate: float = DEFAULT_ERROR_RATE, chunk_rows: int = 100_000
) -> Iterator[Orders]:
    """`rows` orders in chunks of `chunk_rows` (the dataset depends on chunk_rows)."""
    if chunk_rows <= 0:
        raise ValueError(f"iter_orders: chunk_rows={chunk_rows} must be > 0")
    for start in range(0, rows, chunk_rows):
        yield generate_orders(min(chunk_rows, rows - start), seed, error_rate, start=start)


def error_counts(truth: pd.DataFrame) -> dict[str, int]:
    """Injected errors by kind."""
    counts = Counter(k for kinds in truth["errors"] for k in kinds)
    return {k: counts.get(k, 0) for k in ERROR_KINDS}


# --------------------------------------------------------------------------------------------
# Files


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
    progress: bool = True,
) -> GenerateSummary:
    """Write output/orders.jsonl and output/truth-NNNNN.parquet (one per chunk): the only I/O.

    The chunks are those of iter_orders. From _PARALLEL_MIN_CHUNKS chunks on, forked worker
    processes (one per available core) generate them into part files that are appended in order,
    so the files are the same; only when the calling process runs no other threads, as forking is
    not safe otherwise.
    """
    if chunk_rows <= 0:
        raise ValueError(f"write_orders: chunk_rows={chunk_rows} must be > 0")
    _check(rows, seed, error_rate, 0)
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
    lines = 0
    with (
        orders_path.open("wb") as out,
        _chunks(jobs, out, output) as chunks,  # first: a tqdm bar starts a thread
        _progress(rows, progress) as bar,
    ):
        for chunk in chunks:
            errors.update(chunk.errors)
            lines += chunk.lines
            if bar is not None:
                bar.update(chunk.rows)
    return GenerateSummary(
        rows=rows,
        lines=lines,
        errors={k: errors.get(k, 0) for k in ERROR_KINDS},
        orders_path=orders_path,
        truth_paths=truth_paths,
    )


def _progress(rows: int, enabled: bool) -> contextlib.AbstractContextManager[tqdm | None]:
    """A progress bar, or None: a disabled tqdm bar would leave tqdm's monitor thread running."""
    return tqdm(total=rows, unit="rows", desc="generate") if enabled else contextlib.nullcontext()


@contextlib.contextmanager
def _chunks(jobs: list[_Job], out: BinaryIO, output: Path) -> Iterator[Iterator[_Chunk]]:
    """Write each job's chunk (its lines to `out`), in job order: in forked workers when that is
    worth it and safe, with at most 2 chunks per worker in flight."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(cores or 1, len(jobs))
    if (
        len(jobs) < _PARALLEL_MIN_CHUNKS
        or workers < 2
        or threading.active_count() > 1  # a thread could hold a lock the workers need
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield (_write_chunk(job, out) for job in jobs)
        return
    customers(jobs[0][1])  # the per-seed tables, built once and inherited by every worker
    parts = [output / f"orders-{n:05d}.part" for n in range(len(jobs))]
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
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


# --------------------------------------------------------------------------------------------
# Baseline


def naive_faker_rows(rows: int, seed: int) -> list[str]:
    """The baseline the benchmark compares against: the same product (raw JSON lines, row_key
    first) written the obvious way, with one Faker call per field per row and json.dumps per row."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = []
    for i in range(rows):
        product = fake.random_element(CATALOGUE)
        quantity = fake.random_int(1, len(QUANTITY_WEIGHTS))
        ordered = fake.date_between(ORDER_START, ORDER_END)
        registered = fake.date_between(REGISTRATION_START, ordered)
        shipped = ordered + dt.timedelta(days=fake.random_int(0, MAX_SHIPPING_DAYS))
        record = {
            "row_key": f"{seed:x}-{i:09d}",
            "CustomerID": f"C{seed:x}-{fake.random_int(0, N_CUSTOMERS - 1):06d}",
            "Name": fake.name(),
            "Age": fake.random_int(AGE_MIN, AGE_MAX),
            "Country": fake.random_element(COUNTRIES),
            "RegistrationDate": registered.isoformat(),
            "OrderDate": ordered.isoformat(),
            "Quantity": quantity,
            "TotalAmount": round(quantity * product.price, 2),
            "ProductID": product.product_id,
            "ProductName": product.name,
            "Category": product.category,
            "Price": product.price,
            "ShippingAddress": fake.address().replace("\n", ", "),
            "ShippingDate": shipped.isoformat(),
        }
        out.append(json.dumps(record))
    return out
