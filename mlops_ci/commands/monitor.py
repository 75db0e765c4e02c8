"""`mlops-ci monitor` and `mlops-ci retrain`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlops_ci.commands.options import root_option
from mlops_ci.errors import RefusedError

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
        "github: files, action outputs and the drift issue; local: files and action outputs; "
        "none: print only; auto: github when a token and repository are set, else local."
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
    from mlops_ci.services.monitor import MonitorRequest, run_monitor

    request = MonitorRequest(
        root=root,
        model=model,
        stage=stage,
        reference=reference,
        current=current,
        model_path=model_path,
        publish=publish,  # type: ignore[arg-type]
        output=output,
        progress=sys.stderr.isatty() and not as_json,
    )
    outcomes = run_monitor(request)
    if as_json:
        documents = [o.as_json() for o in outcomes]
        shown = documents[0] if len(documents) == 1 else documents
        click.echo(json.dumps(shown, indent=2, allow_nan=False))
    else:
        click.echo("\n".join(_summary(o) for o in outcomes))
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


def _summary(outcome: object) -> str:
    from mlops_ci.services.monitor import MonitorOutcome

    assert isinstance(outcome, MonitorOutcome)
    report = outcome.drift
    head = "DRIFT" if report.dataset_drift else "no dataset drift"
    lines = [
        f"{outcome.model} ({outcome.stage}{', ' + outcome.version if outcome.version else ''}): "
        f"{head}: {len(report.drifted)} of {len(report.tested)} features drifted "
        f"(threshold {report.drift_share:.0%})"
    ]
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

    outcome = run_retrain(RetrainRequest(root=root, model=model, push=push, issue=issue))
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), indent=2))
        return
    if outcome.already_open:
        click.echo(f"a retrain pull request is already open: {outcome.pull_url}")
        return
    click.echo(f"branch {outcome.branch} at {outcome.commit[:12]}")
    if outcome.pull_url:
        click.echo(f"pull request: {outcome.pull_url}")
    elif not push:
        click.echo("not pushed (--no-push)")
