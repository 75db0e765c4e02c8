"""`mlops-ci predict`: batch scoring with a registered model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlops_ci.commands.console import echo, echo_json
from mlops_ci.commands.options import check_stage_or_version, root_option, stage_or_version_options


@click.command()
@click.argument("model")
@stage_or_version_options("Score with")
@click.option(
    "--input",
    "input_",
    required=True,
    help="Table to score: a CSV or Parquet file, directory, glob or fsspec URL (s3://…).",
)
@click.option(
    "--output",
    required=True,
    help="Where the predictions go: a local path or fsspec URL ending in .parquet or .csv.",
)
@click.option(
    "--chunk-rows",
    type=int,
    default=100_000,
    show_default=True,
    help="Rows scored at a time: memory holds one chunk whatever the input's size.",
)
@click.option(
    "--log",
    "log",
    metavar="URL",
    help="Inference log directory (local path or fsspec URL) the scored feature columns "
    "and outputs go to, for `monitor --current` (default: deploy.log.path).",
)
@click.option(
    "--no-log",
    is_flag=True,
    help="Log nothing to the inference log, even if deploy.log.path is set.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@root_option()
def predict(  # noqa: PLR0917 - one parameter per option
    model: str,
    stage: str | None,
    version: str | None,
    input_: str,
    output: str,
    chunk_rows: int,
    log: str | None,
    no_log: bool,
    as_json: bool,
    root: Path,
) -> None:
    """Score a table with the model holding a stage (or a given version), in chunks.

    The output keeps the input columns and adds `prediction` and `proba_<class>`; the
    model, its version and the input's sha256 go into the Parquet metadata (CSV: columns).
    """
    from mlops_ci.commands.progress import command_job
    from mlops_ci.errors import InputError
    from mlops_ci.services.predict import PredictRequest, run_predict

    check_stage_or_version(stage, version)
    if log and no_log:
        raise InputError("--log and --no-log: give one of them, not both")
    with command_job(quiet=as_json) as job:
        outcome = run_predict(
            PredictRequest(
                root=root,
                model=model,
                input=input_,
                output=output,
                job=job,
                stage=stage,
                version=version,
                chunk_rows=chunk_rows,
                log=log,
                no_log=no_log,
            )
        )
        if job.on_runner:
            job.actions.set_output("output", outcome.output)
            job.actions.set_output("model-version", outcome.version)
    if as_json:
        echo_json(json.dumps(outcome.as_dict(), indent=2))
        return
    echo(
        f"{outcome.model} {outcome.version} ({outcome.commit[:12]}) scored {outcome.rows:,} rows "
        f"in {outcome.chunks} chunk(s)\ninput sha256 {outcome.input_sha256}\nwrote {outcome.output}"
    )
    if outcome.log is not None:
        dropped = (
            f" ({outcome.log_dropped:,} rows could not be written)" if outcome.log_dropped else ""
        )
        echo(f"logged {outcome.logged:,} rows to {outcome.log}{dropped}")
