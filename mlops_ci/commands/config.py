"""`mlops-ci validate` and `mlops-ci schema`."""

from __future__ import annotations

import json
from pathlib import Path

import click

_CONFIG_HELP = "Config file to read (default: mlops-ci.yaml in the repository root)."
_ROOT_HELP = "Repository root (default: the current directory)."


@click.command()
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help=_CONFIG_HELP
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help=_ROOT_HELP,
)
@click.option("--json", "as_json", is_flag=True, help="Print the understood config as JSON.")
def validate(config_path: Path | None, root: Path, as_json: bool) -> None:
    """Check mlops-ci.yaml and print what it understood.

    Exit 1 with one line naming the file, field and line when something is wrong.
    """
    from mlops_ci.config import load_config
    from mlops_ci.services.validate import describe

    loaded = load_config(root, config_path)
    if as_json:
        click.echo(json.dumps(loaded.config.model_dump(mode="json"), indent=2, sort_keys=True))
        return
    click.echo(describe(loaded))


@click.command()
@click.option("--indent", type=int, default=2, show_default=True, help="JSON indentation.")
def schema(indent: int) -> None:
    """Print the JSON Schema of mlops-ci.yaml (for editors and docs)."""
    from mlops_ci.config import json_schema

    click.echo(json.dumps(json_schema(), indent=indent, sort_keys=False))
