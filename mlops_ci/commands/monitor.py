"""`mlops-ci monitor` and `mlops-ci retrain`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands.console import echo, echo_json
from mlops_ci.commands.options import root_option
from mlops_ci.errors import RefusedError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from mlops_ci.services.monitor import MonitorOutcome
    from mlops_ci.services.shared.job import Job

_MODEL_HELP = "Model to retrain (default: the only model in mlops-ci.yaml)."


@click.command()
@click.option("--model", help="Model to monitor (default: every model in mlops-ci.yaml).")
@click.option("--stage", help="Stage whose model is monitored (default: monitor.stage).")
@click.option(
    "--reference",
    help=(
        "Reference data: a path, glob or URL, or `auto` = the training data of the version "
        "holding the stage, read through DVC at its commit (default: monitor.reference)."
    ),
)
@click.option(
    "--current",
    help="Current data: a path, directory, glob or fsspec URL (default: monitor.current).",
)
@click.option(
    "--model-path",
    help="A pickle/joblib model file to score labelled data with (default: the stage holder's).",
)
@click.option(
    "--publish",
    type=click.Choice(["auto", "github", "local", "none"]),
    default="auto",
    show_default=True,
    help=(
        "Where the findings go besides the files (always written to --output): "
        "github: the drift issue and dispatch; local and none: nowhere else; "
        "auto: github when a token and repository are set, else local."
    ),
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "Directory for drift.md and drift.json (default: .mlops-ci/ in the root; "
        "one subdirectory per model when several are monitored)."
    ),
)
@click.option(
    "--fail-on-drift",
    is_flag=True,
    help="Exit 2 on dataset drift or degraded model quality (default: exit 0).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print drift.json to stdout (a list of them when several models are monitored).",
)
@root_option()
def monitor(  # noqa: PLR0917 - one parameter per option
    model: str | None,
    stage: str | None,
    reference: str | None,
    current: str | None,
    model_path: str | None,
    publish: str,
    output: Path | None,
    fail_on_drift: bool,
    as_json: bool,
    root: Path,
) -> None:
    """Compare current data with the data the stage's model was trained on.

    Per-feature drift (PSI, KS, chi-squared, Jensen-Shannon, Wasserstein), model
    quality where the data has labels, a report, and on GitHub one issue per model.
    """
    from mlops_ci.services.monitor import MonitorRequest, output_directory, run_monitor
    from mlops_ci.services.shared.job import Job

    bar = _ReadingBar() if sys.stderr.isatty() and not as_json else None
    job = Job.from_environ(progress=bar)
    request = MonitorRequest(
        root=root,
        model=model,
        stage=stage,
        reference=reference,
        current=current,
        model_path=model_path,
        publish=publish,  # type: ignore[arg-type]
        output=output,
        job=job,
    )
    try:
        outcomes = run_monitor(request)
    finally:
        if bar is not None:
            bar.close()
    _tell_runner(job, outcomes, output_directory(request))
    if as_json:
        documents = [o.as_json() for o in outcomes]
        shown = documents[0] if len(documents) == 1 else documents
        echo_json(json.dumps(shown, indent=2, allow_nan=False))
    else:
        echo("\n".join(_summary(o) for o in outcomes))  # column names are untrusted
    flagged = [o for o in outcomes if o.attention]
    if fail_on_drift and flagged:
        raise RefusedError(
            "; ".join(
                f"{o.model}: "
                + ("dataset drift" if o.drift.dataset_drift else "model quality degraded")
                + f" ({len(o.drift.drifted)} of {len(o.drift.tested)} features drifted)"
                for o in flagged
            )
        )


class _ReadingBar:
    """A person at a terminal sees a bar (bytes) while each data source is read."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def line(self, text: str) -> None:
        return None

    def group(self, title: str) -> AbstractContextManager[None]:
        from contextlib import nullcontext

        return nullcontext()

    def warning(self, message: str, hint: str | None = None) -> None:
        echo(f"warning: {message}" + (f"\nhint: {hint}" if hint else ""), err=True)

    def advance(self, what: str, done: int, total: int | None) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(f"reading {what}", total=total)
        self._bar.update(self._tasks[what], completed=done, total=total)
        if total is not None and done >= total:
            self.close()  # read: the bar goes, as the comparison starts

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar, self._tasks = None, {}


def _tell_runner(job: Job, outcomes: list[MonitorOutcome], directory: Path) -> None:
    """On a runner: the `drift` and `report-path` outputs, and each report in the job
    summary (the one place this journey sets action outputs)."""
    if not job.on_runner:
        return
    drifted = any(o.drift.dataset_drift for o in outcomes)
    job.actions.set_output("drift", "true" if drifted else "false")
    paths = [o.files[0] for o in outcomes if o.files]
    job.actions.set_output("report-path", paths[0] if len(paths) == 1 else str(directory))
    for outcome in outcomes:
        job.actions.append_summary(outcome.markdown)


def _summary(outcome: MonitorOutcome) -> str:
    report = outcome.drift
    head = "DRIFT" if report.dataset_drift else "no dataset drift"
    lines = [
        f"{outcome.model} ({outcome.stage}{', ' + outcome.version if outcome.version else ''}): "
        f"{head}: {len(report.drifted)} of {len(report.tested)} features drifted "
        f"(threshold {report.drift_share:.0%})"
    ]
    for served in outcome.served:
        # From an inference log: the versions whose answers these rows are.
        lines.append(f"served by {served.version}: {served.rows:,} logged rows")
    for f in report.drifted[:10]:
        lines.append(f"  {f.name}: {f.test} {f.score:.4g} (threshold {f.threshold:g})")
    for f in report.problems[:10]:
        lines.append(f"  {f.name}: not tested ({f.status})")
    if outcome.quality is not None:
        verdict = "degraded" if outcome.quality.degraded else "ok"
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in outcome.quality.metrics.items())
        lines.append(f"model quality: {verdict} ({metrics})")
    elif outcome.quality_note:
        lines.append(f"model quality: {outcome.quality_note}")
    if outcome.github and outcome.github.issue_url:
        lines.append(f"issue: {outcome.github.issue_url} ({outcome.github.issue_action})")
    if outcome.github and outcome.github.dispatched:
        lines.append("retraining dispatched")
    for path in outcome.files:
        lines.append(f"wrote {path}")
    return "\n".join(lines)


@click.command()
@click.option("--model", help=_MODEL_HELP)
@click.option(
    "--push/--no-push",
    default=True,
    show_default=True,
    help="Push the branch and open a pull request (--no-push: commit locally only).",
)
@click.option("--issue", type=int, help="Drift issue number to link (default: found by marker).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@root_option()
def retrain(model: str | None, push: bool, issue: int | None, as_json: bool, root: Path) -> None:
    """Update the data, reproduce the pipeline, and open a pull request from a new branch.

    Never pushes to the default branch: the change arrives as a pull request, which
    `mlops-ci report` then reports on.
    """
    from mlops_ci.services.retrain import RetrainRequest, run_retrain
    from mlops_ci.services.shared.job import Job

    request = RetrainRequest(root=root, model=model, push=push, issue=issue, job=Job.from_environ())
    outcome = run_retrain(request)
    if as_json:
        echo_json(json.dumps(outcome.as_dict(), indent=2))
        return
    if outcome.already_open:
        click.echo(f"a retrain pull request is already open: {outcome.pull_url}")
        return
    click.echo(f"branch {outcome.branch} at {outcome.commit[:12]}")
    if outcome.pull_url:
        click.echo(f"pull request: {outcome.pull_url}")
    elif not push:
        click.echo("not pushed (--no-push)")
