"""Data-quality gates: a dataset's Great Expectations suite (expectations/<dataset>.json) run on a
pandas or Spark DataFrame; `require` raises GateFailed naming every failed expectation.

A layer validates, then publishes: `require(validate("clean", frame))` before anything is written.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
import pyarrow as pa

from expectations import read_suite
from pipeline.catalogue import Catalogue
from pipeline.clean import FLAG_FIELDS
from pipeline.clean.parsing import RAW_COLUMNS, parse_columns, safe_text
from pipeline.countries import COUNTRY_NAMES, M49_REGIONS
from pipeline.schema import (
    AGE_GROUPS,
    AGE_MAX,
    AGE_MIN,
    CLEAN_COLUMNS,
    QUARANTINE_COLUMNS,
)
from pipeline.segments import K_RANGE, SEGMENT_NAMES

# Before GE is imported: no usage statistics (they would try the network on every context).
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.batch_definition import BatchDefinition
    from pyspark.sql import DataFrame as SparkFrame

# GE logs a warning per run about things we decide on purpose (e.g. the ephemeral store).
logging.getLogger("great_expectations").setLevel(logging.ERROR)

DOCS_SITE = "gates"
RESULTS_STORE = "gate_results"

# How each schema type is spelled for expect_column_values_to_be_of_type on each engine. pandas
# holds DATE as datetime.date objects, for which GE has no pandas type name: there the type check
# is only "object" and the date-order expectation is what would break on anything else.
TYPE_NAMES: dict[str, dict[str, str]] = {
    "spark": {
        "STRING": "StringType",
        "INT": "IntegerType",
        "DOUBLE": "DoubleType",
        "DATE": "DateType",
    },
    "pandas": {"STRING": "str", "INT": "int32", "DOUBLE": "float64", "DATE": "object"},
}

# A first pass asks GE for success flags only: for a map expectation any richer result format
# adds one filtered scan per expectation (for the sample of unexpected values), which on millions
# of clean rows costs more than the checks themselves. Failed expectations are then run again,
# alone, with counts and samples (keyed by row_key where the dataset has one).
FAST_FORMAT: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}
DETAIL_SAMPLE = 5


class Failure(NamedTuple):
    """One failed expectation: its type, the column(s) it is about, what was observed."""

    expectation: str
    column: str
    observed: str


@dataclass(frozen=True)
class GateResult:
    """The outcome of one dataset's gate; `as_dict()` is what goes into a run manifest."""

    dataset: str
    success: bool
    evaluated: int
    failed: list[Failure]
    docs_index: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "success": self.success,
            "evaluated": self.evaluated,
            "failed": [f._asdict() for f in self.failed],
            "docs_index": None if self.docs_index is None else str(self.docs_index),
        }


