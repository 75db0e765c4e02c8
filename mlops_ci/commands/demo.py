"""`mlops-ci demo`: the whole PR report on a small real project, in one command."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to build the sample project (must not exist or be empty; default: a temp dir).",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not echo the pipeline's output.")
def demo(directory: Path | None, quiet: bool) -> None:
    """Build a sample ML project (git, DVC, a scikit-learn model, a local DVC remote),
    open a "pull request" branch on it, and show its PR report."""
    from mlops_ci.commands.report import print_markdown, progress
    from mlops_ci.services.demo import run_demo

    with progress(os.environ.get("GITHUB_ACTIONS") == "true", quiet) as (sink, group):
        outcome = run_demo(directory, sink=sink, group=group)
    report = outcome.report
    print_markdown(report.markdown)
    click.echo(f"Project:  {outcome.project}  (branch pr/tune-model vs main)")
    click.echo(f"Report:   {report.report_md}")
    click.echo(f"Data:     {report.report_json}")
    click.echo(f"Try:      cd {outcome.project} && mlops-ci report --no-run")
