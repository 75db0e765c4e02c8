"""Metric history over the commits of a branch, read from git in bulk.

(Not the model registry's history, `mlops-ci history`: this is `mlops-ci metrics
history` and the PR report's "trend on main".)

Two processes whatever the number of commits: one `git log` lists the commits
(first parent only, so a merged pull request counts once, as the branch saw it)
and one `git cat-file --batch` is fed every `<commit>:<path>` at once. Metrics files
that are DVC outputs kept out of git (`cache: true`) have no history here; they are
reported as missing.

`metric_history` returns plain data (`core.metric_history`); `report.history` turns
it into Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.adapters.git import Git
from mlops_ci.core.metric_history import MetricHistory, build_history
from mlops_ci.errors import InputError

if TYPE_CHECKING:
    from mlops_ci.config import Config

__all__ = ["DEFAULT_LAST", "metric_history", "read_blobs", "trend_markdown"]

DEFAULT_LAST = 30


def metric_history(
    root: Path,
    branch: str | None = None,
    metrics: Sequence[str] | None = None,
    last: int | None = DEFAULT_LAST,
    *,
    files: Sequence[str] | None = None,
    config_path: Path | None = None,
) -> MetricHistory:
    """Metric values over the last `last` commits of `branch` (first parent), oldest first.

    `branch` defaults to `default_branch` from mlops-ci.yaml, else the repository's
    default branch. `metrics` selects metrics by key (`accuracy`) or `file:key`
    (default: every metric found). `files` defaults to the configured metrics files.
    """
    root = root.resolve()
    if last is not None and last <= 0:
        raise InputError("--last must be a positive number of commits")
    git = Git(root)
    branch, files = _branch_and_files(git, branch, files, config_path)
    ref = git.resolve_branch(branch)
    prefix = git.path_prefix()
    commits = git.log_first_parent(ref, last)
    commits.reverse()
    blobs = git.read_blobs([f"{sha}:{prefix}{name}" for sha, _, _ in commits for name in files])
    return build_history(branch, ref, files, commits, blobs, metrics=metrics)


def _branch_and_files(
    git: Git, branch: str | None, files: Sequence[str] | None, config_path: Path | None
) -> tuple[str, list[str]]:
    """The branch and the metrics files to follow: as given, else from mlops-ci.yaml,
    else (the branch) the repository's default branch."""
    if files is None or branch is None:
        from mlops_ci.config import load_config

        config = load_config(git.root, config_path).config
        if files is None:
            files = list(config.metrics.files)
        if branch is None:
            branch = config.default_branch
    if branch is None:
        branch = git.default_branch()
    if not files:
        raise InputError(
            "no metrics files to follow",
            hint="declare metrics in dvc.yaml or list them under metrics.files in mlops-ci.yaml",
        )
    return branch, list(files)


def read_blobs(root: Path, specs: Sequence[str]) -> list[tuple[str, bytes] | None]:
    """The blobs `<rev>:<path>` names in the repository at `root` (see `Git.read_blobs`)."""
    return Git(root).read_blobs(specs)


def trend_markdown(
    root: Path,
    config: Config,
    branch: str | None = None,
    *,
    last: int = 20,
) -> str:
    """The PR report's "trend on BRANCH" section (for `report.trend: true`).

    Follows the gated metrics (all metrics when there are no gates) over the newest
    `last` commits of `branch` (default: `default_branch`, else the repository's).
    Never raises for a missing branch or unreadable history: the section then says why.
    """
    from mlops_ci.errors import MlopsCIError
    from mlops_ci.report.history import render_history_markdown, trend_error_markdown

    gates: Mapping[str, Any] = config.metrics.gates
    wanted = list(gates) or None
    shown = branch or config.default_branch or "the default branch"
    try:
        history = metric_history(
            root, branch or config.default_branch, wanted, last, files=list(config.metrics.files)
        )
    except MlopsCIError as exc:
        return trend_error_markdown(shown, exc.message)
    directions = {}
    for metric in history.metrics:
        gate = gates.get(metric) or gates.get(metric.rsplit(":", 1)[-1])
        if gate is not None:
            directions[metric] = gate.direction
    return render_history_markdown(
        history,
        precision=config.report.precision,
        directions=directions,
        max_rows=last,
    )
