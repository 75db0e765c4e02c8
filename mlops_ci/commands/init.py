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
    default=None,
    metavar="SHA",
    help="Commit SHA (40 hex) of mlops-ci the workflows call. Default: the release this "
    "mlops-ci was built from, or the commit it was installed from.",
)
@click.option(
    "--ref-tag",
    default=None,
    metavar="TAG",
    help="The release tag (vX.Y.Z) --ref is, written as a comment after each pin.",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Accept a tag or branch as --ref (zizmor reports it: unpinned-uses).",
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
    ref: str | None,
    ref_tag: str | None,
    allow_unpinned: bool,
    default_branch: str | None,
    as_json: bool,
) -> None:
    """Adopt mlops-ci: write mlops-ci.yaml (from dvc.yaml) and the workflows.

    The workflows call mlops-ci's reusable workflows pinned by commit SHA, with the
    release tag as a comment. Refuses to overwrite a file that differs unless --force;
    running it again changes nothing.
    """
    from mlops_ci.services.init import choose_pin, parse_journeys, run_init

    journeys = parse_journeys(with_)
    pin = choose_pin(ref, ref_tag, allow_unpinned=allow_unpinned)
    result = run_init(directory, journeys, force=force, pin=pin, default_branch=default_branch)
    if pin.note:
        click.echo(f"note: {pin.note}", err=True)
    if as_json:
        payload = {
            "written": result.written,
            "unchanged": result.unchanged,
            "pin": {"ref": pin.ref, "tag": pin.tag, "by_commit": pin.by_commit},
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
