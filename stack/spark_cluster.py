"""Spark standalone on this host: a master and its workers as processes started from the pyspark
distribution's own classes and launch script (``pyspark/bin/spark-class``), all on 127.0.0.1.

Executors are started by the workers; their Python workers run the project's interpreter
(``spark.pyspark.python``, set by build_spark), so a job runs on ``spark://`` unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
WORKER_CORES = 1
WORKER_MEMORY = "2g"
STARTUP_SECONDS = 120.0


@dataclass(frozen=True)
class SparkCluster:
    master_url: str  # spark://127.0.0.1:PORT, for Settings.spark_master
    web_url: str  # the master's status page; /json/ lists the workers
    workers: int
    startup_seconds: float


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _free_port() -> int:
    from stack.services import free_port

    return free_port()


def _start(stack: ExitStack, name: str, args: list[str], log_dir: Path) -> subprocess.Popen:
    """`spark-class ARGS` in its own process group, output to log_dir/NAME.log; stopped with the
    stack (SIGTERM to the group, SIGKILL after 10 s)."""
    home = spark_home()
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": LOOPBACK,  # every listening socket, web pages included, on loopback
        "SPARK_LOG_DIR": str(log_dir),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",  # no job submission by REST
    }
    handle = (log_dir / f"{name}.log").open("wb")
    stack.callback(handle.close)
    process = subprocess.Popen(
        [str(home / "bin" / "spark-class"), *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_stop, process)
    return process


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def alive_workers(web_url: str) -> int:
    with urllib.request.urlopen(f"{web_url}/json/", timeout=3) as response:  # noqa: S310 - loopback
        status = json.load(response)
    return sum(1 for worker in status.get("workers", []) if worker.get("state") == "ALIVE")


@contextmanager
def running_spark_cluster(
    log_dir: Path, workers: int = 2, progress: Callable[[str], None] = lambda _: None
) -> Iterator[SparkCluster]:
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    port, web_port = _free_port(), _free_port()
    master_url, web_url = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{web_port}"
    with ExitStack() as stack:
        processes = [
            _start(
                stack,
                "spark-master",
                [
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(port),
                    "--webui-port",
                    str(web_port),
                ],
                log_dir,
            )  # fmt: skip
        ]
        for n in range(1, workers + 1):
            work_dir = log_dir / f"spark-worker-{n}"
            work_dir.mkdir(exist_ok=True)
            processes.append(
                _start(
                    stack,
                    f"spark-worker-{n}",
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        master_url,
                        "--host",
                        LOOPBACK,
                        "--cores",
                        str(WORKER_CORES),
                        "--memory",
                        WORKER_MEMORY,
                        "--webui-port",
                        str(_free_port()),
                        "--work-dir",
                        str(work_dir),
                    ],
                    log_dir,
                )  # fmt: skip
            )
        deadline = started + STARTUP_SECONDS
        while True:
            dead = [p.args[1] for p in processes if p.poll() is not None]
            if dead:
                raise RuntimeError(f"Spark {dead} exited during start-up; see {log_dir}")
            try:
                if alive_workers(web_url) == workers:
                    break
            except OSError:
                pass  # the master's page is not up yet
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Spark cluster: {workers} workers not alive after {STARTUP_SECONDS:.0f}s; "
                    f"see {log_dir}"
                )
            time.sleep(0.5)
        cluster = SparkCluster(master_url, web_url, workers, round(time.monotonic() - started, 1))
        progress(f"spark: {workers} workers in {cluster.startup_seconds}s at {master_url}")
        yield cluster
