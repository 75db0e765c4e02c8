"""`mlops-ci sweep plan | run | merge`: parameter sweeps as a GitHub Actions matrix."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands.console import echo, echo_json
from mlops_ci.commands.options import config_option

if TYPE_CHECKING:
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.sweep import MergeOutcome

PUBLISH_CHOICES = ("auto", "github", "local", "none")


def _options(ctx: click.Context) -> dict[str, Any]:
    obj = ctx.find_object(dict)
    return obj if obj is not None else {}


def _root_and_config(
    ctx: click.Context, root: Path | None, config_path: Path | None
) -> tuple[Path, Path | None]:
    group = _options(ctx)
    return (
        root or group.get("sweep_root") or Path("."),
        config_path or group.get("sweep_config"),
    )


_config_option = config_option()
_root_option = click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The repository (default: the current directory).",
)


class _InOrder(click.Group):
    """Subcommands listed in the order of the journey: plan, run, merge."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group("sweep", cls=_InOrder)
@_config_option
@_root_option
@click.pass_context
def sweep(ctx: click.Context, config_path: Path | None, root: Path | None) -> None:
    """Parameter sweeps: plan a matrix from `experiments:` in mlops-ci.yaml, run one
    cell per job, merge the cells into one leaderboard report."""
    obj = ctx.ensure_object(dict)
    obj["sweep_config"] = config_path
    obj["sweep_root"] = root


@sweep.command("plan")
@_config_option
@_root_option
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the matrix JSON to this file (one line).",
)
@click.option("--pretty", is_flag=True, help="Indent the JSON for reading.")
@click.pass_context
def plan(
    ctx: click.Context,
    config_path: Path | None,
    root: Path | None,
    output: Path | None,
    pretty: bool,
) -> None:
    """Print the sweep's matrix as JSON for `strategy.matrix: ${{ fromJSON(...) }}`:
    `{"include": [{"id": "r01", "set": "KEY=VALUE ..."}, ...]}`.

    On a runner it is also the step output `matrix`.
    """
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.sweep import plan_sweep

    root, config_path = _root_and_config(ctx, root, config_path)
    job = Job.from_environ()
    matrix = plan_sweep(root, config_path).matrix()
    # ASCII-only, one line: safe for GITHUB_OUTPUT and for `echo` in a workflow step.
    compact = json.dumps(matrix, separators=(",", ":"), ensure_ascii=True)
    if output is not None:
        from mlops_ci.adapters.files import write_atomic

        write_atomic(output, compact + "\n")
    echo_json(json.dumps(matrix, indent=2, ensure_ascii=False) if pretty else compact)
    if job.on_runner:
        job.actions.set_output("matrix", compact)


