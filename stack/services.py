"""Start Kafka, HDFS, HBase and its Thrift server as testcontainers on host networking.

Every service binds 127.0.0.1 on free ports picked at start; readiness is a real client round
trip; each container's log is written to the run's log folder when it stops.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer

from pipeline.adapters.hadoop_fs import CLIENT_CONF
from pipeline.adapters.kafka_topic import replication
from pipeline.hbase_codec import SALT_BUCKETS
from pipeline.schema import FAMILIES
from stack.engine import ensure_engine
from stack.images import prepare
from stack.jars import spark_connector_jars
from stack.spark_cluster import running_spark_cluster

testcontainers_config.ryuk_disabled = True  # Ryuk's image cannot be pulled here; we stop our own.
testcontainers_config.tc_host_override = "127.0.0.1"
CONF_TEMPLATES = Path(__file__).resolve().parent / "conf"
LOOPBACK = "127.0.0.1"
TOPOLOGIES = {"single": 1, "cluster": 3}  # Kafka brokers per topology


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def hadoop_xml(properties: dict[str, object]) -> str:
    body = "\n".join(
        f"  <property><name>{k}</name><value>{v}</value></property>" for k, v in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


class ServiceFailed(RuntimeError):
    pass


class Service:
    """One container: config folder mounted at /conf, host network, a readiness check."""

    name: str = "service"
    startup_timeout: float = 180

    def __init__(self, image: str, run_dir: Path, command: list[str] | None = None) -> None:
        # Docker takes a relative host path for the name of a volume, and refuses it.
        run_dir = run_dir.resolve()
        self.conf_dir = run_dir / self.name / "conf"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = run_dir / f"{self.name}.log"
        self.container_name = f"ecommerce-{self.name}-{free_port()}"
        self.container = (
            DockerContainer(image)
            .with_kwargs(network_mode="host")
            .with_volume_mapping(str(self.conf_dir), "/conf", "ro")
            .with_name(self.container_name)
        )
        if command:
            self.container.with_command(command)
        self.started_at = 0.0
        self.startup_seconds = 0.0

    def write_conf(self) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> Service:
        self.write_conf()
        self.started_at = time.monotonic()
        self.container.start()
        return self

    def wait(self) -> Service:
        deadline = self.started_at + self.startup_timeout
        while True:
            self.container.get_wrapped_container().reload()
            status = self.container.get_wrapped_container().status
            if status in ("exited", "dead"):
                raise ServiceFailed(self._failure(f"container {status} during start-up"))
            with contextlib.suppress(Exception):  # not up yet: any client error means retry
                if self.ready():
                    break
            if time.monotonic() > deadline:
                raise ServiceFailed(self._failure(f"not ready after {self.startup_timeout:.0f}s"))
            time.sleep(0.5)
        self.startup_seconds = time.monotonic() - self.started_at
        return self

    def _failure(self, why: str) -> str:
        self.save_logs()
        tail = self.log_path.read_text(errors="replace").splitlines()[-25:]
        return f"{self.name}: {why}. Last log lines ({self.log_path}):\n" + "\n".join(tail)

    def save_logs(self) -> None:
        try:
            out, err = self.container.get_logs()
        except Exception:  # noqa: BLE001 - container already gone: keep what we have
            return
        self.log_path.write_bytes(out + err)

    def stop(self) -> None:
        self.save_logs()
        self.container.stop()


class KafkaService(Service):
    """One KRaft node, broker and controller in one process: alone, or one of a cluster whose
    controllers all vote (``join``)."""

    name = "kafka"

    def __init__(self, image: str, run_dir: Path, node_id: int = 1) -> None:
        self.name = "kafka" if node_id == 1 else f"kafka-{node_id}"
        super().__init__(image, run_dir)
        self.node_id = node_id
        self.port, self.controller_port = free_port(), free_port()
        self.cluster: list[KafkaService] = [self]
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def join(self, cluster: list[KafkaService], cluster_id: str) -> KafkaService:
        self.cluster, self.cluster_id = cluster, cluster_id
        return self

    def write_conf(self) -> None:
        copies = replication(len(self.cluster))  # the topics' own rule, for the internal ones
        props: dict[str, object] = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "listeners": f"PLAINTEXT://{self.bootstrap},CONTROLLER://{LOOPBACK}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": "/data/kafka",
            "num.partitions": 2,
            "default.replication.factor": copies["replicas"],
            "min.insync.replicas": copies["min_insync"],
            "offsets.topic.replication.factor": copies["replicas"],
            "transaction.state.log.replication.factor": copies["replicas"],
            "transaction.state.log.min.isr": copies["min_insync"],
            "group.initial.rebalance.delay.ms": 0,
            "message.max.bytes": 2_097_152,
        }
        if len(self.cluster) == 1:
            props["controller.quorum.bootstrap.servers"] = f"{LOOPBACK}:{self.controller_port}"
        else:  # a static quorum: every node knows every voter; start.sh formats with the shared id
            props["controller.quorum.voters"] = ",".join(
                f"{node.node_id}@{LOOPBACK}:{node.controller_port}" for node in self.cluster
            )
            (self.conf_dir / "cluster.id").write_text(self.cluster_id + "\n")
        text = "".join(f"{k}={v}\n" for k, v in props.items())
        (self.conf_dir / "server.properties").write_text(text)
        (self.conf_dir / "log4j2.properties").write_text(
            (CONF_TEMPLATES / "log4j2.properties").read_text()
        )

    def ready(self) -> bool:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()


class HdfsService(Service):
    name = "hdfs"

    def __init__(self, image: str, run_dir: Path) -> None:
        super().__init__(image, run_dir)
        self.rpc_port, self.http_port = free_port(), free_port()
        self.dn_ports = (free_port(), free_port(), free_port())

    @property
    def url(self) -> str:
        return f"hdfs://{LOOPBACK}:{self.rpc_port}"

    def write_conf(self) -> None:
        data, dn_http, dn_ipc = self.dn_ports
        (self.conf_dir / "core-site.xml").write_text(hadoop_xml({"fs.defaultFS": self.url}))
        (self.conf_dir / "hdfs-site.xml").write_text(
            hadoop_xml(
                {
                    "dfs.replication": 1,
                    "dfs.permissions.enabled": "false",
                    "dfs.namenode.rpc-address": f"{LOOPBACK}:{self.rpc_port}",
                    "dfs.namenode.http-address": f"{LOOPBACK}:{self.http_port}",
                    "dfs.datanode.address": f"{LOOPBACK}:{data}",
                    "dfs.datanode.http.address": f"{LOOPBACK}:{dn_http}",
                    "dfs.datanode.ipc.address": f"{LOOPBACK}:{dn_ipc}",
                    "dfs.namenode.name.dir": "/data/name",
                    "dfs.datanode.data.dir": "/data/data",
                    "dfs.namenode.safemode.threshold-pct": 0,
                    "dfs.namenode.datanode.registration.ip-hostname-check": "false",
                }
            )
        )
        (self.conf_dir / "log4j.properties").write_text(
            (CONF_TEMPLATES / "log4j.properties").read_text()
        )

    def ready(self) -> bool:
        """The NameNode answers and counts a live DataNode, out of safe mode."""
        query = "qry=Hadoop:service=NameNode,name=FSNamesystemState"
        url = f"http://{LOOPBACK}:{self.http_port}/jmx?{query}"
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback URL
            bean = json.load(response)["beans"][0]
        return bean["NumLiveDataNodes"] >= 1 and bean["FSState"] == "Operational"


class HBaseService(Service):
    name = "hbase"
    startup_timeout = 240

    def __init__(self, image: str, run_dir: Path, hdfs_url: str) -> None:
        super().__init__(image, run_dir, command=["master"])
        self.hdfs_url = hdfs_url
        self.zk_port, self.master_port, self.rs_port = free_port(), free_port(), free_port()

    def site(self) -> dict[str, object]:
        return {
            "hbase.cluster.distributed": "false",
            "hbase.rootdir": f"{self.hdfs_url}/hbase",
            "hbase.zookeeper.quorum": LOOPBACK,
            "hbase.zookeeper.property.clientPort": self.zk_port,
            "hbase.zookeeper.property.dataDir": "/data/zookeeper",
            "hbase.master.port": self.master_port,
            "hbase.master.info.port": -1,
            "hbase.master.ipc.address": LOOPBACK,
            "hbase.regionserver.port": self.rs_port,
            "hbase.regionserver.info.port": -1,
            "hbase.regionserver.ipc.address": LOOPBACK,
            "hbase.unsafe.stream.capability.enforce": "false",
            "hbase.thrift.info.port": -1,
            # A bulk load of millions of rows on a small heap: leave room for the memstores, let
            # flushed files pile up a little before compacting, and never block writers on them.
            "hfile.block.cache.size": 0.2,
            "hbase.hstore.compactionThreshold": 6,
            "hbase.hstore.blockingStoreFiles": 64,
            "hbase.hregion.memstore.block.multiplier": 8,
            # Versions kept by the families of the pre-split tables: the published run's cells
            # stay readable while a later run rewrites its rows (pipeline.run). HBase itself only
            # documents this key (RegionSplitter's families keep 1); start.sh's presplit reads it.
            "hbase.column.max.version": 3,
            # The region server's flushes and the bulk-load tool's HFiles close as Spark's do.
            **CLIENT_CONF,
        }

    def write_conf(self) -> None:
        (self.conf_dir / "hbase-site.xml").write_text(hadoop_xml(self.site()))
        (self.conf_dir / "log4j2.properties").write_text(
            (CONF_TEMPLATES / "log4j2.properties").read_text()
        )

    def ready(self) -> bool:
        # HBase has no client of its own in Python: the Thrift service's round trip proves it up.
        out, _ = self.container.get_logs()
        return b"Master has completed initialization" in out

    def create_presplit_table(self, table: str, families: Iterable[str], regions: int) -> None:
        """HBase's own RegionSplitter: happybase (thrift1) cannot pass split keys."""
        command = ["/opt/service/start.sh", "presplit", table, str(regions), ":".join(families)]
        code, output = self.container.get_wrapped_container().exec_run(command)
        if code != 0:
            tail = output.decode(errors="replace").splitlines()[-15:]
            raise ServiceFailed(f"pre-splitting {table} failed ({code}):\n" + "\n".join(tail))


