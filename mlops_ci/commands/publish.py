"""`mlops-ci publish`: post the report a token-free `report` step left behind."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_ci.commands.options import config_option, root_option
from mlops_ci.commands.progress import command_job


@click.command("publish")
@click.option(
    "--from",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The directory `report` wrote for a later publish step (MLOPS_CI_PUBLISH_DIR).",
)
@config_option()
@root_option("The repository the report is about.")
def publish(directory: Path, config_path: Path | None, root: Path) -> None:
    """Post a report whose pipeline ran in a step without the token.

    The action runs `report` with no token in its environment (so the pull request's
    pipeline cannot find one) and then this, with the token: the comment is rendered
    again from the report's data and posted with the check run. Exit 2 when a gate
    failed and the report asked to fail on it.
    """
    from mlops_ci.errors import GateFailed
    from mlops_ci.services.report.deferred import publish_deferred

    with command_job() as job:
        outcome = publish_deferred(directory, job, root=root, config_path=config_path)
    if job.on_runner:
        job.actions.set_output("comment-url", outcome.comment_url or "")
    if outcome.comment_url:
        click.echo(f"Comment: {outcome.comment_url}")
    click.echo(f"Verdict: {outcome.document.verdict}")
    if outcome.fail_on_gate and outcome.document.verdict == "fail":
        failed = outcome.document.failed_gates
        raise GateFailed(
            f"{len(failed)} quality gate(s) failed: "
            + "; ".join(f"{g.gate}: {g.reason}" for g in failed[:5])
        )
