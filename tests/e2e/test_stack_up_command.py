"""`pipeline stack up` as the README shows it: a relative log folder, eval-able endpoints, and a
clean stop on Ctrl-C."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import docker
import pytest
from command_process import cleaned_up, stack_containers, wait_while_running
from kafka import KafkaAdminClient

from pipeline.adapters import hbase_table

pytestmark = pytest.mark.e2e
VARIABLES = {
    "PIPELINE_KAFKA_BOOTSTRAP",
    "PIPELINE_HDFS_URL",
    "PIPELINE_THRIFT_HOST",
    "PIPELINE_THRIFT_PORT",
    "PIPELINE_SPARK_JARS",
    "PIPELINE_HBASE_CONTAINER",
}


def exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "export", line
            name, _, value = words[1].partition("=")
            out[name] = value
    return out


def test_stack_up_prints_exports_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    client = docker.from_env()
    before = stack_containers(client)
    env_file = tmp_path / "stack.env"
    command = [str(Path(sys.executable).with_name("pipeline")), "stack", "up",
               "--log-dir", "stack-logs-rel", "--env-file", str(env_file)]  # fmt: skip
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=out, stderr=err, start_new_session=True,
            env={**os.environ},
        )  # fmt: skip
        with cleaned_up(process, client, before):
            wait_while_running(process, env_file.exists, tmp_path / "stderr", 420, "env file")
            env = exports(env_file.read_text())
            assert set(env) == VARIABLES
            admin = KafkaAdminClient(bootstrap_servers=env["PIPELINE_KAFKA_BOOTSTRAP"])
            admin.list_topics()
            admin.close()
            connection = hbase_table.connect(
                env["PIPELINE_THRIFT_HOST"], int(env["PIPELINE_THRIFT_PORT"])
            )
            assert b"customer_orders" in connection.tables()
            connection.close()
            hdfs = urlparse(env["PIPELINE_HDFS_URL"])
            socket.create_connection((hdfs.hostname, hdfs.port), timeout=5).close()
            assert (tmp_path / "stack-logs-rel").is_dir(), "the relative log folder is used"

            process.send_signal(signal.SIGINT)
            assert process.wait(120) == 0
    assert exports((tmp_path / "stdout").read_text()) == env
    assert not stack_containers(client) - before, "the stack's containers are gone"
    assert not env_file.exists(), "the env file goes with the stack"
    client.close()
