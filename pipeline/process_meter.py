"""CPU seconds and resident memory of this process and every process it started (Spark's JVM,
its Python workers, the producer processes), sampled in the background from /proc: what a stage
costs beside its wall time. The services' containers are not ours and are not counted."""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


@dataclass(frozen=True)
class Usage:
    """A process tree at one moment: CPU seconds used so far (a reaped child's are in its
    parent's), resident bytes now (the sum over the tree: pages shared after a fork count in
    each process)."""

    cpu_seconds: float
    rss_bytes: int


def parse_stat(text: str) -> tuple[int, float, int]:
    """/proc/PID/stat -> (parent pid, CPU seconds of the process and its reaped children,
    resident bytes). The command name may hold spaces and parentheses: fields follow the last ')'.
    """
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17) ... rss(24)
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return int(fields[1]), ticks / TICKS, int(fields[21]) * PAGE


def tree_usage(root: int, proc: Path = PROC) -> Usage:
    """Usage of `root` and all its descendants (processes that vanish while read are skipped)."""
    stats: dict[int, tuple[int, float, int]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    cpu, rss, todo = 0.0, 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            _, seconds, resident = stats[pid]
            cpu, rss = cpu + seconds, rss + resident
        todo.extend(children.get(pid, ()))
    return Usage(cpu, rss)


class ProcessMeter:
    """Samples tree_usage(this process) every `every` seconds on a daemon thread; `since(t)` is
    what the tree used after monotonic time `t`: CPU seconds and the peak of the resident sum."""

    def __init__(self, every: float = 0.5, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self.every = every
        self._times: list[float] = []
        self._usage: list[Usage] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="process-meter", daemon=True)
        self._thread.start()

    def _sample(self) -> Usage:
        usage = tree_usage(self.root)
        with self._lock:
            self._times.append(time.monotonic())
            self._usage.append(usage)
        return usage

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def since(self, started: float) -> dict[str, float]:
        """{"cpu_seconds", "peak_rss_mib"} from the last sample at or before `started` to now."""
        now = self._sample()
        with self._lock:
            first = max(bisect.bisect_right(self._times, started) - 1, 0)
            window = self._usage[first:]
        return {
            "cpu_seconds": round(max(now.cpu_seconds - window[0].cpu_seconds, 0.0), 1),
            "peak_rss_mib": round(max(u.rss_bytes for u in window) / MIB, 1),
        }

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every * 4)
