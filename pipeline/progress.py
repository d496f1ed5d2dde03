"""Progress of a long stage: rows done, rows/s and ETA, polled from where the work is counted.

A stage says how to count what it has done (Kafka's end offsets, the stream's committed offsets,
Spark's finished tasks); the display polls that count. The run takes a `Progress`; tests and
libraries use `SILENT`, the command line `Bars`.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Protocol, TextIO

from tqdm import tqdm


class Progress(Protocol):
    def track(
        self, stage: str, total: int, done: Callable[[], int]
    ) -> contextlib.AbstractContextManager[None]:
        """Show `done()` of `total` rows while the block runs."""
        ...


class Silent:
    def track(
        self, stage: str, total: int, done: Callable[[], int]
    ) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


SILENT = Silent()


class Bars:
    """One tqdm bar per stage, on stderr, updated every `every` seconds and removed at the end
    (the stage's own line follows it)."""

    def __init__(self, every: float = 1.0, file: TextIO | None = None) -> None:
        self.every, self.file = every, file

    @contextlib.contextmanager
    def track(self, stage: str, total: int, done: Callable[[], int]) -> Iterator[None]:
        bar = tqdm(
            total=total, desc=f"  {stage}", unit="rows", unit_scale=True, leave=False,
            file=self.file or sys.stderr, mininterval=self.every, dynamic_ncols=True,
        )  # fmt: skip
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(self.every):
                # A count that cannot be read now (a broker between retries) skips one update:
                # the display must never fail the stage it watches.
                with contextlib.suppress(Exception):
                    bar.update(max(0, min(total, done()) - bar.n))

        watcher = threading.Thread(target=poll, name=f"{stage}-progress", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()
            bar.close()


def spark_tasks(spark: object, total: int) -> Callable[[], int]:
    """Rows done estimated from the finished share of the running Spark stages' tasks."""
    tracker = spark.sparkContext.statusTracker()  # type: ignore[attr-defined]

    def done() -> int:
        stages = [s for s in map(tracker.getStageInfo, tracker.getActiveStageIds()) if s]
        tasks = sum(s.numTasks for s in stages)
        return round(total * sum(s.numCompletedTasks for s in stages) / tasks) if tasks else 0

    return done
