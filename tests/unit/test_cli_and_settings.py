"""The command line's help on every subcommand, and Settings read from the environment."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.cli import build_parser, main
from pipeline.jobs.load_hbase import choose_path
from pipeline.settings import Settings

pytestmark = pytest.mark.unit

SUBCOMMANDS = [
    ["generate"],
    ["clean"],
    ["stream"],
    ["transform"],
    ["load"],
    ["run"],
    ["demo"],
    ["serve"],
    ["stack"],
    ["stack", "prepare"],
    ["stack", "up"],
    ["quality", "repair-report"],
    ["segment"],
    ["eda"],
    ["aggregate"],
    ["publish"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    assert "usage: pipeline" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad",
    [
        ["generate", "--rows", "0", "--output", "x"],
        ["generate", "--error-rate", "1.5", "--output", "x"],
    ],
)
def test_bad_arguments_are_refused_with_a_message(bad: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(bad)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_settings_put_data_under_the_hdfs_url() -> None:
    settings = Settings.from_env(
        {"PIPELINE_HDFS_URL": "hdfs://127.0.0.1:9000/", "PIPELINE_THRIFT_PORT": "9091"}
    )
    assert settings.raw_bulk == "hdfs://127.0.0.1:9000/ecommerce/raw/bulk"
    assert settings.stream_checkpoint.startswith("hdfs://127.0.0.1:9000/ecommerce/")
    assert settings.thrift_port == 9091
    assert settings.topic == "customer_orders" and settings.hbase_table == "customer_orders"


def test_a_bad_setting_names_its_variable() -> None:
    with pytest.raises(ValueError, match="PIPELINE_THRIFT_PORT"):
        Settings.from_env({"PIPELINE_THRIFT_PORT": "ninety"})


def test_the_spark_jars_come_from_the_environment_and_a_run_keeps_its_logs() -> None:
    settings = Settings.from_env({"PIPELINE_SPARK_JARS": "/j/a.jar,/j/b.jar"})
    assert settings.spark_jars == ("/j/a.jar", "/j/b.jar")
    assert Settings.from_env({}).spark_jars == ()
    run = settings.for_run("r1")
    assert run.log_dir == run.output_dir / "runs" / "r1" / "logs"


def test_kafka_in_spark_without_the_connector_jars_is_refused_with_the_way_out() -> None:
    from pipeline.spark_session import build_spark

    with pytest.raises(RuntimeError, match="PIPELINE_SPARK_JARS"):
        build_spark(Settings(), kafka=True)


@pytest.mark.parametrize(
    "words", [["-v", "stack", "prepare"], ["run", "-v"], ["demo", "--verbose"]]
)
def test_verbose_is_taken_before_or_after_the_command(words: list[str]) -> None:
    assert build_parser().parse_args(words).verbose is True


ON_HDFS = Settings(data_root="hdfs://127.0.0.1:9000/ecommerce", hbase_container="hbase-1")


@pytest.mark.parametrize(
    ("settings", "rows", "path"),
    [
        (ON_HDFS, 100_000, "bulk"),
        (ON_HDFS, 99_999, "thrift"),
        (replace(ON_HDFS, bulk_load_min_rows=10), 10, "bulk"),
        (replace(ON_HDFS, hbase_container=""), 10**7, "thrift"),
        (replace(ON_HDFS, data_root="file:///tmp/data"), 10**7, "thrift"),
        (replace(ON_HDFS, load_path="thrift"), 10**7, "thrift"),
        (replace(ON_HDFS, load_path="bulk"), 1, "bulk"),
    ],
)
def test_the_load_path_is_bulk_for_big_loads_where_it_can_run(
    settings: Settings, rows: int, path: str
) -> None:
    assert choose_path(settings, rows) == path


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        (replace(ON_HDFS, load_path="bulk", hbase_container=""), "PIPELINE_HBASE_CONTAINER"),
        (replace(ON_HDFS, load_path="bulk", data_root="file:///d"), "HDFS"),
        (replace(ON_HDFS, load_path="fast"), "one of"),
    ],
)
def test_a_bulk_load_that_cannot_run_is_refused_naming_why(settings: Settings, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        choose_path(settings, 10**7)


def test_the_load_path_comes_from_the_environment_or_the_flag() -> None:
    env = {"PIPELINE_LOAD_PATH": "thrift", "PIPELINE_HBASE_CONTAINER": "h",
           "PIPELINE_BULK_LOAD_MIN_ROWS": "5"}  # fmt: skip
    settings = Settings.from_env(env)
    assert (settings.load_path, settings.hbase_container, settings.bulk_load_min_rows) == (
        "thrift", "h", 5,
    )  # fmt: skip
    args = build_parser().parse_args(["load", "--load-path", "bulk"])
    assert args.load_path == "bulk"


def test_settings_pass_to_a_child_process_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(
        data_root="hdfs://127.0.0.1:9000/x",
        output_dir=tmp_path / "out",
        kafka_bootstrap="127.0.0.1:1,127.0.0.1:2",
        topic="t",
        thrift_port=9999,
        hbase_table="orders_t",
        shuffle_partitions=3,
        spark_jars=("/a.jar", "/b.jar"),
        run_id="20260101T000000Z-abc",
        hbase_container="ecommerce-hbase-1",
    )
    assert Settings.from_env(settings.as_env()) == settings
    assert Settings.from_env(Settings().as_env()) == Settings()


@pytest.mark.parametrize(
    ("argv", "command", "no_gate"),
    [
        (["stream", "--run", "r"], "cmd_stream", False),
        (["transform", "--run", "r", "--no-gate"], "cmd_transform", True),
        (["load", "--no-gate"], "cmd_load", True),
        (["segment", "--run", "r"], "cmd_segment", False),
        (["gate", "segments", "--run", "r"], "cmd_gate", None),
        (["aggregate"], "cmd_aggregate", None),
        (["publish", "--run", "r"], "cmd_publish", None),
        (["manifest", "--run", "r"], "cmd_manifest", None),
        (["ingest", "--rows", "10"], "cmd_run", None),
    ],
)
def test_each_step_command_reaches_its_own_function(
    argv: list[str], command: str, no_gate: bool | None
) -> None:
    args = build_parser().parse_args(argv)
    assert args.func.__name__ == command
    assert getattr(args, "no_gate", None) is no_gate


def test_a_gate_is_named_by_its_dataset() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["gate", "everything"])