@sweep.command("run")
@_config_option
@_root_option
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="KEY=VALUE",
    help=(
        "A param value for this run (repeatable); KEY is dotted, optionally FILE:key; VALUE "
        "is read as YAML. Default: the words of $MLOPS_CI_SWEEP_SET."
    ),
)
@click.option(
    "--id",
    "cell_id",
    envvar="MLOPS_CI_SWEEP_ID",
    help="Run id (default: $MLOPS_CI_SWEEP_ID, else the planned id of these values).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Bundle directory (default: .mlops-ci/sweep/runs/ID).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when the run fails (default: write a failed record and exit 0).",
)
@click.option(
    "--keep-params",
    is_flag=True,
    help="Leave the run's values in the params file (default: restore it afterwards).",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not echo the pipeline's output locally.")
@click.pass_context
def run(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    config_path: Path | None,
    root: Path | None,
    assignments: tuple[str, ...],
    cell_id: str | None,
    output: Path | None,
    strict: bool,
    keep_params: bool,
    quiet: bool,
) -> None:
    """Run one cell: write its values into the params file, run the pipeline, and
    write the bundle (record.json with params, metrics, data hashes, code SHA, run
    time, versions and status)."""
    from mlops_ci.commands.progress import command_job
    from mlops_ci.core.experiments import SweepError, parse_assignment, parse_set
    from mlops_ci.errors import DvcError, InputError
    from mlops_ci.services.sweep import SET_VARIABLE, RunRequest, run_cell

    root, config_path = _root_and_config(ctx, root, config_path)
    try:
        if assignments:
            values = dict(parse_assignment(a) for a in assignments)
        else:
            values = parse_set(os.environ.get(SET_VARIABLE, ""))
    except SweepError as exc:
        raise InputError(str(exc)) from None
    request = RunRequest(
        root=root,
        assignments=values,
        config_path=config_path,
        cell_id=cell_id or None,
        output=output,
        keep_params=keep_params,
    )
    with command_job(quiet=quiet) as job:
        outcome = run_cell(request, job)
    record = outcome.record
    echo(f"Run {record.id}: {record.status}" + (f": {record.error}" if record.error else ""))
    click.echo(f"Bundle: {outcome.bundle}")
    if job.on_runner:
        job.actions.set_output("report-path", str(outcome.record_path))
        if record.status == "failed":
            job.actions.warning(f"sweep run {record.id} failed: {record.error}")
    if strict and record.status == "failed":
        raise DvcError(f"run {record.id} failed: {record.error}")


def set_merge_outputs(job: Job, outcome: MergeOutcome) -> None:
    """`sweep merge`'s job summary and step outputs (the sweep workflow reads `best`)."""
    if not job.on_runner:
        return
    job.actions.append_summary(outcome.full_markdown or outcome.markdown)
    best = outcome.board.best
    job.actions.set_output("report-path", str(outcome.markdown_path))
    job.actions.set_output("comment-url", outcome.comment_url or "")
    job.actions.set_output("best", best[0].id if best else "")


@sweep.command("merge")
@_config_option
@_root_option
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--publish",
    type=click.Choice(PUBLISH_CHOICES),
    default="auto",
    show_default=True,
    help="Where the leaderboard goes: auto = github on a runner with a token, else local.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".mlops-ci/sweep"),
    show_default=True,
    help="Directory for leaderboard.md and leaderboard.json.",
)
@click.option("--base", metavar="REF", help="Compare with this revision instead of the merge base.")
@click.option("--dry-run", is_flag=True, help="Print what would be posted; post nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print leaderboard.json instead.")
@click.pass_context
def merge(  # noqa: PLR0917 - one parameter per option
    ctx: click.Context,
    config_path: Path | None,
    root: Path | None,
    dirs: tuple[Path, ...],
    publish: str,
    output: Path,
    base: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Merge run bundles (DIRS: bundles, or directories holding them; default
    .mlops-ci/sweep/runs) into one leaderboard and publish it like the PR report."""
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.sweep import DEFAULT_RUNS_DIR, MergeRequest, merge_sweep

    root, config_path = _root_and_config(ctx, root, config_path)
    request = MergeRequest(
        root=root,
        dirs=list(dirs) or [DEFAULT_RUNS_DIR],
        config_path=config_path,
        output=output,
        publish=publish,  # type: ignore[arg-type]
        base=base,
        dry_run=dry_run,
    )
    job = Job.from_environ()
    outcome = merge_sweep(request, job)
    set_merge_outputs(job, outcome)
    if as_json:
        echo_json(outcome.json_path.read_text("utf-8"), nl=False)
        return
    if outcome.publish == "local":
        from mlops_ci.commands.report import print_markdown

        print_markdown(outcome.markdown)
    if outcome.dry_run_preview is not None:
        click.echo("── dry run: this comment would be posted:")
        echo(outcome.dry_run_preview, reveal=False)
    for message in outcome.messages:
        echo(message)
    if outcome.comment_url:
        click.echo(f"Comment: {outcome.comment_url}")
    best = outcome.board.best
    click.echo(f"Leaderboard: {outcome.markdown_path} and {outcome.json_path}")
    click.echo(f"Best: {best[0].id}" if best else "Best: none")
