"""Aggregates made by Spark from clean Parquet, published to a real HBase, served by the dashboard's
AggregateSource: the totals equal pandas sums over the clean rows exactly."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from dashboard import AggregateSource, create_app
from pipeline import aggregate, segments
from pipeline.adapters import hbase_aggregates, hbase_table
from pipeline.clean import clean_lines
from pipeline.generate import generate_orders
from pipeline.jobs.aggregate import aggregate_path, run_aggregate
from pipeline.jobs.load_hbase import run_load
from pipeline.jobs.segment import centroids_path, customers_path, run_segment
from pipeline.schema import CLEAN_COLUMNS, CLEAN_DDL
from pipeline.settings import Settings

pytestmark = pytest.mark.integration
ROWS = 6_000


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    frame = clean_lines(generate_orders(ROWS, seed=5, error_rate=0.05).lines).clean
    assert len(frame) > ROWS * 0.9
    return frame


@pytest.fixture
def settings(hbase_service, tmp_path: Path) -> Settings:
    return Settings(
        data_root=tmp_path.as_uri(),
        output_dir=tmp_path,
        thrift_host=hbase_service.thrift_host,
        thrift_port=hbase_service.thrift_port,
        hbase_table=f"orders_{tmp_path.name[-8:]}",
        shuffle_partitions=4,
    )


def write_clean(spark, clean: pd.DataFrame, settings: Settings) -> None:
    frame = spark.createDataFrame(clean[list(CLEAN_COLUMNS)], CLEAN_DDL).repartition(3)
    frame.write.mode("overwrite").parquet(settings.clean)


def sorted_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_spark_aggregates_equal_the_local_ones_and_hbase_serves_exact_totals(
    spark, settings: Settings, clean: pd.DataFrame
) -> None:
    write_clean(spark, clean, settings)
    counts = run_aggregate(spark, settings)
    local = aggregate.build_aggregates(clean)
    assert counts == {name: len(local[name]) for name in aggregate.PUBLISHED}
    for name in aggregate.PUBLISHED:
        made = spark.read.parquet(aggregate_path(settings, name)).toPandas()
        pd.testing.assert_frame_equal(
            sorted_frame(made), sorted_frame(local[name]), check_dtype=False, obj=name
        )

    published = hbase_aggregates.publish_aggregates(
        spark, settings, manifest={"stages": [{"name": "transform", "rows_out": len(clean)}]}
    )
    assert published.rows == {**counts, "segments": 0, "segment_centroids": 0}
    assert published.totals["orders"] == len(clean)

    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    started = time.monotonic()
    snapshot = source.aggregates()
    print(
        f"AggregateSource loaded {sum(counts.values()):,} rows in {time.monotonic() - started:.2f}s"
    )
    assert snapshot.run_id == published.run_id
    client = create_app(source, {"TESTING": True}).test_client()
    kpis = client.get("/api/summary").get_json()["kpis"]
    assert kpis["orders"] == len(clean)
    assert kpis["revenue"] == round(float(clean["TotalAmount"].sum()), 2)
    assert kpis["customers"] == clean["CustomerID"].nunique()

    country = clean["Country"].value_counts().index[1]
    months = clean["OrderDate"].map(lambda day: day.strftime("%Y-%m"))
    query = {"country": country, "start": "2024-01", "end": "2024-06", "category": "Books"}
    rows = clean[
        (clean["Country"] == country)
        & (months >= "2024-01")
        & (months <= "2024-06")
        & (clean["Category"] == "Books")
    ]
    kpis = client.get("/api/summary", query_string=query).get_json()["kpis"]
    assert (kpis["orders"], kpis["revenue"], kpis["customers"]) == (
        len(rows),
        round(float(rows["TotalAmount"].sum()), 2),
        rows["CustomerID"].nunique(),
    )
    health = client.get("/health/pipeline").get_data(as_text=True)
    assert published.run_id in health


def test_a_new_publish_is_picked_up_and_old_rows_are_gone(
    spark, settings: Settings, clean: pd.DataFrame
) -> None:
    first = hbase_aggregates.publish_aggregates(aggregate.build_aggregates(clean), settings)
    source = AggregateSource(
        settings.thrift_host, settings.thrift_port, settings.hbase_table, check_seconds=0.2
    )
    assert source.aggregates().run_id == first.run_id
    smaller = clean.head(500)
    second = hbase_aggregates.publish_aggregates(aggregate.build_aggregates(smaller), settings)
    time.sleep(0.3)
    assert source.aggregates().run_id == second.run_id
    assert source.aggregates().orders == 500
    back = hbase_aggregates.read_aggregates(
        settings.thrift_host, settings.thrift_port, hbase_aggregates.table_name(settings)
    )
    assert len(back["customers"]) == smaller["CustomerID"].nunique(), "stale rows deleted"
    assert (
        hbase_aggregates.read_manifest(
            settings.thrift_host, settings.thrift_port, hbase_aggregates.table_name(settings)
        )["run_id"]
        == second.run_id
    )


def test_segments_are_published_beside_the_aggregates_and_read_back_exactly(
    spark, settings: Settings, clean: pd.DataFrame
) -> None:
    write_clean(spark, clean, settings)
    result = run_segment(spark, settings)
    run_aggregate(spark, settings)  # joins each order with its customer's segment
    cube = spark.read.parquet(aggregate_path(settings, "cube")).toPandas()
    assert cube.groupby("Segment")["orders"].sum().gt(0).all()
    assert set(cube["Segment"]) == set(result.sizes)
    published = hbase_aggregates.publish_aggregates(spark, settings)
    assert published.rows["segments"] == result.customers == clean["CustomerID"].nunique()
    assert published.rows["segment_centroids"] == result.k
    back = hbase_aggregates.read_aggregates(
        settings.thrift_host,
        settings.thrift_port,
        hbase_aggregates.table_name(settings),
        names=segments.TABLES,
    )
    for name, path in (
        ("segments", customers_path(settings)),
        ("segment_centroids", centroids_path(settings)),
    ):
        made = spark.read.parquet(path).toPandas()
        pd.testing.assert_frame_equal(
            sorted_frame(back[name]), sorted_frame(made), check_dtype=False, obj=name
        )
    # A later publish without segments leaves none of them behind.
    again = hbase_aggregates.publish_aggregates(aggregate.build_aggregates(clean), settings)
    assert (again.rows["segments"], again.rows["segment_centroids"]) == (0, 0)
    left = hbase_aggregates.read_aggregates(
        settings.thrift_host,
        settings.thrift_port,
        hbase_aggregates.table_name(settings),
        names=segments.TABLES,
    )
    assert [len(f) for f in left.values()] == [0, 0]


def test_customer_drill_down_reads_one_prefix_of_the_orders_table(
    spark, settings: Settings, clean: pd.DataFrame
) -> None:
    write_clean(spark, clean, settings)
    assert run_load(spark, settings) == len(clean)
    source = AggregateSource(settings.thrift_host, settings.thrift_port, settings.hbase_table)
    busiest = clean["CustomerID"].value_counts().index[0]
    frame = source.customer_orders(busiest)
    theirs = clean[clean["CustomerID"] == busiest]
    assert sorted(frame["row_key"]) == sorted(theirs["row_key"])
    assert round(frame["TotalAmount"].sum(), 2) == round(theirs["TotalAmount"].sum(), 2)
    assert source.customer_orders("NOBODY").empty


def stored_cells(settings: Settings) -> dict[bytes, dict[bytes, bytes]]:
    """Every row of the aggregates table: its cells' values (not their timestamps)."""
    connection = hbase_table.connect(settings.thrift_host, settings.thrift_port)
    try:
        table = connection.table(hbase_aggregates.table_name(settings))
        return dict(table.scan(batch_size=5_000))
    finally:
        connection.close()


