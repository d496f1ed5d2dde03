"""A run manifest -> what the pipeline health page shows. Pure: no Flask, no I/O.

The manifest is the JSON ``pipeline.run`` writes (and ``publish_aggregates`` stores in HBase):
``stages`` (name, rows_in, rows_out, seconds, detail), and, when present, ``run_id``,
``finished_at`` / ``published_at``, ``reconciliation``, ``gates``, and quarantine counts by reason
under a stage's ``detail`` (``quarantine_by_reason``). Anything missing is shown as such, never
guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TIME_KEYS = ("finished_at", "published_at", "completed_at", "created_at", "started_at")
REASON_KEYS = ("quarantine_by_reason", "quarantined_by_reason", "quarantine_reasons", "reasons")
_SUCCESS_KEYS = ("success", "passed", "ok")


def _stage_map(stages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(s.get("name")): s for s in stages}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check(name: str, expected: int | None, actual: int | None) -> dict[str, Any] | None:
    if expected is None or actual is None:
        return None
    return {"name": name, "expected": expected, "actual": actual, "ok": expected == actual}


def stage_checks(stages: list[dict[str, Any]], manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Row counts that must agree from stage to stage, for the stages the manifest has."""
    by = _stage_map(stages)

    def get(stage: str, key: str) -> int | None:
        return _int(by.get(stage, {}).get(key))

    def detail(stage: str, key: str) -> int | None:
        return _int((by.get(stage, {}).get("detail") or {}).get(key))

    def plus(*values: int | None) -> int | None:
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    transform_out = get("transform", "rows_out")
    totals = ((manifest.get("aggregates") or {}).get("totals") or {}) if manifest else {}
    checks = [
        _check(
            "generated lines = bulk + produced",
            get("generate", "rows_out"),
            plus(get("bulk_load", "rows_in"), get("produce", "rows_in")),
        ),
        _check(
            "landed raw rows = transform input",
            plus(get("bulk_load", "rows_out"), get("stream_ingest", "rows_out")),
            get("transform", "rows_in"),
        ),
        _check(
            "transform input = clean + quarantined + duplicates",
            get("transform", "rows_in"),
            plus(
                transform_out, detail("transform", "quarantined"), detail("transform", "duplicates")
            ),
        ),
        _check("clean rows = rows in HBase", transform_out, get("load_hbase", "rows_out")),
        _check("clean rows = orders in the aggregates", transform_out, _int(totals.get("orders"))),
    ]
    return [c for c in checks if c is not None]


def _given_reconciliation(value: Any) -> list[dict[str, Any]]:
    """A manifest's own ``reconciliation``: {name: bool | {...}} or [{name, ok, ...}]."""
    items: list[tuple[str, Any]]
    if isinstance(value, Mapping):
        value = value.get("checks", value)
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items() if k not in ("status", "ok")]
    elif isinstance(value, list):
        items = [(str(v.get("name", i)), v) for i, v in enumerate(value) if isinstance(v, Mapping)]
    else:
        return []
    out = []
    for name, v in items:
        if isinstance(v, bool):
            out.append({"name": name, "expected": None, "actual": None, "ok": v})
        elif isinstance(v, Mapping):
            ok = next((bool(v[k]) for k in _SUCCESS_KEYS if k in v), None)
            if ok is None and "expected" in v and "actual" in v:
                ok = v["expected"] == v["actual"]
            out.append({"name": name, "expected": v.get("expected"), "actual": v.get("actual"),
                        "ok": ok})  # fmt: skip
    return out


def quarantine_by_reason(stages: list[dict[str, Any]], manifest: Mapping[str, Any]) -> list:
    """(reason, count) pairs, largest first, from the first stage detail that has them."""
    places = [manifest, *[(s.get("detail") or {}) for s in stages]]
    for place in places:
        for key in REASON_KEYS:
            value = place.get(key) if isinstance(place, Mapping) else None
            if isinstance(value, Mapping) and value:
                pairs = [(str(r), _int(n) or 0) for r, n in value.items()]
                return sorted(pairs, key=lambda p: (-p[1], p[0]))
    return []


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
    checks = _given_reconciliation(manifest.get("reconciliation")) + stage_checks(stages, manifest)
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
        "quarantine": quarantine_by_reason(stages, manifest),
        "gates": {"status": _status([g["ok"] for g in gate_results]), "results": gate_results},
        "aggregates": manifest.get("aggregates")
        if isinstance(manifest.get("aggregates"), Mapping)
        else None,
    }
