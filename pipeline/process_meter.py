"""CPU seconds and resident memory of this process and every process it started (Spark's JVM,
its Python workers, the producer processes), sampled in the background from /proc: what a stage
costs beside its wall time. The services' containers are not ours and are not counted there;
the whole machine's busy CPU seconds are sampled beside them, the services' work included, so a
stage shows how much of the cores it left idle."""

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
    """A process tree at one moment: CPU seconds each process has used so far, keyed by (pid,
    start time) so that a reused pid is another process, and resident bytes now (the sum over
    the tree: pages shared after a fork count in each process)."""

    cpu_seconds: dict[tuple[int, int], float]
    rss_bytes: int


def parse_stat(text: str) -> tuple[int, float, int, int]:
    """/proc/PID/stat -> (parent pid, CPU seconds of the process itself, resident bytes, start
    time in ticks). The command name may hold spaces and parentheses: fields follow the last ')'.
    """
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state(3) ppid(4) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24)
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return int(fields[1]), cpu, int(fields[21]) * PAGE, int(fields[19])


def tree_usage(root: int, proc: Path = PROC) -> Usage:
    """Usage of `root` and all its descendants (processes that vanish while read are skipped)."""
    stats: dict[int, tuple[int, float, int, int]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in stats.items():
        children.setdefault(parent, []).append(pid)
    cpu: dict[tuple[int, int], float] = {}
    rss, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            _, seconds, resident, start = stats[pid]
            cpu[(pid, start)] = seconds
            rss += resident
        todo.extend(children.get(pid, ()))
    return Usage(cpu, rss)


def machine_busy_seconds(proc: Path = PROC) -> float:
    """CPU seconds all cores of the machine have been busy since boot: /proc/stat's user, nice,
    system, irq, softirq and steal (guest time is counted inside user; idle and iowait are not
    busy)."""
    first = (proc / "stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


class ProcessMeter:
    """Samples tree_usage(this process) every `every` seconds on a daemon thread; `since(t)` is
    what the tree used after monotonic time `t`: CPU seconds and the peak of the resident sum.

    Each process counts with the last CPU time seen while it ran, so a process that ends
    between two samples loses at most `every` seconds, and one that lives shorter than that may
    not be seen at all (a reaped child's time is not taken from its parent: that would count it
    twice, or lose it when the parent is not ours)."""

    def __init__(self, every: float = 0.5, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self.every = every
        self._seen: dict[tuple[int, int], float] = {}
        self._times: list[float] = []
        self._cpu: list[float] = []  # the tree's CPU seconds so far, at each sample
        self._rss: list[int] = []
        self._machine: list[float] = []  # machine_busy_seconds at each sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="process-meter", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        usage = tree_usage(self.root)
        machine = machine_busy_seconds()
        with self._lock:
            for process, seconds in usage.cpu_seconds.items():
                self._seen[process] = max(seconds, self._seen.get(process, 0.0))
            self._times.append(time.monotonic())
            self._cpu.append(sum(self._seen.values()))
            self._rss.append(usage.rss_bytes)
            self._machine.append(machine)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def since(self, started: float) -> dict[str, float]:
        """{"cpu_seconds", "peak_rss_mib", "machine_cpu_seconds"} from the last sample at or
        before `started` to now."""
        self._sample()
        with self._lock:
            first = max(bisect.bisect_right(self._times, started) - 1, 0)
            cpu = self._cpu[-1] - self._cpu[first]
            peak = max(self._rss[first:])
            machine = self._machine[-1] - self._machine[first]
        return {
            "cpu_seconds": round(cpu, 1),
            "peak_rss_mib": round(peak / MIB, 1),
            "machine_cpu_seconds": round(machine, 1),
        }

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every * 4)
