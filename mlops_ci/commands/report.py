"""`mlops-ci report` and `mlops-ci post`: the PR report and its fork-safe poster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_ci.commands.console import echo, echo_json
from mlops_ci.commands.options import config_option, root_option
from mlops_ci.commands.progress import command_job, console, is_terminal

if TYPE_CHECKING:
    from mlops_ci.services.report import ReportOutcome
    from mlops_ci.services.shared.job import Job

PUBLISH_CHOICES = ("auto", "github", "local", "artifact", "none")


def print_markdown(markdown: str) -> None:
    """The report for a person: rendered in a terminal, its Mermaid charts drawn as text;
    the Markdown itself elsewhere (a pipe or a file gets text another tool can read, as
    GitHub gets it, and rich is not loaded)."""
    from mlops_ci.secrets import redact

    if not is_terminal():
        echo(markdown, reveal=False)  # untrusted names inside: never obeyed by a runner
        return
    from rich.markdown import Markdown

    from mlops_ci.report.text_charts import replace_mermaid

    console().print(Markdown(redact(replace_mermaid(markdown))))


def set_report_outputs(job: Job, outcome: ReportOutcome) -> None:
    """The report's step outputs and job summary: written here and nowhere else."""
    if not job.on_runner:
        return
    job.actions.append_summary(outcome.full_markdown or outcome.markdown)
    job.actions.set_output("gate", outcome.document.verdict)
    job.actions.set_output("report-path", str(outcome.report_md))
    job.actions.set_output("comment-url", outcome.comment_url or "")


@click.command("report")
@click.option(
    "--base", "base", metavar="REF", help="Compare with this revision instead of the merge base."
)
@click.option(
    "--run/--no-run",
    default=True,
    show_default=True,
    help="Pull data and run the pipeline first (`--no-run` reports on the workspace as it is).",
)
@click.option(
    "--output",
    "output",
    type=click.Path(path_type=Path),
    default=Path(".mlops-ci"),
    show_default=True,
    help="Directory for report.md and report.json.",
)
@click.option(
    "--publish",
    type=click.Choice(PUBLISH_CHOICES),
    default="auto",
    show_default=True,
    help=(
        "Where the report goes: auto = github on a runner with a token, "
        "artifact for fork PRs, else local."
    ),
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Do everything but posting to GitHub, and print what would be posted.",
)
@click.option(
    "--fail-on-gate/--no-fail-on-gate",
    default=None,
    help="Exit 2 when a gate fails (default: on in CI, off locally).",
)
@config_option()
@root_option("The repository to report on.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print report.json instead of the Markdown report."
)
@click.option("--quiet", "-q", is_flag=True, help="Do not echo the pipeline's output locally.")
def report(  # noqa: PLR0917 - one parameter per option
    base: str | None,
    run: bool,
    output: Path,
    publish: str,
    dry_run: bool,
    fail_on_gate: bool | None,
    config_path: Path | None,
    root: Path,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run the pipeline, compare metrics, params, data and plots with the base, evaluate
    the quality gates, and publish the PR report.

    Exit 2 when a gate fails (with --fail-on-gate, the default in CI).
    """
    from mlops_ci.services.report import ReportRequest, check_gates, generate_report

    request = ReportRequest(
        root=root,
        config_path=config_path,
        base=base,
        run=run,
        output=output,
        publish=publish,  # type: ignore[arg-type]
        dry_run=dry_run,
        fail_on_gate=fail_on_gate,
    )
    with command_job(quiet=quiet) as job:
        outcome = generate_report(request, job)
    set_report_outputs(job, outcome)
    show(outcome, as_json=as_json)
    check_gates(outcome)


def show(outcome: ReportOutcome, *, as_json: bool = False) -> None:
    """Print the outcome of a report for a person (or report.json with --json)."""
    if as_json:
        echo_json(outcome.report_json.read_text("utf-8"), nl=False)
        return
    target = outcome.publish
    if target == "local" or (
        target == "github"
        and outcome.dry_run_preview is None
        and not os.environ.get("GITHUB_ACTIONS")
    ):
        print_markdown(outcome.markdown)
    if outcome.dry_run_preview is not None:
        click.echo("── dry run: this comment would be posted (and a check run 'mlops-ci report'):")
        echo(outcome.dry_run_preview, reveal=False)
    if outcome.bundle_dir is not None:
        click.echo(f"Fork bundle for `mlops-ci post`: {outcome.bundle_dir}")
    if outcome.comment_url:
        click.echo(f"Comment: {outcome.comment_url}")
    click.echo(f"Report: {outcome.report_md} and {outcome.report_json}")
    click.echo(f"Verdict: {outcome.document.verdict}")


@click.command("post")
@click.option(
    "--bundle",
    "bundle",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="The bundle directory a fork PR's report run uploaded.",
)
@click.option(
    "--run-id", "run_id", help="The workflow run that made the bundle (checked against the event)."
)
@config_option()
@root_option("The (trusted) checkout of the base repository.")
@click.option(
    "--dry-run", is_flag=True, help="Validate and render, print the comment, post nothing."
)
@click.option(
    "--fail-on-gate/--no-fail-on-gate",
    default=False,
    show_default=True,
    help="Exit 2 when a gate fails.",
)
def post(  # noqa: PLR0917 - one parameter per option
    bundle: Path,
    run_id: str | None,
    config_path: Path | None,
    root: Path,
    dry_run: bool,
    fail_on_gate: bool,
) -> None:
    """Publish a fork PR's report from its bundle (run from a `workflow_run` workflow).

    The bundle is validated; only its head values are used: base values come from this
    checkout at the PR's base commit, and statuses, gates and the verdict are computed
    again here. The check run is "mlops-ci report (fork)".
    """
    from mlops_ci.errors import GateFailed
    from mlops_ci.services.post import post_bundle
    from mlops_ci.services.shared.publish import FORK_CHECK_RUN_NAME

    with command_job() as job:
        outcome = post_bundle(
            bundle, job, root=root, run_id=run_id, config_path=config_path, dry_run=dry_run
        )
    if job.on_runner:
        job.actions.append_summary(outcome.markdown)
        job.actions.set_output("gate", outcome.document.verdict)
        job.actions.set_output("comment-url", outcome.comment_url or "")
    if dry_run:
        click.echo(
            f"── dry run: this comment would be posted (and a check run '{FORK_CHECK_RUN_NAME}'):"
        )
        echo(outcome.markdown, reveal=False)  # a bundle's text: shown, never obeyed
    elif outcome.comment_url:
        click.echo(f"Comment: {outcome.comment_url}")
    click.echo(f"Verdict: {outcome.document.verdict}")
    if fail_on_gate and outcome.document.verdict == "fail":
        failed = outcome.document.failed_gates
        raise GateFailed(
            f"{len(failed)} quality gate(s) failed: "
            + "; ".join(f"{g.gate}: {g.reason}" for g in failed[:5])
        )
