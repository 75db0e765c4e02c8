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

from mlops_ci.adapters.dvc import Dvc, repro_pulling, stage_hashes
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config
from mlops_ci.context import RunContext
from mlops_ci.core.repro_log import ReproLog, is_marker, read_repro_log
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
    # `pipeline.run_cache` was used: push the run-cache after the run.
    run_cache: bool = False
    # Stages DVC restored from the run-cache -> seconds saved (their last measured run).
    restored: dict[str, float | None] = field(default_factory=dict)
    # Stages that ran -> seconds they took (when DVC's output said).
    stage_seconds: dict[str, float] = field(default_factory=dict)


def uses_run_cache(config: Config, dvc: Dvc) -> bool:
    """`pipeline.run_cache`: auto = when a remote is configured and pulling is allowed."""
    mode = config.pipeline.run_cache
    if mode == "auto":
        return config.pipeline.pull != "never" and dvc.has_remote()
    return mode == "on"


def run_pipeline(
    config: Config,
    dvc: Dvc,
    *,
    sink: LineSink | None,
    group: GroupFactory,
    cwd: Path | None = None,
) -> PipelineRun:
    """`dvc pull` (per `pipeline.pull`) and then the pipeline command, streamed.

    With the run-cache (`pipeline.run_cache`), a plain `dvc repro` runs as `dvc repro
    --pull`, which fetches the run-cache and restores a stage found in it instead of
    running it; another command gets the entries from `dvc pull --run-cache`, and
    restores a stage only when its outputs are already in the local cache.
    """
    root = cwd or dvc.root
    refuse_oversized(root, config.params.files)  # before DVC reads them
    outcome = PipelineRun(command=config.pipeline.run, run_cache=uses_run_cache(config, dvc))
    start = time.monotonic()
    command = config.pipeline.run
    pulling = repro_pulling(command) if outcome.run_cache else None
    pull = config.pipeline.pull
    if pull == "always" or (pull == "auto" and dvc.has_remote()):
        with group("dvc pull"):
            outcome.pulled = _pull(dvc, sink, pull, run_cache=outcome.run_cache and not pulling)
        if not outcome.pulled and pull == "auto":
            pulling = None  # the remote did not answer: repro must not depend on it
    command = pulling or command
    log = StageLog(sink)
    with group(command):
        dvc.run_pipeline(
            command, sink=log.line, cwd=cwd, timeout=config.pipeline.timeout_minutes * 60
        )
    outcome.seconds = time.monotonic() - start
    _account_stages(outcome, log.summary(), root)
    return outcome


def _pull(dvc: Dvc, sink: LineSink | None, pull: str, *, run_cache: bool) -> bool:
    """`dvc pull` (`--run-cache` first when asked, then plain); False when it failed."""
    if run_cache:
        try:
            dvc.pull(sink, run_cache=True)
            return True
        except DvcError as exc:
            if sink is not None:
                sink(f"warning: {exc.message}; pulling without the run-cache")
    try:
        dvc.pull(sink)
    except DvcError as exc:
        if pull == "always":
            raise
        # A first run has nothing to pull yet; the pipeline will say what is missing.
        if sink is not None:
            sink(f"warning: {exc.message}; continuing with the pipeline")
        return False
    return True


class StageLog:
    """Passes the pipeline's lines on, keeping DVC's per-stage lines with their time."""

    def __init__(self, sink: LineSink | None) -> None:
        self._sink = sink
        self._events: list[tuple[float, str]] = []

    def line(self, text: str) -> None:
        if is_marker(text) and len(self._events) < 10_000:
            self._events.append((time.monotonic(), text))
        if self._sink is not None:
            self._sink(text)

    def summary(self) -> ReproLog:
        return read_repro_log(self._events, end=time.monotonic())


def _account_stages(outcome: PipelineRun, log: ReproLog, root: Path) -> None:
    """Which stages ran and for how long, which were restored and what that saved."""
    from mlops_ci.adapters.dvc_cache import DvcCache
    from mlops_ci.services.shared import stage_times

    outcome.stage_seconds = {k: round(v, 3) for k, v in log.ran.items() if v is not None}
    if not outcome.run_cache:
        return
    lock = root / "dvc.lock"
    hashes = stage_hashes(lock.read_text("utf-8", "replace") if lock.is_file() else None)
    cache_dir = DvcCache(root).dir
    outcome.restored = {
        stage: stage_times.seconds_for(cache_dir, stage, hashes.get(stage))
        for stage in log.restored
    }
    measured = {
        stage: (hashes[stage], seconds)
        for stage, seconds in outcome.stage_seconds.items()
        if stage in hashes
    }
    try:
        stage_times.record(cache_dir, measured)
    except OSError as exc:
        outcome.notes.append(f"stage durations not recorded: {exc.strerror or exc}")


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
    with group("dvc push --run-cache" if outcome.run_cache else "dvc push"):
        try:
            dvc.push(sink, run_cache=outcome.run_cache)
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