class ThriftService(Service):
    name = "thrift"

    def __init__(self, image: str, run_dir: Path, hbase: HBaseService) -> None:
        self.port = free_port()
        super().__init__(image, run_dir, command=["thrift", str(self.port)])
        self.hbase = hbase

    def write_conf(self) -> None:
        (self.conf_dir / "hbase-site.xml").write_text(hadoop_xml(self.hbase.site()))
        (self.conf_dir / "log4j2.properties").write_text(
            (CONF_TEMPLATES / "log4j2.properties").read_text()
        )

    def ready(self) -> bool:
        import happybase

        connection = happybase.Connection(LOOPBACK, self.port, timeout=5000)
        try:
            connection.tables()  # a master round trip through Thrift
            return True
        finally:
            connection.close()


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    hdfs_url: str
    thrift_host: str
    thrift_port: int
    startup_seconds: dict[str, float]
    log_dir: Path
    # Docker container name per service (kafka, hdfs, hbase, thrift): what fault tests restart.
    containers: dict[str, str]
    spark_jars: tuple[str, ...] = ()  # Spark's Kafka connector, for Settings.spark_jars
    spark_master: str = ""  # spark://… with the cluster topology; else jobs run in local mode
    spark_web_url: str = ""  # the master's status page (JSON at /json/)

    def as_env(self) -> dict[str, str]:
        return {
            "PIPELINE_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "PIPELINE_HDFS_URL": self.hdfs_url,
            "PIPELINE_THRIFT_HOST": self.thrift_host,
            "PIPELINE_THRIFT_PORT": str(self.thrift_port),
            "PIPELINE_SPARK_JARS": ",".join(self.spark_jars),
            "PIPELINE_HBASE_CONTAINER": self.containers.get("hbase", ""),
            **({"PIPELINE_SPARK_MASTER": self.spark_master} if self.spark_master else {}),
        }