class GateFailed(RuntimeError):
    """A dataset failed its gate: nothing of it may be published."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        n, total = len(result.failed), result.evaluated
        lines = [f"gate {result.dataset!r} failed {n} of {total} expectations:"]
        lines += [f"  {f.expectation} on {f.column}: {f.observed}" for f in result.failed]
        hint = f"Hint: see expectations/{result.dataset}.json"
        if result.docs_index is not None:
            hint += f" and the Data Docs at {result.docs_index}"
        super().__init__("\n".join([*lines, hint]))


def require(result: GateResult) -> GateResult:
    """`result` when it passed; else raise GateFailed with every failed expectation."""
    if not result.success:
        raise GateFailed(result)
    return result


def validate(
    dataset: str,
    frame: SparkFrame | pd.DataFrame,
    docs_dir: Path | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> GateResult:
    """Run the suite of `dataset` (raw, clean, quarantine, load, segments) on a Spark or pandas
    frame.

    With `docs_dir`, static HTML Data Docs of this validation are written there (index.html).
    The CATEGORIES parameter is the categories of `catalogue` (default: the built-in one), the
    catalogue the frame was cleaned against.
    """
    spec = read_suite(dataset)
    engine = "pandas" if isinstance(frame, pd.DataFrame) else "spark"
    meta = spec.get("meta", {})
    derived: dict[str, str] = meta.get("derived_columns", {})
    computed: list[str] = meta.get("computed_columns", [])
    frame = _derive(frame, derived)
    for column in computed:
        frame = COMPUTED[column](frame, column)
    parameters = _parameters(
        engine, [*derived, *computed], catalogue if catalogue is not None else Catalogue.default()
    )

    context = _context(docs_dir)
    batch_definition = _batch_definition(context, engine, dataset)
    suite = _suite(spec)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    outcome = batch.validate(suite, result_format=FAST_FORMAT, expectation_parameters=parameters)
    results = sorted(outcome.results, key=_position)
    failed_at = [_position(r) for r in results if not r.success]
    if failed_at:
        detail = batch.validate(
            _suite(spec, only=failed_at),
            result_format=_detail_format(frame),
            expectation_parameters=parameters,
        )
        for r in detail.results:
            results[_position(r)] = r
    outcome.results = results
    docs_index = (
        _build_docs(context, outcome, f"{engine}-{dataset}", docs_dir)
        if docs_dir is not None
        else None
    )
    return GateResult(
        dataset=dataset,
        success=all(r.success for r in results),
        evaluated=len(results),
        failed=[_failure(r, set(frame.columns)) for r in results if not r.success],
        docs_index=docs_index,
    )


# Up to this many rows a gate validates its frame collected, on GE's pandas engine: on Spark, GE
# runs each expectation as jobs whose scheduling outweighs a small frame's rows (2026-12-06, 20k
# clean rows, warm: 5.9 s on Spark against 1.2 s to collect and 1.1 s on pandas; the raw sample
# 3.2 against 2.5 + 0.2 s; the same results).
PANDAS_ROWS = 100_000


def local_if_small(frame: SparkFrame, rows: int) -> SparkFrame | pd.DataFrame:
    """The frame as pandas when it has at most PANDAS_ROWS rows (`rows`: what the run counted)."""
    return frame.toPandas() if rows <= PANDAS_ROWS else frame


def load_frame(clean_rows: int, hbase_rows: int) -> pd.DataFrame:
    """The one-row frame the `load` suite checks."""
    return pd.DataFrame({"clean_rows": [int(clean_rows)], "hbase_rows": [int(hbase_rows)]})


def parse_raw(raw: SparkFrame, column: str = "value") -> SparkFrame:
    """Raw lines (a Spark frame with a text column) -> what the `raw` suite checks: the rows of
    pipeline.clean.parse_lines, every field as text (`raw_texts`), `raw` and `parse_error`.

    The raw suite checks shares of rows (mostly=0.9), so on millions of lines a sample (read_raw
    with a fraction) answers the same question for a fraction of the parsing. The parsed rows are
    checkpointed: the suite reads them in several jobs, which would each read and parse again
    (1M lines, a 200k sample: the gate's CPU seconds halved).
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            texts = raw_texts(batch.column(column).to_pylist())
            yield pa.RecordBatch.from_arrays(
                [pa.array(v, type=pa.string()) for v in texts.values()], names=list(texts)
            )

    schema = ", ".join(f"`{n}` STRING" for n in RAW_COLUMNS)
    return raw.select(column).mapInArrow(run, schema).localCheckpoint()


def raw_texts(lines: list[Any]) -> dict[str, list[str | None]]:
    """parse_lines' columns with every value as text: a string as it is, anything else (numbers,
    lists, ...) as `str` gives it, nulls (and NaN) null; text UTF-8 cannot hold (a lone surrogate
    from a JSON escape) escaped, so a line of it is checked instead of failing the gate's hand-over
    to Arrow."""
    parsed = parse_columns(lines)
    return {name: [_text(v) for v in parsed[name].tolist()] for name in RAW_COLUMNS}


def _text(value: Any) -> str | None:
    if type(value) is str:
        return safe_text(value)
    if value is None or (type(value) is float and value != value):
        return None
    return safe_text(str(value))


# --------------------------------------------------------------------------------------------


def _parameters(engine: str, added: list[str], catalogue: Catalogue) -> dict[str, Any]:
    """Values for the suites' {"$PARAMETER": NAME} references."""
    return {
        **TYPE_NAMES[engine],
        "AGE_MIN": AGE_MIN,
        "AGE_MAX": AGE_MAX,
        "AGE_GROUPS": list(AGE_GROUPS),
        "COUNTRIES": list(COUNTRY_NAMES),
        "REGIONS": [*M49_REGIONS, ""],  # "": Antarctica, in no M49 region
        "CATEGORIES": list(catalogue.categories),
        "CLEAN_COLUMNS": [*CLEAN_COLUMNS, *added],
        "QUARANTINE_COLUMNS": list(QUARANTINE_COLUMNS),
        "SEGMENT_NAMES": list(SEGMENT_NAMES),
        "MAX_CLUSTER": max(K_RANGE) - 1,
    }


def _derive(frame: Any, derived: dict[str, str]) -> Any:
    """Add the suite's derived columns; skipped when an input is missing (the column check and
    the expectations on the derived column then fail, naming what is absent)."""
    if not derived:
        return frame
    if isinstance(frame, pd.DataFrame):
        try:
            return frame.assign(**{name: frame.eval(expr) for name, expr in derived.items()})
        except (KeyError, NameError, pd.errors.UndefinedVariableError):
            return frame
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    try:
        return frame.withColumns({name: F.expr(expr) for name, expr in derived.items()})
    except AnalysisException:
        return frame


def _with_set_aside_check(frame: Any, column: str) -> Any:
    """`column`: per row, the set-aside fields (clean.FLAG_FIELDS) that are null without a flag
    naming them or flagged but not null, plus the flags that are no flag code; 0 when sound."""
    if "quality_flags" not in frame.columns:
        return frame  # the column check fails, naming it
    fields: dict[str, set[str]] = {}
    for flag, field in FLAG_FIELDS.items():
        fields.setdefault(field, set()).add(flag)
    known = {"", *FLAG_FIELDS}
    if isinstance(frame, pd.DataFrame):
        flags = frame["quality_flags"].fillna("").str.split(",").map(set)
        count = flags.map(lambda f: len(f - known))
        for field, codes in fields.items():
            count += frame[field].isna().ne(flags.map(lambda f, c=codes: not c.isdisjoint(f)))
        return frame.assign(**{column: count.astype("int64")})
    from pyspark.sql import functions as F

    # Most rows have no flag: their count is just the set-aside fields that are null, and the
    # split and array tests run only for the others (the check was a third of the clean gate).
    text = F.coalesce("quality_flags", F.lit(""))
    parts = F.split(text, ",")
    count = F.size(F.array_except(parts, F.array(*map(F.lit, sorted(known)))))
    nulls = F.lit(0)
    for field, codes in fields.items():
        named = F.arrays_overlap(parts, F.array(*map(F.lit, sorted(codes))))
        count = count + (F.col(field).isNull() != named).cast("int")
        nulls = nulls + F.col(field).isNull().cast("int")
    return frame.withColumn(column, F.when(text == "", nulls).otherwise(count))


def _with_shipping_days(frame: Any, column: str) -> Any:
    """`column`: days from OrderDate to ShippingDate, null where either is missing, -inf where
    either is a value that is no date (as floats on both engines, so both report alike).

    The date order as one more column of the suite's one aggregate pass: on Spark, GE's column
    pair expectation takes two scans of its own (the rows it does not ignore, counted, then the
    unexpected ones). A value that is no date fails here whatever its type check says (pandas
    holds dates as plain objects), and gives no error that would fail the whole pass.
    """
    dates = ("ShippingDate", "OrderDate")
    if not set(dates) <= set(frame.columns):
        return frame  # the column check fails, naming what is absent
    if isinstance(frame, pd.DataFrame):
        shipping, order = (
            pd.to_datetime(frame[c], errors="coerce", format="ISO8601") for c in dates
        )
        days = (shipping - order).dt.days.astype("float64")
        undated = (frame[dates[0]].notna() & shipping.isna()) | (
            frame[dates[1]].notna() & order.isna()
        )
        return frame.assign(**{column: days.mask(undated, -math.inf)})
    from pyspark.sql import functions as F

    shipping, order = (F.col(c).try_cast("date") for c in dates)
    undated = (F.col(dates[0]).isNotNull() & shipping.isNull()) | (
        F.col(dates[1]).isNotNull() & order.isNull()
    )
    days = F.datediff(shipping, order).cast("double")
    return frame.withColumn(column, F.when(undated, F.lit(-math.inf)).otherwise(days))


# The columns a suite's meta.computed_columns may name: each says what neither Spark SQL nor
# pandas.eval can say alike, in code for both engines.
COMPUTED = {
    "shipping_days": _with_shipping_days,
    "set_aside_mismatches": _with_set_aside_check,
}


def _context(docs_dir: Path | None) -> Any:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_dir is not None:
        docs_dir = Path(docs_dir).resolve()
        # The results live beside the site: the index then lists every gate validated into this
        # folder (by this process or an earlier one), not only the last one.
        context.add_store(
            RESULTS_STORE,
            {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir / "results"),
                },
            },
        )
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {
                    "validations": {"source_store_name": RESULTS_STORE},
                    "profiling": {"source_store_name": RESULTS_STORE},
                },
            },
        )
    return context


