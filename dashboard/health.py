"""A run manifest -> what the pipeline health page shows. Pure: no Flask, no I/O.

The manifest is the JSON ``pipeline.run`` writes (and ``publish_aggregates`` stores in HBase):
``stages`` (name, rows_in, rows_out, seconds, detail), and, when present, ``run_id``,
``finished_at`` / ``published_at``, ``status``, ``problem``, ``reconciliation`` (as
pipeline.manifest.reconcile computed it during the run), ``gates``, and quarantine counts by reason
in the transform stage's ``detail`` (``quarantined_by_reason``). Anything missing is shown as such,
never guessed or recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TIME_KEYS = ("finished_at", "published_at", "completed_at", "created_at", "started_at")
_SUCCESS_KEYS = ("success", "passed", "ok")


def _stage_map(stages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(s.get("name")): s for s in stages}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def reconciliation(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The checks the run itself computed (pipeline.manifest.reconcile): shown, not recomputed."""
    checks = manifest.get("reconciliation")
    if not isinstance(checks, Mapping):
        return []
    return [
        {"name": str(name), "expected": c.get("expected"), "actual": c.get("actual"),
         "ok": c.get("ok") if isinstance(c.get("ok"), bool) else None}
        for name, c in checks.items()
        if isinstance(c, Mapping)
    ]  # fmt: skip


def quarantine_by_reason(stages: list[dict[str, Any]]) -> list:
    """(reason, count) pairs, largest first, from the transform stage."""
    transform = next((s for s in stages if s.get("name") == "transform"), {})
    value = (transform.get("detail") or {}).get("quarantined_by_reason")
    if not isinstance(value, Mapping):
        return []
    pairs = [(str(r), _int(n) or 0) for r, n in value.items()]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def gates(stages: list[dict[str, Any]], manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Gate results: ``gates`` as [{name, success, ...}] or {name: bool | {...}}, top level or in
    a stage's detail."""
    places = [manifest, *[(s.get("detail") or {}) for s in stages]]
    value = next((p["gates"] for p in places if isinstance(p, Mapping) and p.get("gates")), None)
    if isinstance(value, Mapping):
        value = [
            {"name": k, **(v if isinstance(v, Mapping) else {"success": v})}
            for k, v in value.items()
        ]
    if not isinstance(value, list):
        return []
    out = []
    for i, gate in enumerate(value):
        if not isinstance(gate, Mapping):
            continue
        name = gate.get("name") or gate.get("suite") or gate.get("dataset") or f"gate {i + 1}"
        ok = next((bool(gate[k]) for k in _SUCCESS_KEYS if k in gate), None)
        extra = {
            k: v
            for k, v in gate.items()
            if k not in ("name", "suite", "dataset", *_SUCCESS_KEYS)
            and isinstance(v, str | int | float)
        }
        out.append({"name": str(name), "ok": ok, "facts": extra})
    return out


def _status(results: list[bool | None]) -> str:
    if not results:
        return "unknown"
    if any(r is False for r in results):
        return "failed"
    return "ok" if all(r is True for r in results) else "unknown"


def report(manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """Everything the health page shows."""
    if not manifest:
        return {"available": False}
    stages = [s for s in manifest.get("stages") or [] if isinstance(s, Mapping)]
    stages = [dict(s) for s in stages]
    rows = []
    for s in stages:
        seconds = s.get("seconds")
        rows_out = _int(s.get("rows_out"))
        rate = (
            rows_out / seconds
            if rows_out and isinstance(seconds, int | float) and seconds
            else None
        )
        detail = s.get("detail") if isinstance(s.get("detail"), Mapping) else {}
        facts = {k: v for k, v in detail.items() if isinstance(v, str | int | float | bool)}
        rows.append({**s, "rate": rate, "facts": facts})
    checks = reconciliation(manifest)
    gate_results = gates(stages, manifest)
    when = next((manifest[k] for k in TIME_KEYS if manifest.get(k)), None)
    return {
        "available": True,
        "run_id": manifest.get("run_id"),
        "last_run": str(when) if when is not None else None,
        "facts": {
            k: v
            for k, v in manifest.items()
            if k in ("rows", "seed", "error_rate") and isinstance(v, int | float)
        },
        "stages": rows,
        "reconciliation": {"status": _status([c["ok"] for c in checks]), "checks": checks},
        "quarantine": quarantine_by_reason(stages),
        "status": manifest.get("status"),
        "problem": manifest.get("problem") or None,
        "gates": {"status": _status([g["ok"] for g in gate_results]), "results": gate_results},
        "aggregates": manifest.get("aggregates")
        if isinstance(manifest.get("aggregates"), Mapping)
        else None,
    }
