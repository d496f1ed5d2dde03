"""How well the cleaner handled the generator's injected errors, measured against the truth twin.

Per error kind a truth row is `repaired_correctly` (in clean, every value equals the truth),
`imputed` (in clean and correct, except a value the error destroyed and the rules filled by policy:
Age -> the median), `set_aside` (in clean and correct, except values set to null that its
quality_flags name: the sale is kept), `quarantined`, `repaired_wrongly` (in clean with a wrong
value), or `lost` (nowhere: must not happen). Row `correct_values` counts the values no error
touched: `injected` = values checked, `repaired_wrongly` = values changed (an error-free row
quarantined counts all of its values as changed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.clean import FLAG_FIELDS, CleanStats, fill_age
from pipeline.generate import ERROR_KINDS
from pipeline.generate_values import truth_age_groups
from pipeline.schema import AGE_MAX, AGE_MIN, CLEAN_COLUMNS, FLOAT_COLUMNS

TARGET_HANDLED = 0.995  # share of erroneous rows repaired, imputed, set aside or quarantined
TARGET_CHANGED = 0.001  # largest share of untouched (correct) values the cleaner may change

OUTCOMES = ("repaired_correctly", "imputed", "set_aside", "quarantined", "repaired_wrongly", "lost")
COMPARED: tuple[str, ...] = tuple(
    c for c in CLEAN_COLUMNS if c not in ("TotalAmountNormalized", "quality_flags")
)
# (kind, field) pairs whose original value is gone; the cleaner fills it by policy. A malformed
# line may have lost any of its values (e.g. Age given as a list), so its Age may be filled too.
DESTROYED = frozenset(
    {("missing_value", "Age"), ("invalid_age", "Age"), ("non_numeric_text", "Age")}
)
# Columns computed from others: an error in the source makes the derived value not "untouched".
DERIVED: dict[str, tuple[str, ...]] = {
    "Age": ("AgeGroup",),
    "Quantity": ("TotalAmount",),
    "Price": ("TotalAmount",),
    "TotalAmount": ("TotalAmount",),
}
_ROW_KEY = re.compile(r"[0-9a-f]+-\d{9}")


def repair_report(
    truth: pd.DataFrame,
    clean: pd.DataFrame,
    quarantine: pd.DataFrame,
    stats: CleanStats | None = None,
) -> pd.DataFrame:
    """Outcome counts per error kind, plus `all_errors`, `no_error` and `correct_values` rows.

    With `stats`, an imputed Age must equal the policy's fill value; without, it must be in range.
    """
    _require(truth, [*COMPARED, "errors", "error_fields"], "truth")
    _require(clean, list(COMPARED), "clean")
    _require(quarantine, ["row_key", "raw"], "quarantine")
    truth = truth.reset_index(drop=True)
    keys = truth["row_key"].to_numpy(dtype=object)
    errors = [tuple(e) for e in truth["errors"]]
    fields = [tuple(f) for f in truth["error_fields"]]
    has_error = np.array([len(e) > 0 for e in errors], dtype=bool)

    copies = clean["row_key"].value_counts()
    aligned = clean.drop_duplicates("row_key").set_index("row_key").reindex(keys)
    in_clean = pd.Series(keys).isin(clean["row_key"]).to_numpy()
    in_quarantine = pd.Series(keys).isin(list(_quarantined_keys(quarantine))).to_numpy()
    equal = _equal_cells(truth, aligned)
    filled = equal.copy()  # equal, or filled by policy where the error destroyed the value

    destroyed = np.array([any((k, f) in DESTROYED for k, f in zip(e, fs, strict=False))
                          or "malformed" in e
                          for e, fs in zip(errors, fields, strict=True)])  # fmt: skip
    if destroyed.any():
        ages = aligned["Age"].to_numpy(dtype=np.float64)[destroyed]
        expected = (ages == fill_age(stats)) if stats else (ages >= AGE_MIN) & (ages <= AGE_MAX)
        filled[destroyed, COMPARED.index("Age")] |= expected
        groups = aligned["AgeGroup"].to_numpy(dtype=object)[destroyed]
        age_group_ok = np.zeros(len(ages), dtype=bool)
        known = ~np.isnan(ages)
        age_group_ok[known] = groups[known] == truth_age_groups(ages[known].astype(int))
        filled[destroyed, COMPARED.index("AgeGroup")] |= age_group_ok
    kept = filled | _set_aside_cells(aligned)

    single = pd.Series(keys).map(copies).fillna(0).to_numpy() <= 1
    outcome = np.select(
        [
            in_clean & single & equal.all(axis=1),
            in_clean & single & filled.all(axis=1),
            in_clean & single & kept.all(axis=1),
            in_clean,
            in_quarantine,
        ],
        ["repaired_correctly", "imputed", "set_aside", "repaired_wrongly", "quarantined"],
        default="lost",
    )

    rows = {kind: _counts(outcome[[kind in e for e in errors]]) for kind in ERROR_KINDS}
    rows["all_errors"] = _counts(outcome[has_error])
    rows["no_error"] = _counts(outcome[~has_error])
    rows["correct_values"] = _value_counts(kept, fields, has_error, in_clean)
    report = pd.DataFrame.from_dict(rows, orient="index", columns=["injected", *OUTCOMES])
    report.index.name = "kind"
    handled = report[["repaired_correctly", "imputed", "set_aside", "quarantined"]].sum(axis=1)
    report["ok_rate"] = handled / report["injected"].where(report["injected"] > 0)
    for row in ("no_error", "correct_values"):  # for these, only intact counts as ok
        total = report.loc[row, "injected"]
        report.loc[row, "ok_rate"] = (
            report.loc[row, "repaired_correctly"] / total if total else np.nan
        )
    return report


def _set_aside_cells(aligned: pd.DataFrame) -> np.ndarray:
    """rows x COMPARED: the value is null and the row's quality_flags name its field."""
    out = np.zeros((len(aligned), len(COMPARED)), dtype=bool)
    if "quality_flags" not in aligned.columns:
        return out
    flags = aligned["quality_flags"].fillna("").to_numpy(dtype=object)
    for i in [i for i, f in enumerate(flags.tolist()) if f]:
        for flag in flags[i].split(","):
            field = FLAG_FIELDS.get(flag)
            if field in COMPARED and pd.isna(aligned[field].iat[i]):
                out[i, COMPARED.index(field)] = True
    return out


