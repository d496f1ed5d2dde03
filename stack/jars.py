"""Service jars from Maven Central, one folder per service, cached by the POM's content."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

STACK_DIR = Path(__file__).resolve().parent
SERVICES = ("kafka", "hdfs", "hbase", "spark")


def cache_root() -> Path:
    default = Path.home() / ".cache" / "ecommerce-pipeline"
    return Path(os.environ.get("PIPELINE_CACHE", default))


def pom_digest(service: str) -> str:
    return hashlib.sha256((STACK_DIR / service / "pom.xml").read_bytes()).hexdigest()[:12]


def jars_dir(service: str) -> Path:
    """Resolve (once) and return the folder holding every runtime jar of `service`."""
    target = cache_root() / "jars" / f"{service}-{pom_digest(service)}"
    if (target / ".complete").exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the service jars: apt-get install maven")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(STACK_DIR / service / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"Maven could not resolve the {service} jars (stack/{service}/pom.xml):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
        )
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def spark_connector_jars() -> list[Path]:
    """The Kafka source jars for Spark, minus those pyspark already ships (Scala, compression)."""
    import pyspark

    bundled = {p.name for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    bundled_artifacts = {name.rsplit("-", 1)[0] for name in bundled}
    return sorted(
        p
        for p in jars_dir("spark").glob("*.jar")
        if p.name.rsplit("-", 1)[0] not in bundled_artifacts
    )
