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