def revenue_kept(truth: pd.DataFrame, clean: pd.DataFrame) -> tuple[float, int]:
    """(share of the truth's revenue in the clean rows, clean rows whose TotalAmount is not the
    truth's): what reaches the dashboard, and whether every kept sale is exact."""
    amounts = truth.set_index("row_key")["TotalAmount"]
    kept = clean.drop_duplicates("row_key")
    expected = amounts.reindex(kept["row_key"]).to_numpy(np.float64)
    wrong = int((~(np.abs(expected - kept["TotalAmount"].to_numpy(np.float64)) < 0.005)).sum())
    total = float(amounts.sum())
    return (float(kept["TotalAmount"].sum()) / total if total else 1.0), wrong


FORM_OUTCOMES = ("repaired", "quarantined", "wrong", "lost")


def form_report(
    forms: pd.DataFrame, expected: pd.DataFrame, clean: pd.DataFrame, quarantine: pd.DataFrame
) -> pd.DataFrame:
    """Per real-world form kind (a corpus written in another shop's conventions): rows holding
    it, `repaired` (in clean, every expected value equal), `quarantined`, `wrong` (in clean with
    another value) or `lost`; `repaired_rate`; plus an `all_forms` row.

    `forms`: row_key and `forms` (space-separated kinds); `expected`: row_key and the clean
    columns to compare, typed as clean's (floats compared to the cent).
    """
    _require(forms, ["row_key", "forms"], "forms")
    _require(expected, ["row_key"], "expected")
    columns = [c for c in expected.columns if c != "row_key"]
    _require(clean, ["row_key", *columns], "clean")
    want = expected.set_index("row_key")
    got = clean.drop_duplicates("row_key").set_index("row_key").reindex(forms["row_key"])
    kept, quarantined = set(clean["row_key"]), set(_quarantined_keys(quarantine))
    outcome = []
    for key in forms["row_key"]:
        if key not in kept:
            outcome.append("quarantined" if key in quarantined else "lost")
        elif all(_same(got.at[key, c], want.at[key, c]) for c in columns):
            outcome.append("repaired")
        else:
            outcome.append("wrong")
    outcomes = np.array(outcome, dtype=object)
    kinds = [f.split() for f in forms["forms"]]
    rows = {
        kind: _form_counts(outcomes[[kind in k for k in kinds]])
        for kind in sorted({k for ks in kinds for k in ks})
    }
    rows["all_forms"] = _form_counts(outcomes)
    report = pd.DataFrame.from_dict(rows, orient="index", columns=["rows", *FORM_OUTCOMES])
    report.index.name = "form"
    report["repaired_rate"] = report["repaired"] / report["rows"].where(report["rows"] > 0)
    return report


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        return bool(abs(float(got) - float(want)) < 0.005)
    return bool(got == want)


