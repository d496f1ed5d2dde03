"""The Great Expectations suites, one JSON file per dataset (raw, clean, quarantine, load,
segments).

The files are GE's own suite format (`name`, `expectations` of `{"type", "kwargs"}`, `meta`,
`notes`). Vocabularies, bounds and column types are `{"$PARAMETER": NAME}` references filled from
pipeline.schema when a gate runs (pipeline.gates), so schema.py stays the one source of them.
`meta.derived_columns` names columns the gate adds before validating (Spark SQL / pandas.eval
expressions), `meta.computed_columns` those it adds in code (pipeline.gates.COMPUTED). Reading a
suite needs no Great Expectations import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUITES_DIR = Path(__file__).resolve().parent
DATASETS: tuple[str, ...] = ("raw", "clean", "quarantine", "load", "segments")


def suite_path(dataset: str) -> Path:
    if dataset not in DATASETS:
        raise ValueError(f"no expectation suite for dataset {dataset!r}; known: {list(DATASETS)}")
    return SUITES_DIR / f"{dataset}.json"


def read_suite(dataset: str) -> dict[str, Any]:
    """The suite of `dataset` as stored: {"name", "expectations": [{"type", "kwargs"}], "meta"}."""
    return json.loads(suite_path(dataset).read_text(encoding="utf-8"))
