from __future__ import annotations

import pytest

from pipeline.bench import cpu_budget, load_lines, load_vs_ceiling, to_markdown
from pipeline.manifest import Stage

pytestmark = pytest.mark.unit


def load_stage(path: str, **seconds: float) -> Stage:
    detail = {"path": path, "written": 200_000, "write_seconds": 20.0, **seconds}
    return Stage("load_hbase", 200_000, 200_000, 21.0, detail)


def test_the_bulk_load_is_set_beside_hbase_s_own_bulk_load_of_its_hfiles() -> None:
    load = load_vs_ceiling(load_stage("bulk", hfile_seconds=5.0, handoff_seconds=2.5))
    assert load["rows_per_s"] == 10_000
    assert load["hbase_bulk_load_rows_per_s"] == 80_000
    assert load["ratio"] == 0.12
    own = "HBase's own bulk load (BulkLoadHFiles) of the same HFiles: 80,000 rows/s; ratio 0.12"
    assert own in load_lines(load)


def test_the_thrift_path_has_no_bulk_load_ceiling() -> None:
    load = load_vs_ceiling(load_stage("thrift"))
    assert "ratio" not in load
    assert load_lines(load) == [
        "HBase load (thrift): 10,000 rows/s",
        "HBase load seconds: {'write_seconds': 20.0}",
    ]


def test_the_report_shows_each_stage_s_cpu_seconds_and_peak_memory() -> None:
    stage = {"name": "transform", "rows_in": 10, "rows_out": 9, "seconds": 2.0, "rows_per_s": 4,
             "cpu_seconds": 3.5, "peak_rss_mib": 812.0, "machine_cpu_seconds": 3.8}  # fmt: skip
    results = {
        "command": "nox -s bench -- --rows 10",
        "machine": {"cores": 2},
        "generator": {"generator_rows_per_s": 1, "naive_faker_rows_per_s": 1, "ratio": 1.0},
        "cleaner": {"rows_per_s": 1},
        "stack": {
            "rows": 10, "startup_seconds": {}, "stages": [stage], "total_seconds": 2.0,
            "seed_rows": 6_000_000, "seed_seconds_extrapolated": 1_200_000,
            "load": load_vs_ceiling(load_stage("thrift")), "spark_copy_rows_per_s": 8,
            "transform_vs_copy": 0.5,
            "producer": {"ours_per_s": 1, "kafka_perf_test_per_s": 2, "messages": 3,
                         "record_bytes": 4, "ratio": 0.5},
            "peak_rss_mib": {"python": 1.0, "children": 2.0}, "dashboard": {},
            "cpu_budget": cpu_budget([stage], cores=2),
        },
    }  # fmt: skip
    report = to_markdown(results)
    assert "| transform | 10 | 9 | 2.0 | 4 | 3.5 | 812.0 | 3.8 | 1.90 |" in report
    assert (
        "| stage | rows in | rows out | seconds | rows/s | CPU s | peak RSS MiB | machine CPU s "
        "| cores busy |"
    ) in report
    assert "busy 3.8 core-s over the stages' 2.0 s (1.9 of 2 cores on average" in report
    assert "at this CPU the path takes at least 1.9 s on 2 cores" in report


def test_the_cpu_budget_sets_the_least_wall_time_the_machine_s_cpu_allows() -> None:
    stages = [
        {"name": "a", "seconds": 10.0, "cpu_seconds": 12.0, "machine_cpu_seconds": 18.0},
        {"name": "b", "seconds": 5.0, "cpu_seconds": 1.0, "machine_cpu_seconds": 6.0},
        {"name": "older", "seconds": 7.0, "cpu_seconds": None},  # not measured: left out
    ]
    budget = cpu_budget(stages, cores=2)
    assert budget["machine_cpu_seconds"] == 24.0
    assert budget["our_cpu_seconds"] == 13.0
    assert budget["services_and_other_cpu_seconds"] == 11.0
    assert budget["seconds"] == 15.0
    assert budget["busy_cores"] == 1.6
    assert budget["least_seconds"] == 12.0


def test_the_report_gives_the_segmentation_s_time_at_its_volume() -> None:
    results = {
        "command": "nox -s bench -- --no-stack",
        "machine": {"cores": 2},
        "generator": {"generator_rows_per_s": 1, "naive_faker_rows_per_s": 1, "ratio": 1.0},
        "cleaner": {"rows_per_s": 1},
        "segments": {"orders": 6_000_000, "customers": 50_000, "seconds": 40.0,
                     "orders_per_s": 150_000, "k": 3},
    }  # fmt: skip
    assert (
        "segmentation (local Spark): 6,000,000 orders of 50,000 customers in 40.0 s "
        "(150,000 orders/s), k = 3"
    ) in to_markdown(results)


def test_the_segmentation_bench_s_orders_cover_every_customer(tmp_path) -> None:
    import pandas as pd

    from pipeline.segment_bench import write_orders

    write_orders(tmp_path / "clean", orders=5_000, customers=300)
    orders = pd.read_parquet(tmp_path / "clean")
    assert len(orders) == 5_000
    assert orders["CustomerID"].nunique() == 300
    assert (orders["OrderDate"] >= orders["RegistrationDate"]).all()
    assert (orders["TotalAmount"] > 0).all()
    per_customer = orders.groupby("CustomerID").size()
    assert per_customer.max() > 5 * per_customer.median()  # heavy-tailed, like real shops
    assert orders.groupby("CustomerID")["RegistrationDate"].nunique().eq(1).all()
