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