def _started(stack: ExitStack, service: Service) -> Service:
    stack.callback(service.stop)
    return service.start()


def kafka_cluster_id() -> str:
    """A KRaft cluster id as Kafka's own ``random-uuid`` writes it (URL-safe base64 of 16 bytes,
    never starting with a dash)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def kafka_nodes(image: str, run_dir: Path, topology: str) -> list[KafkaService]:
    """One node, or BROKERS nodes that are each broker and controller of one cluster."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology {topology!r}: one of {', '.join(TOPOLOGIES)}")
    nodes = [KafkaService(image, run_dir, node_id=n + 1) for n in range(TOPOLOGIES[topology])]
    if len(nodes) > 1:
        cluster_id = kafka_cluster_id()
        for node in nodes:
            node.join(nodes, cluster_id)
    return nodes


@contextmanager
def running_stack(
    log_dir: Path | None = None,
    services: tuple[str, ...] = ("kafka", "hdfs", "hbase", "spark"),
    progress: Callable[[str], None] = lambda _: None,
    presplit_tables: tuple[str, ...] = ("customer_orders",),
    topology: str = "single",
) -> Iterator[Endpoints]:
    """Build what is missing, start the requested services, yield their endpoints, stop them.

    "hbase" brings HDFS (its root dir) and the Thrift server with it, and creates
    `presplit_tables` split on the row-key salt (see pipeline.hbase_codec). `topology` "cluster"
    runs Kafka as three brokers (containers kafka, kafka-2, kafka-3) and "spark" as a master and
    two workers (stack.spark_cluster); in the single topology Spark runs inside each job (local).
    """
    client = ensure_engine()
    progress("preparing images (first run: Java base image, Maven jars, service images)")
    images = prepare(client)
    spark_jars = tuple(str(p) for p in spark_connector_jars())
    # Absolute, so Endpoints.log_dir still names it for a reader in another working directory.
    run_dir = Path(log_dir or tempfile.mkdtemp(prefix="ecommerce-stack-")).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    want_hdfs = "hdfs" in services or "hbase" in services
    with ExitStack() as stack:
        brokers = kafka_nodes(images["kafka"], run_dir, topology) if "kafka" in services else []
        for broker in brokers:
            _started(stack, broker)
        hdfs = _started(stack, HdfsService(images["hdfs"], run_dir)) if want_hdfs else None
        thrift = hbase = None
        if hdfs:
            hdfs.wait()
            progress(f"hdfs ready in {hdfs.startup_seconds:.1f}s at {hdfs.url}")
        if "hbase" in services and hdfs:
            hbase = _started(stack, HBaseService(images["hbase"], run_dir, hdfs.url))
        for broker in brokers:
            broker.wait()
            progress(f"{broker.name} ready in {broker.startup_seconds:.1f}s at {broker.bootstrap}")
        if isinstance(hbase, HBaseService):
            hbase.wait()
            progress(f"hbase ready in {hbase.startup_seconds:.1f}s")
            thrift = _started(stack, ThriftService(images["hbase"], run_dir, hbase)).wait()
            progress(f"thrift ready in {thrift.startup_seconds:.1f}s at {LOOPBACK}:{thrift.port}")
            for table in presplit_tables:
                hbase.create_presplit_table(table, FAMILIES, SALT_BUCKETS)
                progress(f"created {table} pre-split into {SALT_BUCKETS} regions")
        spark = None
        if topology == "cluster" and "spark" in services:
            spark = stack.enter_context(running_spark_cluster(run_dir, progress=progress))
        started = [s for s in (*brokers, hdfs, hbase, thrift) if s]
        yield Endpoints(
            kafka_bootstrap=",".join(broker.bootstrap for broker in brokers),
            hdfs_url=hdfs.url if hdfs else "",
            thrift_host=LOOPBACK,
            thrift_port=thrift.port if isinstance(thrift, ThriftService) else 0,
            startup_seconds={s.name: round(s.startup_seconds, 1) for s in started},
            log_dir=run_dir,
            containers={s.name: s.container_name for s in started},
            spark_jars=spark_jars,
            spark_master=spark.master_url if spark else "",
            spark_web_url=spark.web_url if spark else "",
        )
