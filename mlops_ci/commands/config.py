"""`mlops-ci validate` and `mlops-ci schema`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlops_ci.commands.options import config_option, root_option


@click.command()
@config_option()
@root_option()
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
