"""The command line's help on every subcommand, and Settings read from the environment."""

from __future__ import annotations

import pytest

from pipeline.cli import build_parser, main
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
