"""`mlops-ci on-merge`: reproduce, check the lock, push outputs, register on merge."""

from __future__ import annotations

import json
import os
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_ci.commands.console import echo, echo_json
from mlops_ci.commands.options import root_option

if TYPE_CHECKING:
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.services.shared.job import Job


@dataclass
class _LogOnStderr:
    """Progress of on-merge: the pipeline's lines and the log groups go to stderr, since
    stdout carries the result (`--json`)."""

    actions: ActionsRuntime

    def line(self, text: str) -> None:
        echo(text, err=True)

    def group(self, title: str) -> AbstractContextManager[None]:
        return self.actions.group(title)

    def warning(self, message: str, hint: str | None = None) -> None:
        echo(f"warning: {message}" + (f"\nhint: {hint}" if hint else ""), err=True)
        self.actions.warning(message)

    def advance(self, what: str, done: int, total: int | None) -> None:
        return None


def _job() -> Job:
    """The run, read once; its runtime writes workflow commands (log groups,
    annotations) to stderr, so that stdout stays the result."""
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.services.shared.job import Job

    environ = dict(os.environ)
    actions = ActionsRuntime.from_environ(environ, stream=sys.stderr)
    return replace(Job.from_environ(environ, progress=_LogOnStderr(actions)), actions=actions)


@click.command("on-merge")
@click.option(
    "--release",
    "do_release",
    is_flag=True,
    help="Also release each version registered here (tags pushed with the job token "
    "start no release workflow).",
)
@click.option(
    "--no-run",
    "no_run",
    is_flag=True,
    help="Skip dvc pull, the pipeline, the dvc.lock check and dvc push; only register.",
)
@click.option("--dry-run", is_flag=True, help="Run and check, but push and register nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@root_option()
def on_merge(do_release: bool, no_run: bool, dry_run: bool, as_json: bool, root: Path) -> None:
    """Run on a push to the default branch: dvc pull, reproduce the pipeline, fail on a
    stale dvc.lock (with the fix), dvc push the outputs (per pipeline.push), and
    register the next version of each model with `register: on-merge` whose gates
    pass on HEAD's metrics, pushing one tag per push. A re-run on the same commit
    registers nothing.
    """
    from mlops_ci.commands.registry import set_step_outputs
    from mlops_ci.services.on_merge import on_merge as run_on_merge

    job = _job()
    result = run_on_merge(root, job, run=not no_run, release=do_release, dry_run=dry_run)
    for outcome in result.models:
        if outcome.status == "gates-failed":
            job.actions.warning(f"{outcome.model} was not registered: {outcome.reason}")
    registered = result.registered
    summary = [f"**mlops-ci on-merge** at `{result.commit[:12]}`:", ""]
    summary += [f"- {line}" for line in result.lines]
    set_step_outputs(
        job.actions,
        "\n".join(summary),
        tag=" ".join(m.tag or "" for m in registered),
        version=" ".join(m.version or "" for m in registered),
    )
    if as_json:
        echo_json(json.dumps(result.as_dict(), default=str))
        return
    for line in result.lines:
        echo(line)
