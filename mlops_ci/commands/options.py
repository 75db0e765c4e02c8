"""Options every command spells the same way: where the repository and its config are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "Config file (default: mlops-ci.yaml in the repository root)."
ROOT_HELP = "Repository root (default: the current directory)."


def config_option(help: str = CONFIG_HELP) -> Callable[[F], F]:
    """`--config PATH`, passed to the command as `config_path`."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


def root_option(help: str = ROOT_HELP) -> Callable[[F], F]:
    """`--root DIR` (default `.`), passed to the command as `root`."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help,
    )


def stage_or_version_options(verb: str) -> Callable[[F], F]:
    """`--stage STAGE` and `--version vX.Y.Z`: which registered version a command
    acts on (`verb`: "Serve", "Score with", ...), passed as `stage` and `version`."""
    stage = click.option(
        "--stage", help=f"{verb} the version holding this stage (default: production)."
    )
    version = click.option(
        "--version", "version", help=f"{verb} this registered version instead of a stage."
    )

    def decorate(command: F) -> F:
        return stage(version(command))

    return decorate


def check_stage_or_version(stage: str | None, version: str | None) -> None:
    """One line when both `--stage` and `--version` are given."""
    if stage and version:
        from mlops_ci.errors import InputError

        raise InputError("--stage and --version: give one of them, not both")
