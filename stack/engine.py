"""A reachable Docker engine: the one running, or Debian's docker.io started loopback-only."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
from docker.errors import DockerException

DOCKERD_LOG = Path("/var/log/ecommerce-pipeline-dockerd.log")


def _ping() -> bool:
    try:
        return bool(docker.from_env(timeout=10).ping())
    except DockerException:
        return False


def apt_install(*packages: str) -> None:
    """Install Debian packages, or say exactly what is missing when this machine cannot."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"missing: {' '.join(packages)} — install them (Debian: apt-get install "
            f"{' '.join(packages)}) or run as root on a Debian machine so the project can"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def ensure_engine(timeout: float = 60) -> docker.DockerClient:
    """Return a client for a working engine, installing and starting dockerd if none answers.

    The engine we start has no bridge and touches no iptables: containers run with host
    networking and every service binds 127.0.0.1.
    """
    if not _ping():
        if shutil.which("dockerd") is None:
            apt_install("docker.io")
        DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
        with DOCKERD_LOG.open("ab") as log:
            subprocess.Popen(
                ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false"],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _ping():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"dockerd did not answer within {timeout:.0f}s; see {DOCKERD_LOG}"
                )
            time.sleep(0.5)
    return docker.from_env(timeout=300)
