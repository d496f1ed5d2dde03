from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.process_meter import (
    MIB,
    PAGE,
    TICKS,
    ProcessMeter,
    machine_busy_seconds,
    parse_stat,
    tree_usage,
)

pytestmark = pytest.mark.unit


def stat_line(pid: int, name: str, ppid: int, ticks: tuple[int, int, int, int], pages: int) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
    utime, stime, cutime, cstime = ticks
    after = [
        "S", ppid, 1, 1, 0, -1, 0, 0, 0, 0, 0,
        utime, stime, cutime, cstime, 20, 0, 1, 0, 100, 4096, pages, 0,
    ]  # fmt: skip
    return f"{pid} ({name}) " + " ".join(map(str, after)) + "\n"


def fake_proc(tmp_path: Path, processes: dict[int, str]) -> Path:
    for pid, text in processes.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(text)
    (tmp_path / "self").mkdir()  # not a pid
    (tmp_path / "99").mkdir()  # a process that vanished: no stat file
    return tmp_path


def test_parse_stat_reads_past_a_name_with_spaces_and_parentheses() -> None:
    text = stat_line(42, "python (worker) x)", 7, (100, 50, 30, 20), 10)
    parent, cpu, rss, start = parse_stat(text)
    assert parent == 7
    assert cpu == pytest.approx(150 / TICKS)  # its own time: a reaped child's is not in it
    assert rss == 10 * PAGE
    assert start == 100


def test_tree_usage_counts_the_root_and_its_descendants_only(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        {
            10: stat_line(10, "python", 1, (100, 0, 50, 0), 100),
            11: stat_line(11, "java", 10, (300, 100, 0, 0), 1000),
            12: stat_line(12, "python worker", 11, (10, 0, 0, 0), 50),
            20: stat_line(20, "someone else", 1, (9999, 0, 0, 0), 9999),
            21: "garbage",
        },
    )
    usage = tree_usage(10, proc)
    assert usage.cpu_seconds == pytest.approx(
        {(10, 100): 100 / TICKS, (11, 100): 400 / TICKS, (12, 100): 10 / TICKS}
    )
    assert usage.rss_bytes == (100 + 1000 + 50) * PAGE
    assert tree_usage(12, proc).rss_bytes == 50 * PAGE
    assert tree_usage(12345, proc).cpu_seconds == {}


def burn(seconds: float, hold_mib: int = 0) -> None:
    """A child process that holds `hold_mib` MiB while it spends `seconds` of CPU."""
    code = f"b = bytearray({hold_mib} * 2**20); t = __import__('time').process_time()\n" \
           f"while __import__('time').process_time() - t < {seconds}: pass"  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_the_meter_sees_a_child_process_burn_cpu_and_hold_memory() -> None:
    meter = ProcessMeter(every=0.05)
    try:
        started = time.monotonic()
        burn(0.6, hold_mib=200)
        usage = meter.since(started)
    finally:
        meter.close()
    assert usage["cpu_seconds"] >= 0.5  # the child's CPU, seen while it ran
    assert usage["peak_rss_mib"] >= 200  # sampled while the child held 200 MiB
    # The machine was busy at least while the child burned; its CPU is inside the machine's.
    assert usage["machine_cpu_seconds"] >= 0.5
    assert set(usage) == {"cpu_seconds", "peak_rss_mib", "machine_cpu_seconds"}


def test_the_machine_s_busy_time_leaves_idle_and_iowait_out(tmp_path: Path) -> None:
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    (tmp_path / "stat").write_text(
        "cpu  1000 20 300 90000 500 4 6 70 800 0\ncpu0 500 10 150 45000 250 2 3 35 400 0\n"
    )
    assert machine_busy_seconds(tmp_path) == pytest.approx((1000 + 20 + 300 + 4 + 6 + 70) / TICKS)


def test_the_machine_s_busy_time_grows_as_a_process_burns_cpu() -> None:
    before = machine_busy_seconds()
    burn(0.3)
    assert machine_busy_seconds() - before >= 0.25


def test_a_process_that_ends_keeps_the_cpu_it_was_seen_with() -> None:
    meter = ProcessMeter(every=0.05)
    try:
        started = time.monotonic()
        burn(0.4)
        burn(0.4)  # after the first: the second's pid is new, the first's gone
        first = meter.since(started)
        time.sleep(0.2)  # samples without the children
        later = meter.since(started)
    finally:
        meter.close()
    assert first["cpu_seconds"] >= 0.6
    assert later["cpu_seconds"] >= first["cpu_seconds"]


def test_since_a_time_before_the_first_sample_uses_the_first() -> None:
    meter = ProcessMeter(every=10)
    try:
        usage = meter.since(0.0)
    finally:
        meter.close()
    assert usage["cpu_seconds"] >= 0
    assert usage["peak_rss_mib"] * MIB > 0
