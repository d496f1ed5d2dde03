"""The repair report: the cleaner meets its quality targets; the report notices when it misses."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.clean import (
    CleanStats,
    clean_batch,
    clean_lines,
    compute_stats,
    parse_lines,
    stat_inputs,
)
from pipeline.generate import ERROR_KINDS, generate_orders
from pipeline.quality import (
    OUTCOMES,
    changed_rate,
    form_report,
    format_report,
    handled_rate,
    repair_report,
    revenue_kept,
    target_failures,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def run():
    orders = generate_orders(20_000, seed=21)
    raw = parse_lines(pd.Series(orders.lines))
    stats = compute_stats(stat_inputs(raw))
    return orders.truth, clean_batch(raw, stats), stats


def test_default_error_rate_meets_the_quality_targets(run) -> None:
    truth, result, stats = run
    report = repair_report(truth, result.clean, result.quarantine, stats)
    assert target_failures(report) == [], format_report(report)
    assert handled_rate(report) >= 0.995 and changed_rate(report) <= 0.001
    kinds = report.loc[list(ERROR_KINDS)]
    assert (kinds["injected"] > 0).all() and (kinds["lost"] == 0).all()
    assert (kinds["injected"] == kinds[list(OUTCOMES)].sum(axis=1)).all()


def test_errors_that_destroy_a_value_are_quarantined_imputed_or_set_aside_never_guessed(
    run,
) -> None:
    truth, result, stats = run
    report = repair_report(truth, result.clean, result.quarantine, stats)
    kinds = report.loc[list(ERROR_KINDS)]
    assert (kinds["repaired_wrongly"] == 0).all(), format_report(report)
    ship = report.loc["ship_before_order"]  # the sale kept, the shipping date set aside
    assert ship["set_aside"] > 0 and ship["set_aside"] + ship["quarantined"] == ship["injected"]
    assert report.loc["impossible_date", ["quarantined", "set_aside"]].min() > 0
    # Encoded twice: read; cut short or not an object: quarantined.
    assert report.loc["malformed", ["repaired_correctly", "quarantined"]].min() > 0
    # An invalid age: the customer's age from its other orders, else the median.
    assert report.loc["invalid_age", ["repaired_correctly", "imputed"]].min() > 0
    assert report.loc["duplicate", "repaired_correctly"] == report.loc["duplicate", "injected"]


def test_kept_sales_carry_the_truths_totals_and_almost_all_the_revenue(run) -> None:
    truth, result, _ = run
    share, wrong = revenue_kept(truth, result.clean)
    assert wrong == 0 and 0.995 <= share <= 1.0


def test_a_null_value_is_set_aside_only_when_its_flag_names_it(run) -> None:
    truth, result, stats = run
    error_free = set(truth.loc[truth["errors"].str.len() == 0, "row_key"])
    clean = result.clean.copy()
    first, second = clean.index[clean["row_key"].isin(error_free)][:2]
    clean.loc[[first, second], "Name"] = None
    clean.loc[first, "quality_flags"] = "missing_name"
    report = repair_report(truth, clean, result.quarantine, stats)
    assert report.loc["no_error", ["set_aside", "repaired_wrongly"]].tolist() == [1, 1]


def test_a_changed_correct_value_is_counted(run) -> None:
    truth, result, stats = run
    clean = result.clean.copy()
    error_free = set(truth.loc[truth["errors"].str.len() == 0, "row_key"])
    row = clean.index[clean["row_key"].isin(error_free)][0]
    clean.loc[row, "Country"] = "Atlantis"
    report = repair_report(truth, clean, result.quarantine, stats)
    assert report.loc["correct_values", "repaired_wrongly"] == 1
    assert report.loc["no_error", "repaired_wrongly"] == 1


def test_a_wrong_imputation_and_a_lost_row_are_reported(run) -> None:
    truth, result, stats = run
    imputed = truth.loc[truth["errors"].map(lambda e: e == ("invalid_age",)), "row_key"]
    clean = result.clean[result.clean["row_key"] != imputed.iloc[1]].copy()
    clean.loc[clean["row_key"] == imputed.iloc[0], "Age"] = 99
    report = repair_report(truth, clean, result.quarantine, stats)
    assert report.loc["invalid_age", ["repaired_wrongly", "lost"]].tolist() == [1, 1]
    assert any("neither clean nor quarantined" in f for f in target_failures(report))


def test_without_stats_any_in_range_imputed_age_counts_as_imputed(run) -> None:
    truth, result, _ = run
    report = repair_report(truth, result.clean, result.quarantine)
    assert report.loc["invalid_age", "imputed"] > 0 and target_failures(report) == []


def test_rows_missing_from_both_outputs_are_lost() -> None:
    orders = generate_orders(50, seed=1, error_rate=0.0)
    nothing = clean_lines([], CleanStats(age_median=40.0, total_min=0.0, total_max=0.0))
    report = repair_report(orders.truth, nothing.clean, nothing.quarantine)
    assert report.loc["no_error", "lost"] == 50
    assert (
        report.loc["correct_values", "repaired_wrongly"] == report.loc["correct_values", "injected"]
    )


def test_report_names_missing_columns() -> None:
    orders = generate_orders(10, seed=1)
    with pytest.raises(ValueError, match=r"truth lacks columns \['error_fields'\]"):
        repair_report(orders.truth.drop(columns="error_fields"), orders.truth, orders.truth)


def test_format_report_is_a_plain_text_table(run) -> None:
    truth, result, stats = run
    text = format_report(repair_report(truth, result.clean, result.quarantine, stats))
    header = text.splitlines()[0]
    assert all(column in header for column in ("injected", *OUTCOMES, "ok_rate"))
    assert all(kind in text for kind in (*ERROR_KINDS, "all_errors", "correct_values"))
    assert "%" in text


def test_the_form_report_counts_each_outcome_per_form() -> None:
    forms = pd.DataFrame(
        {"row_key": ["a", "b", "c", "d"], "forms": ["iso alpha2", "iso", "alpha2", "iso"]}
    )
    expected = pd.DataFrame({"row_key": ["a", "b", "c", "d"], "Price": [1.0, 2.0, 3.0, 4.0]})
    clean = pd.DataFrame({"row_key": ["a", "b"], "Price": [1.001, 2.5]})
    quarantine = pd.DataFrame({"row_key": ["c"], "raw": ["{}"]})
    report = form_report(forms, expected, clean, quarantine)
    assert report.loc["iso", ["rows", "repaired", "wrong", "lost"]].tolist() == [3, 1, 1, 1]
    assert report.loc["alpha2", ["rows", "repaired", "quarantined"]].tolist() == [2, 1, 1]
    assert report.loc["all_forms", "repaired_rate"] == 0.25
