"""The run manifest: one typed record of a run, and the reconciliation of its counts.

`pipeline run` writes it (``<output>/runs/<run_id>/manifest.json`` and ``<output>/manifest.json``),
`publish_aggregates` stores it in HBase, and the dashboard's health page reads it back with
`Manifest.from_dict`; the reconciliation is computed here once and only shown elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

STATUSES = ("running", "succeeded", "gate_failed", "counts_differ", "failed")


class RunFailed(RuntimeError):
    """A run stopped before publishing; the message names the stage and what did not hold."""


class NotReady(RunFailed):
    """A stage was asked to use input whose gate has not passed."""


def new_run_id() -> str:
    """Sortable by start time, unique across machines: ``20261202T190000Z-1a2b3c4d``."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{uuid.uuid4().hex[:8]}"


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Stage:
    name: str
    rows_in: int
    rows_out: int
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)
    # Of the run's own processes (process_meter), during the stage.
    cpu_seconds: float | None = None
    peak_rss_mib: float | None = None
    # Of the whole machine during the stage: ours, the services' and anything else running.
    machine_cpu_seconds: float | None = None


@dataclass
class Manifest:
    rows: int
    seed: int
    error_rate: float
    run_id: str = field(default_factory=new_run_id)
    # Every HBase cell of this run carries this timestamp (ms): a reader bounded by it sees this
    # run's version of a row even while a later run is rewriting it.
    cell_timestamp: int = field(default_factory=lambda: int(time.time() * 1000))
    status: str = "running"
    started_at: str = field(default_factory=now_text)
    finished_at: str | None = None
    published_at: str | None = None
    stages: list[Stage] = field(default_factory=list)
    gates: list[dict[str, Any]] = field(default_factory=list)
    reconciliation: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    data_docs: str = ""
    aggregates: dict[str, Any] = field(default_factory=dict)
    problem: str = ""

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def has_stage(self, name: str) -> bool:
        return any(s.name == name for s in self.stages)

    def gate_passed(self, dataset: str) -> bool:
        return any(g.get("dataset") == dataset and g.get("success") for g in self.gates)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(asdict(self), default=str))
        return data

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.as_dict(), indent=2))
        temporary.replace(path)  # readers see the old manifest or the new one, never half
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """The inverse of `as_dict`; unknown keys are ignored, missing ones take defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["stages"] = [
            Stage(**{k: v for k, v in s.items() if k in {f.name for f in fields(Stage)}})
            for s in data.get("stages") or []
            if isinstance(s, Mapping)
        ]
        return cls(**values)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def reconcile(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """The counts that must agree, stage to stage; each check says both sides."""
    out = {s.name: s for s in manifest.stages}
    checks: dict[str, tuple[int, int]] = {}
    if {"generate", "bulk_load", "produce"} <= set(out):
        rejected = out["produce"].detail.get("rejected", 0)
        checks["generated = bulk + produced + rejected at produce"] = (
            out["generate"].rows_out,
            out["bulk_load"].rows_in + out["produce"].rows_out + rejected,
        )
    if {"bulk_load", "stream_ingest", "transform"} <= set(out):
        rejected = out["produce"].detail.get("rejected", 0) if "produce" in out else 0
        checks["bulk + streamed + rejected landed = raw"] = (
            out["bulk_load"].rows_out + out["stream_ingest"].rows_out + rejected,
            out["transform"].rows_in,
        )
    if "transform" in out:
        detail = out["transform"].detail
        checks["raw = clean + quarantined + duplicates"] = (
            out["transform"].rows_in,
            out["transform"].rows_out + detail["quarantined"] + detail["duplicates"],
        )
    if "load_hbase" in out:
        checks["clean = HBase rows of this run"] = (
            out["transform"].rows_out,
            out["load_hbase"].rows_out,
        )
    if "segment" in out:
        checks["customers in clean = customers segmented"] = (
            out["segment"].detail["clean_customers"],
            out["segment"].rows_out,
        )
    if "aggregate" in out:
        orders = out["aggregate"].detail.get("orders")
        if orders is not None:
            checks["clean = orders in the aggregates"] = (out["transform"].rows_out, orders)
    return {name: {"expected": a, "actual": b, "ok": a == b} for name, (a, b) in checks.items()}


def failed_checks(reconciliation: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [
        f"{name}: expected {c['expected']:,}, got {c['actual']:,}"
        for name, c in reconciliation.items()
        if not c["ok"]
    ]
