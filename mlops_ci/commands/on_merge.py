"""`mlops-ci on-merge`: reproduce, check the lock, push outputs, register on merge."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from mlops_ci.commands.options import root_option


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
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.services.on_merge import on_merge as run_on_merge

    runtime = ActionsRuntime.from_environ(os.environ, stream=sys.stderr)

    def sink(line: str) -> None:
        click.echo(line, err=True)

    result = run_on_merge(
        root,
        run=not no_run,
        release=do_release,
        dry_run=dry_run,
        sink=sink,
        group=runtime.group,
    )
    for outcome in result.models:
        if outcome.status == "gates-failed":
            runtime.warning(f"{outcome.model} was not registered: {outcome.reason}")
    if os.environ.get("GITHUB_OUTPUT") or os.environ.get("GITHUB_ACTIONS") == "true":
        registered = result.registered
        runtime.set_output("tag", " ".join(m.tag or "" for m in registered))
        runtime.set_output("version", " ".join(m.version or "" for m in registered))
        summary = [f"**mlops-ci on-merge** at `{result.commit[:12]}`:", ""]
        summary += [f"- {line}" for line in result.lines]
        runtime.append_summary("\n".join(summary) + "\n")
    if as_json:
        click.echo(json.dumps(result.as_dict(), default=str))
        return
    for line in result.lines:
        click.echo(line)
