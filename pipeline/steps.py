"""The path's steps after ingest, by name and in order: each stage, then the gate on what it
wrote. Names only (no Spark, no Great Expectations): the Airflow DAG is built from them."""

from __future__ import annotations

ORDER = (
    "stream",
    "gate_raw",
    "transform",
    "gate_clean",
    "load",
    "gate_load",
    "segment",
    "gate_segments",
    "aggregate",
    "publish",
)
GATE_OF = {"stream": "gate_raw", "transform": "gate_clean", "load": "gate_load",
           "segment": "gate_segments"}  # fmt: skip
# Steps that only check what a stage wrote and change nothing.
GATES = frozenset(GATE_OF.values())
# Steps that may simply run again after a failure: the stream resumes from its checkpoint, the
# others overwrite what they wrote (HBase rows by key). A gate that failed fails again: no retry;
# ingest starts a new run each time: no retry either.
RETRYABLE = frozenset({"stream", "transform", "load", "segment", "aggregate", "publish"})
