"""Local images: a Java 17 base (local, pulled, or debootstrapped) and one image per service."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from stack.engine import apt_install
from stack.jars import STACK_DIR, jars_dir

BASE_IMAGE = "ecommerce-pipeline/jre17:bookworm"
PULLABLE_BASE = "eclipse-temurin:17-jre"
SERVICE_IMAGES = ("kafka", "hdfs", "hbase")


def _has_image(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except ImageNotFound:
        return False
    return True


def apt_mirror() -> str:
    """The Debian mirror this machine's apt already uses (debootstrap needs one)."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for pattern in (r"^URIs:\s*(\S+/debian)\s*$", r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)\s"):
            found = re.search(pattern, text, flags=re.MULTILINE)
            if found:
                return found.group(1)
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list*; debootstrap needs one")


def ensure_base_image(client: docker.DockerClient) -> str:
    if _has_image(client, BASE_IMAGE):
        return BASE_IMAGE
    try:
        client.images.pull(PULLABLE_BASE)
        client.images.get(PULLABLE_BASE).tag(BASE_IMAGE)
        return BASE_IMAGE
    except (APIError, DockerException):
        pass  # no registry reachable: build the base from Debian packages instead
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    with tempfile.TemporaryDirectory(prefix="jre17-rootfs-") as rootfs:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=openjdk-17-jre-headless",
                "bookworm",
                rootfs,
                apt_mirror(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-", BASE_IMAGE],
            stdin=tar.stdout,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrapped root failed")
    return BASE_IMAGE


def java_tools(service: str) -> list[Path]:
    """The Java tools the service's start script runs (HBase's bulk load, count, retire)."""
    return sorted((STACK_DIR / service).glob("*.java"))


def compile_tools(sources: list[Path], jars: Path, target: Path) -> None:
    """The tools' classes, against the service's own jars, into `target` (once per image: run
    from source, each call compiled them again, about 1 s of each)."""
    command = ["javac", "--release", "17", "-nowarn", "-cp", f"{jars}/*", "-d", str(target)]
    done = subprocess.run([*command, *map(str, sources)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"javac of {[s.name for s in sources]} failed:\n{done.stderr[-3000:]}")


def image_name(service: str) -> str:
    """Tag = digest of everything that goes into the image, so a changed stack rebuilds."""
    digest = hashlib.sha256()
    for part in (
        STACK_DIR / "Dockerfile",
        STACK_DIR / service / "pom.xml",
        STACK_DIR / service / "start.sh",
        *java_tools(service),
    ):
        digest.update(part.read_bytes())
    return f"ecommerce-pipeline/{service}:{digest.hexdigest()[:12]}"


def ensure_service_image(client: docker.DockerClient, service: str) -> str:
    name = image_name(service)
    if _has_image(client, name):
        return name
    base = ensure_base_image(client)
    with tempfile.TemporaryDirectory(prefix=f"{service}-image-") as context:
        ctx = Path(context)
        shutil.copy(STACK_DIR / "Dockerfile", ctx / "Dockerfile")
        shutil.copy(STACK_DIR / service / "start.sh", ctx / "start.sh")
        (ctx / "tools").mkdir()
        tools = java_tools(service)
        for tool in tools:
            shutil.copy(tool, ctx / "tools" / tool.name)
        if tools:
            compile_tools(tools, jars_dir(service), ctx / "tools")
        shutil.copytree(jars_dir(service), ctx / "lib", ignore=shutil.ignore_patterns(".*"))
        client.images.build(
            path=context,
            tag=name,
            buildargs={"BASE": base},
            rm=True,
            pull=False,
            network_mode="none",
        )
    return name


def prepare(client: docker.DockerClient) -> dict[str, str]:
    """Everything the stack needs, built once and reused: {service: image}."""
    return {service: ensure_service_image(client, service) for service in SERVICE_IMAGES}
