"""`mlops-ci on-tag`: release, deploy or refuse the registry tag that triggered the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_ci.commands.options import root_option

if TYPE_CHECKING:
    from mlops_ci.services.on_tag import OnTagResult


def _gate(result: OnTagResult) -> str:
    """The `gate` output: the release's verdict, or that of the promotion's gates."""
    gate = ""
    gates = result.details.get("gates")
    if isinstance(gates, list):
        failed = any(g.get("verdict") == "fail" for g in gates)
        gate = "fail" if failed else ("pass" if gates else "none")
    release = result.details.get("release")
    if isinstance(release, dict):
        gate = str(release.get("gates") or "")
    return gate


@click.command("on-tag")
@click.option(
    "--tag",
    "tag",
    help="Tag to act on, e.g. model@v1.2.0 or model#production#3 "
    "(default: the tag that triggered the run: push, create or release event).",
)
@click.option(
    "--dry-run", is_flag=True, help="Check the tag and build what it needs; post nothing to GitHub."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@root_option()
def on_tag(tag: str | None, dry_run: bool, as_json: bool, root: Path) -> None:
    """Act on a pushed registry tag, as the registry's guard.

    Fetches the tags from origin first (checkout makes the triggering tag
    lightweight), then: a version tag MODEL@vX.Y.Z is released; a stage tag
    MODEL#STAGE#N is checked against the promotion policy (as it stood without the
    tag) and recorded as a GitHub Deployment; an unassign, deregister or deprecate tag
    marks the stage's deployment inactive. A tag that breaks the policy fails the run
    (exit 2), deploys nothing and opens or updates one issue per model saying how to
    roll back. Other tags and lightweight tags are ignored (exit 0).
    """
    from mlops_ci.commands.registry import set_step_outputs
    from mlops_ci.services.on_tag import on_tag as run_on_tag
    from mlops_ci.services.shared.job import Job

    job = Job.from_environ()
    result = run_on_tag(root, job, tag, dry_run=dry_run)
    set_step_outputs(
        job.actions,
        f"`{result.tag}`: {result.reason}.",
        tag=result.tag,
        version=result.version,
        stage=result.stage,
        gate=_gate(result),
    )
    if as_json:
        from mlops_ci.commands.console import echo_json

        echo_json(json.dumps({**result.as_dict(), "lines": result.lines}, default=str))
        return
    from mlops_ci.commands.console import echo

    echo(result.reason)  # tag names and messages are untrusted
    for line in result.lines:
        echo(line)
