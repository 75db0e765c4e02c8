"""Running the user's pipeline: `dvc pull`, the pipeline command, keeping `dvc.lock` true
and pushing outputs; a base commit reproduced in its own worktree.

The report, sweep and merge journeys all run the pipeline the same way, so this is the
one place that knows how.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mlops_ci.adapters.dvc import Dvc
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config
from mlops_ci.context import RunContext
from mlops_ci.dvcfile import refuse_oversized
from mlops_ci.errors import DvcError
from mlops_ci.services.shared.job import GroupFactory, LineSink


def tool_versions() -> dict[str, str]:
    """Versions that matter for reproducing a run (read without importing the packages)."""
    from importlib.metadata import PackageNotFoundError, version

    from mlops_ci import __version__

    found = {"mlops-ci": __version__, "python": platform.python_version()}
    for dist in ("dvc", "scikit-learn"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


@contextmanager
def no_group(title: str) -> Iterator[None]:
    yield


@dataclass
class PipelineRun:
    """What running the pipeline did: time taken, pull/push, notes for the report."""

    seconds: float | None = None
    pulled: bool = False
    pushed: bool = False
    command: str | None = None
    notes: list[str] = field(default_factory=list)
    # Set when `pipeline.lock` must fail the report: dvc.lock is stale and not fixed.
    lock_problem: str | None = None


def run_pipeline(
    config: Config,
    dvc: Dvc,
    *,
    sink: LineSink | None,
    group: GroupFactory,
    cwd: Path | None = None,
) -> PipelineRun:
    """`dvc pull` (per `pipeline.pull`) and then the pipeline command, streamed."""
    refuse_oversized(cwd or dvc.root, config.params.files)  # before DVC reads them
    outcome = PipelineRun(command=config.pipeline.run)
    start = time.monotonic()
    pull = config.pipeline.pull
    if pull == "always" or (pull == "auto" and dvc.has_remote()):
        with group("dvc pull"):
            try:
                dvc.pull(sink)
                outcome.pulled = True
            except DvcError as exc:
                if pull == "always":
                    raise
                # A first run has nothing to pull yet; the pipeline will say what is missing.
                if sink is not None:
                    sink(f"warning: {exc.message}; continuing with the pipeline")
    with group(config.pipeline.run):
        dvc.run_pipeline(
            config.pipeline.run, sink=sink, cwd=cwd, timeout=config.pipeline.timeout_minutes * 60
        )
    outcome.seconds = time.monotonic() - start
    return outcome


def after_run(
    config: Config,
    dvc: Dvc,
    git: Git,
    outcome: PipelineRun,
    *,
    ctx: RunContext,
    sink: LineSink | None,
    group: GroupFactory,
) -> None:
    """Keep `dvc.lock` true (`pipeline.lock`) and push outputs (`pipeline.push`).

    `check` fails the report when the run changed `dvc.lock` (or a `.dvc` file);
    `commit` commits them back to a same-repository PR branch instead, and fails the
    report with the reason when it may not. Outputs are pushed only when this job may
    write to the remote (never from a fork); a failed push is a note, not a gate.
    """
    from mlops_ci.services.shared.lock import check_lock, commit_lock_back, may_push_outputs

    mode = config.pipeline.lock
    if mode != "off" and (git.root / "dvc.lock").is_file():
        status = check_lock(git.root)
        if status.stale and mode == "commit":
            committed = commit_lock_back(git.root, ctx)
            if committed.status == "committed":
                outcome.notes.append(
                    "dvc.lock was out of date; committed it to the PR branch as "
                    f"{committed.sha[:8]}"
                )
            elif committed.status == "refused":
                outcome.lock_problem = f"{status.describe()} (not committed: {committed.reason})"
        elif status.stale:
            outcome.lock_problem = status.describe()
    allowed, why = may_push_outputs(ctx, config.pipeline.push)
    if not dvc.has_remote():
        return
    if not allowed:
        if ctx.on_runner:
            outcome.notes.append(f"DVC outputs were not pushed: {why}")
        return
    with group("dvc push"):
        try:
            dvc.push(sink)
            outcome.pushed = True
        except DvcError as exc:
            outcome.notes.append(f"dvc push failed (not a gate failure): {exc.message}")


@contextmanager
def base_worktree(git: Git, sha: str, cache_from: Path) -> Iterator[Path]:
    """A temporary `git worktree` at `sha` sharing the repository's DVC cache."""
    parent = Path(tempfile.mkdtemp(prefix="mlops-ci-base-"))
    path = parent / "base"
    git.run("worktree", "add", "--detach", "--force", str(path), sha)
    try:
        cache = cache_from / ".dvc" / "cache"
        if (path / ".dvc").is_dir():
            (path / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {cache}\n")
        yield path
    finally:
        git.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(parent, ignore_errors=True)
