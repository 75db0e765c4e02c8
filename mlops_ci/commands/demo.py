"""`mlops-ci demo`: the whole loop on a small real project, in one command.

A production baseline, the PR report, merge, register, release, promote, serving
and batch scoring, a drift check on what the server saw and the retrain branch: each
step prints a heading and one short paragraph naming what it made. Everything stays on
this machine (a bare origin and a local DVC remote beside the project; no GitHub; the
server listens on 127.0.0.1 only), on the sample's embedded configuration.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands.console import echo

if TYPE_CHECKING:
    from mlops_ci.services.shared.job import Job


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to build the sample project (must not exist or be empty; default: a temp dir).",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Also show the output of git, DVC and the pipeline."
)
@click.option("--show-report", is_flag=True, help="Also print the pull request report's Markdown.")
def demo(directory: Path | None, verbose: bool, show_report: bool) -> None:
    """Run the loop a newcomer should see on a sample ML project built here (git, DVC,
    a scikit-learn model, a local DVC remote): production baseline, PR report, merge,
    register, release, promote (proved by serving), serving and batch scoring, drift
    check on what the server saw, and retraining branch."""
    from mlops_ci.commands.demo_steps import STEPS, DemoState
    from mlops_ci.commands.report import print_markdown
    from mlops_ci.services.shared.sample_project import MODEL_NAME

    start = time.monotonic()
    echo("mlops-ci demo: the loop from pull request to retraining, all on this machine.")
    with _demo_job(verbose) as job, _own_python_first():
        state = DemoState(job=job, directory=directory, show_report=show_report)
        for number, (title, step) in enumerate(STEPS, 1):
            echo(f"\n{number}. {title}")  # first: --verbose shows the tools' output under it
            with _working(title, verbose):
                paragraph = step(state)
            _print_paragraph(paragraph)
            for markdown in state.markdown:
                echo("")
                print_markdown(markdown)
            state.markdown.clear()
    root = state.root
    echo(
        f"\nDone in {time.monotonic() - start:.0f} s, without GitHub.\n"
        f"Explore: cd {root} && git log --oneline --graph --all && mlops-ci registry\n"
        f"Serve it yourself: cd {root} && mlops-ci serve {MODEL_NAME} --stage production"
    )


def _print_paragraph(paragraph: str) -> None:
    width = max(60, min(100, shutil.get_terminal_size().columns if _is_terminal() else 88))
    body = textwrap.fill(
        paragraph,
        width=width,
        initial_indent="   ",
        subsequent_indent="   ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    echo(body)


def _is_terminal() -> bool:
    from mlops_ci.commands.progress import is_terminal

    return is_terminal()


@contextmanager
def _demo_job(verbose: bool) -> Iterator[Job]:
    """The demo's job: local (no runner variables, no token); the tools' own output
    only with --verbose, so that each step reads as one paragraph."""
    from mlops_ci.commands.progress import command_job
    from mlops_ci.services.demo import local_environment
    from mlops_ci.services.shared.job import Job, QuietProgress

    env = local_environment(os.environ)
    if verbose:
        with command_job(quiet=False, env=env) as job:
            yield job
    else:
        yield Job.from_environ(env, progress=QuietProgress())


def _working(title: str, verbose: bool) -> Any:
    """A spinner naming the step while it runs, for a person at a terminal."""
    if verbose or not _is_terminal():
        return nullcontext()
    from mlops_ci.commands.progress import console

    return console().status(f"{title}…", spinner="dots")


@contextmanager
def _own_python_first() -> Iterator[None]:
    """The sample's pipeline is ours: its `python` is the one mlops-ci runs with, even
    when its virtual environment was never activated (the journeys that run the
    pipeline, on-merge and retrain, take PATH from this process)."""
    saved = os.environ.get("PATH")
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in (saved or "").split(os.pathsep) if p and p != bindir]
    os.environ["PATH"] = os.pathsep.join([bindir, *parts])
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = saved