def _batch_definition(context: Any, engine: str, dataset: str) -> BatchDefinition:
    if engine == "pandas":
        source = context.data_sources.add_pandas(name="pandas")
    else:
        # persist=False: GE would persist every batch and never unpersist it. A frame straight
        # from Parquet is cheaper re-read than cached (~11 Spark jobs for the clean suite); a
        # frame that is costly to compute should be persisted by the caller.
        source = context.data_sources.add_spark(name="spark", persist=False)
    return source.add_dataframe_asset(name=dataset).add_batch_definition_whole_dataframe("whole")


def _suite(spec: dict[str, Any], only: list[int] | None = None) -> gx.ExpectationSuite:
    # GE returns results in an order of its own: each expectation carries its position in meta.
    positions = range(len(spec["expectations"])) if only is None else only
    expectations = [
        {
            **spec["expectations"][i],
            "meta": {**spec["expectations"][i].get("meta", {}), "position": i},
        }
        for i in positions
    ]
    return gx.ExpectationSuite(
        name=spec["name"],
        expectations=expectations,
        meta=spec.get("meta", {}),
        notes=spec.get("notes"),
    )


def _position(result: Any) -> int:
    return int(result.expectation_config.meta["position"])


def _detail_format(frame: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": DETAIL_SAMPLE}
    if "row_key" in frame.columns:
        detail["unexpected_index_column_names"] = ["row_key"]
    return detail


def _build_docs(
    context: Any, outcome: ExpectationSuiteValidationResult, batch: str, docs_dir: Path
) -> Path:
    """Store the validation result beside the site, render its page and the index."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=outcome.suite_name),
        run_id=RunIdentifier(run_name="gate"),
        batch_identifier=batch,
    )
    context.stores[RESULTS_STORE].set(key, outcome)
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=[key])
    return Path(docs_dir).resolve() / "index.html"


def _columns(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    pair = [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
    if pair:
        return ", ".join(map(str, pair))
    if "column_list" in kwargs:
        return ", ".join(map(str, kwargs["column_list"]))
    return "(table)"


def _failure(result: Any, present: set[str]) -> Failure:
    config = result.expectation_config
    column = _columns(config.kwargs)
    absent = [c for c in column.split(", ") if c != "(table)" and c not in present]
    if absent:  # GE's own error for this ranges from clear to "list index out of range"
        return Failure(config.type, column, f"column missing: {', '.join(absent)}")
    return Failure(config.type, column, _observed(result, column))


def _observed(result: Any, column: str) -> str:
    error = _exception_message(result.exception_info or {})
    if error:
        return f"error: {_short(error.strip().splitlines()[-1])}"
    res = result.result or {}
    if "unexpected_count" in res:
        text = f"{res['unexpected_count']} of {res.get('element_count')} rows unexpected"
        if res.get("unexpected_percent") is not None:
            text += f" ({res['unexpected_percent']:.3g} %)"
        sample = _sample(res, column)
        return f"{text}, e.g. {_short(sample)}" if sample else text
    mismatched = (res.get("details") or {}).get("mismatched")
    if mismatched:
        return _short(f"mismatched {mismatched}")
    if "observed_value" in res:
        return _short(f"observed {res['observed_value']!r}")
    return "failed"


def _sample(res: dict[str, Any], column: str) -> str:
    values = [_value(v) for v in (res.get("partial_unexpected_list") or [])[:DETAIL_SAMPLE]]
    keys = [
        i.get("row_key") if isinstance(i, dict) else None
        for i in (res.get("partial_unexpected_index_list") or [])[:DETAIL_SAMPLE]
    ]
    if column != "row_key" and len(keys) == len(values) and any(k is not None for k in keys):
        return "; ".join(f"row_key {k}: {v}" for k, v in zip(keys, values, strict=True))
    return ", ".join(values)


def _value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_value(v) for v in value) + ")"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return repr(value)


def _exception_message(info: dict[str, Any]) -> str | None:
    if "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    # Several failed metrics: {metric id: {"exception_message": ...}}.
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