def test_a_bulk_publish_stores_the_cells_a_thrift_publish_does_and_replaces_the_last_one(
    spark, settings: Settings, clean: pd.DataFrame, hbase_service
) -> None:
    """Nulls, text the bulk lines escape, segments: the same cells either way; a second bulk
    publish of fewer rows leaves exactly its own rows and the manifest."""
    bulk = replace(
        settings,
        data_root=f"{hbase_service.hdfs_url}/{settings.hbase_table}",
        hbase_container=hbase_service.containers["hbase"],
    )
    thrift = replace(settings, hbase_table=f"{settings.hbase_table}_thrift")
    tricky = clean.head(40).assign(Category="Tab\tand\\back\nslash", Name=None, CustomerID="C\t\\N")
    frames = aggregate.build_aggregates(pd.concat([clean, tricky], ignore_index=True))
    customers = frames["customers"]["CustomerID"].drop_duplicates().tolist()
    cluster = [i % 2 for i in range(len(customers))]
    names_of = ["champions", "at risk\there"]
    frames["segments"] = pd.DataFrame(
        {"CustomerID": customers, "recency_days": 3, "frequency": 1, "monetary_cents": 100,
         "tenure_days": 10, "cluster": cluster, "segment": [names_of[c] for c in cluster]}
    )  # fmt: skip
    frames["segment_centroids"] = pd.DataFrame(
        {c: [0, 1] if t in ("INT", "BIGINT") else [0.25, float("nan")] if t == "DOUBLE"
            else names_of
         for c, t in segments.TABLES["segment_centroids"].items()}
    ).assign(customers=[cluster.count(0), cluster.count(1)])  # fmt: skip
    names = [*aggregate.PUBLISHED, *segments.TABLES]
    published = hbase_aggregates.publish_aggregates(frames, bulk, run_id="run-a", bulk_spark=spark)
    assert published.rows == {name: len(frames[name]) for name in names}
    hbase_aggregates.publish_aggregates(frames, thrift, run_id="run-a")
    by_bulk, by_thrift = stored_cells(bulk), stored_cells(thrift)
    manifest = hbase_aggregates.MANIFEST_KEY
    assert by_bulk.keys() == by_thrift.keys()
    assert len(by_bulk) == sum(published.rows.values()) + 1
    assert {k: v for k, v in by_bulk.items() if k != manifest} == {
        k: v for k, v in by_thrift.items() if k != manifest
    }
    back = hbase_aggregates.read_aggregates(
        bulk.thrift_host, bulk.thrift_port, hbase_aggregates.table_name(bulk), names=names
    )
    for name in names:
        pd.testing.assert_frame_equal(
            sorted_frame(back[name]), sorted_frame(frames[name]), check_dtype=False, obj=name
        )

    smaller = aggregate.build_aggregates(clean.head(500))  # and no segments
    again = hbase_aggregates.publish_aggregates(smaller, bulk, run_id="run-b", bulk_spark=spark)
    left = stored_cells(bulk)
    assert len(left) == sum(again.rows.values()) + 1
    assert {cells[hbase_aggregates.RUN_COLUMN] for k, cells in left.items() if k != manifest} == {
        b"run-b"
    }
    assert (
        hbase_aggregates.read_manifest(
            bulk.thrift_host, bulk.thrift_port, hbase_aggregates.table_name(bulk)
        )["run_id"]
        == "run-b"
    )
    # The same run published again (say, after its aggregate was re-run): nothing changes.
    hbase_aggregates.publish_aggregates(smaller, bulk, run_id="run-b", bulk_spark=spark)
    assert stored_cells(bulk).keys() == left.keys()
