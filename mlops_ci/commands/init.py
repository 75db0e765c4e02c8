"""`mlops-ci init`: write mlops-ci.yaml and the starter workflows into a repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

_WITH_HELP = (
    "Workflows to add, comma-separated: pr (report + fork poster), release, promote, "
    "monitor, retrain, sweep, on-merge, or all. Default: pr,release,promote."
)


@click.command()
@click.option("--with", "with_", metavar="LIST", default=None, help=_WITH_HELP)
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The ML project (where dvc.yaml is); workflows go to its git repository's root.",
)
@click.option(
    "--ref",
    default="v1",
    show_default=True,
    help="Ref of mlops-ci the workflows call: a release tag, or a commit SHA to pin by hash.",
)
@click.option(
    "--default-branch",
    default=None,
    help="Branch the PR report watches (default: detected from git).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def init(
    *,
    with_: str | None,
    force: bool,
    directory: Path,
    ref: str,
    default_branch: str | None,
    as_json: bool,
) -> None:
    """Adopt mlops-ci: write mlops-ci.yaml (from dvc.yaml) and the workflows.

    Refuses to overwrite a file that differs unless --force; running it again changes
    nothing.
    """
    from mlops_ci.services.init import parse_journeys, run_init

    journeys = parse_journeys(with_)
    result = run_init(directory, journeys, force=force, ref=ref, default_branch=default_branch)
    if as_json:
        payload = {
            "written": result.written,
            "unchanged": result.unchanged,
            "next_steps": result.next_steps,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    for name in result.written:
        click.echo(f"wrote {name}")
    if not result.changed:
        click.echo("Nothing changed: every file is already as init would write it.")
    elif result.unchanged:
        click.echo("unchanged: " + ", ".join(result.unchanged))
    click.echo("")
    click.echo("Next steps:")
    for number, step in enumerate(result.next_steps, start=1):
        click.echo(f"  {number}. {step}")
