"""The CLI surface: help on every option, version, schema, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from mlops_ci import __version__
from mlops_ci.cli import COMMANDS, LazyGroup, cli, main
from mlops_ci.errors import GateFailed


def _all_commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    assert isinstance(cli, LazyGroup)
    return [(name, cmd) for name in cli.list_commands(ctx) if (cmd := cli.get_command(ctx, name))]


def test_every_listed_command_is_present() -> None:
    names = [name for name, _ in _all_commands()]
    assert names == list(COMMANDS)


def test_every_option_and_command_has_help() -> None:
    missing = []
    for param in cli.params:
        if isinstance(param, click.Option) and not param.help:
            missing.append(f"mlops-ci {param.opts[0]}")
    for name, command in _all_commands():
        if not (command.help or command.short_help):
            missing.append(f"mlops-ci {name} (command)")
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"mlops-ci {name} {param.opts[0]}")
    assert not missing, "options without help text: " + ", ".join(missing)


def test_help_lists_commands_and_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output
    assert "Exit codes" in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_help_renders(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in out.stdout


def test_schema_prints_json_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "schema"], capture_output=True, text=True, check=True
    )
    schema = json.loads(out.stdout)
    assert schema["title"] == "mlops-ci.yaml"
    assert "metrics" in schema["properties"]


def test_validate_on_sample_project(sample_project_template) -> None:  # type: ignore[no-untyped-def]
    out = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "validate", "--root", str(sample_project_template.root)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "is valid" in out.stdout
    assert "metrics files: metrics.json" in out.stdout
    assert "cancer-classifier" in out.stdout


def test_unknown_command_is_a_usage_error_exit_1() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "no-such-command"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "No such command" in out.stderr


@click.command()
def boom() -> None:
    """Fail in a way nobody anticipated."""
    raise RuntimeError("something broke deep inside")


def test_unexpected_failure_exits_3_and_traceback_only_on_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(COMMANDS, "boom", f"{__name__}:boom")
    with pytest.raises(SystemExit) as exit_info:
        main(["boom"])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert "unexpected error: RuntimeError: something broke deep inside" in err
    assert "--traceback" in err
    assert "Traceback (most recent call last)" not in err
    with pytest.raises(RuntimeError):
        main(["--traceback", "boom"])


def test_refusal_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(COMMANDS, "refuse", f"{__name__}:refuse")
    with pytest.raises(SystemExit) as exit_info:
        main(["refuse"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("refused: accuracy fell 0.021, allowed 0.010")


@click.command()
def refuse() -> None:
    """Say no, as a gate does."""
    raise GateFailed("accuracy fell 0.021, allowed 0.010")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "--publish", "bogus"], "error: Invalid value for '--publish'"),
        (["validate", "--no-such-option"], "error: No such option '--no-such-option'"),
        (["post"], "error: Missing option '--bundle'"),
    ],
)
def test_usage_errors_are_one_line_exit_1(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(expected)
    assert len(err) == 2
    assert err[1].startswith("hint: see `mlops-ci")