def _form_counts(outcome: np.ndarray) -> list[int]:
    return [len(outcome), *(int((outcome == o).sum()) for o in FORM_OUTCOMES)]


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"repair_report: {name} lacks columns {missing}; present: {list(frame.columns)}"
        )


def _quarantined_keys(quarantine: pd.DataFrame) -> Iterable[str]:
    """row_key of each quarantined row, read back from the raw text when it did not parse."""
    for key, raw in zip(quarantine["row_key"], quarantine["raw"], strict=True):
        if isinstance(key, str) and key:
            yield key.strip()
        elif isinstance(raw, str) and (match := _ROW_KEY.search(raw)):
            yield match.group(0)


def _equal_cells(truth: pd.DataFrame, aligned: pd.DataFrame) -> np.ndarray:
    """rows x COMPARED: does the clean value equal the truth value?"""
    out = np.zeros((len(truth), len(COMPARED)), dtype=bool)
    for j, column in enumerate(COMPARED):
        if column == "row_key":
            out[:, j] = True
            continue
        expected, actual = truth[column].to_numpy(), aligned[column].to_numpy()
        if column in FLOAT_COLUMNS:
            actual = pd.to_numeric(pd.Series(actual), errors="coerce").to_numpy(np.float64)
            out[:, j] = np.abs(expected.astype(np.float64) - actual) <= 1e-9
        else:
            out[:, j] = _object_equal(expected, actual)
    return out


def _object_equal(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return np.array([a == b for a, b in zip(expected.tolist(), actual.tolist(), strict=True)])


def _counts(outcome: np.ndarray) -> list[int]:
    return [len(outcome), *(int((outcome == o).sum()) for o in OUTCOMES)]


def _value_counts(
    equal: np.ndarray, fields: list[tuple[Any, ...]], has_error: np.ndarray, in_clean: np.ndarray
) -> list[int]:
    untouched = np.ones_like(equal)
    for i in np.flatnonzero(has_error).tolist():
        for f in fields[i]:
            for column in (f, *DERIVED.get(f, ())) if f else ():
                if column in COMPARED:
                    untouched[i, COMPARED.index(column)] = False
    checked_rows = in_clean | ~has_error  # error-free rows count even when rejected
    checked = untouched & checked_rows[:, None]
    changed = checked & ~(equal & in_clean[:, None])
    n_checked, n_changed = int(checked.sum()), int(changed.sum())
    return [n_checked, n_checked - n_changed, 0, 0, 0, n_changed, 0]


def handled_rate(report: pd.DataFrame) -> float:
    """Share of erroneous rows repaired correctly, imputed by policy, set aside, or quarantined."""
    return float(report.loc["all_errors", "ok_rate"])


def changed_rate(report: pd.DataFrame) -> float:
    """Share of values no error touched that the cleaner changed (or rejected)."""
    row = report.loc["correct_values"]
    return float(row["repaired_wrongly"] / row["injected"]) if row["injected"] else 0.0


def target_failures(report: pd.DataFrame) -> list[str]:
    """Which quality targets the report misses (empty when all are met), each with its numbers."""
    failures = []
    if handled_rate(report) < TARGET_HANDLED:
        failures.append(
            f"handled {handled_rate(report):.3%} of erroneous rows < {TARGET_HANDLED:.1%}"
        )
    if changed_rate(report) > TARGET_CHANGED:
        failures.append(
            f"changed {changed_rate(report):.3%} of correct values > {TARGET_CHANGED:.1%}"
        )
    lost = int(report.loc[["all_errors", "no_error"], "lost"].sum())
    if lost:
        failures.append(f"{lost} rows are neither clean nor quarantined")
    return failures


def format_report(report: pd.DataFrame) -> str:
    """The report as a plain-text table."""

    def rate(x: float) -> str:
        return "" if pd.isna(x) else f"{x:.2%}"

    text: str = report.to_string(formatters={"ok_rate": rate})
    return text
