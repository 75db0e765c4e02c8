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
    from mlops_ci.commands.progress import command_job
    from mlops_ci.commands.report import print_markdown
    from mlops_ci.services.demo import local_environment, prepare_demo
    from mlops_ci.services.report import ReportRequest, generate_report

    with command_job(quiet=quiet, env=local_environment(os.environ)) as job:
        project = prepare_demo(directory, job.progress)
        request = ReportRequest(
            root=project, publish="local", fail_on_gate=False, own_python_first=True
        )
        report = generate_report(request, job)
    print_markdown(report.markdown)
    click.echo(f"Project:  {project}  (branch pr/tune-model vs main)")
    click.echo(f"Report:   {report.report_md}")
    click.echo(f"Data:     {report.report_json}")
    click.echo(f"Try:      cd {project} && mlops-ci report --no-run")
