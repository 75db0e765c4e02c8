"""The retrain journey: new data, reproduce, commit to a new branch, open a pull request.

1. Update the data: the configured `data.update` command, else `dvc update` on every
   `.dvc` file that imports data (`dvc import`/`import-url`); plain tracked data is
   left as it is (a scheduled job may have refreshed it already).
2. Reproduce the pipeline (`pipeline.run`, `dvc repro` by default).
3. Commit everything on a new branch `mlops-ci/retrain/<model>/<date>` made from the
   current commit, push the branch (and DVC outputs when a remote is set), and open a
   pull request against the default branch whose body links the drift issue.

The default branch is never pushed to: the branch name is checked before any push.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.core.markers import drift_issue_marker
from mlops_ci.errors import InputError, PolicyRefused
from mlops_ci.services.shared.retraining import RETRAIN_BRANCH_PREFIX, retrain_branch_prefix

if TYPE_CHECKING:
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.adapters.github import GitHubRepo
    from mlops_ci.config import Config
    from mlops_ci.services.shared.job import Job


@dataclass
class RetrainRequest:
    """What `mlops-ci retrain` was asked to do, and the job it runs in."""

    root: Path
    model: str | None = None
    push: bool = True
    issue: int | None = None
    date: datetime | None = None
    #: Where it runs (token, repository), built once by the command layer.
    job: Job = field(kw_only=True)


@dataclass
class RetrainOutcome:
    model: str
    branch: str
    base: str
    commit: str
    updated: list[str]
    pushed: bool
    pull_number: int | None = None
    pull_url: str | None = None
    issue: int | None = None
    #: True when a retrain pull request was already open and nothing new was made.
    already_open: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "branch": self.branch,
            "base": self.base,
            "commit": self.commit,
            "updated": self.updated,
            "pushed": self.pushed,
            "pull_request": self.pull_number,
            "pull_request_url": self.pull_url,
            "issue": self.issue,
            "already_open": self.already_open,
        }


def branch_name(model: str, when: datetime, taken: set[str]) -> str:
    """`mlops-ci/retrain/<model>/<YYYY-MM-DD>`, with `-2`, `-3`… when that one exists."""
    base = f"{retrain_branch_prefix(model)}{when:%Y-%m-%d}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def import_files(root: Path, tracked: list[str]) -> list[str]:
    """The `.dvc` files among `tracked` that import data (they have deps)."""
    from mlops_ci.core.lockfile import imports_data, load_yaml

    found = []
    for name in tracked:
        if not name.endswith(".dvc"):
            continue
        try:
            text = (root / name).read_bytes()
        except OSError:
            continue
        if imports_data(load_yaml(text)):
            found.append(name)
    return found


def _choose_model(config: Config, requested: str | None) -> str:
    if requested:
        return requested
    names = list(config.models)
    if len(names) == 1:
        return str(names[0])
    raise InputError(
        "choose the model to retrain with --model",
        hint="models: " + (", ".join(sorted(names)) or "none configured in mlops-ci.yaml"),
    )


def _run_step(dvc: Dvc, argv: list[str] | str, what: str) -> None:
    result = dvc.stream(argv)
    if result.returncode != 0:
        last = next((line for line in reversed(result.tail) if line.strip()), "")
        raise InputError(f"{what} failed (exit {result.returncode}): {last.strip()[:300]}")


def run_retrain(request: RetrainRequest) -> RetrainOutcome:
    """Update the data, reproduce, commit on a new retrain branch; push it and open a
    pull request (or return the retrain pull request already open)."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.adapters.process import tool_env
    from mlops_ci.config import load_config

    root = request.root.resolve()
    config = load_config(root).config
    model = _choose_model(config, request.model)
    # Tools run in this process's environment, with its interpreter first on PATH;
    # the job only says where we run (token, repository).
    git = Git(root, tool_env())
    _require_clean(git, root)
    default = config.default_branch or git.default_branch()
    if request.push:
        # A re-run (or a second dispatch) must not open a second pull request.
        existing = _open_retrain_pull(request, model, default)
        if existing is not None:
            return existing
    branch = branch_name(model, request.date or datetime.now(UTC), _taken(git, request.push))
    if branch == default or not branch.startswith(f"{RETRAIN_BRANCH_PREFIX}/"):
        raise PolicyRefused(f"refusing to retrain on {branch!r}: not a retrain branch")
    git.run("checkout", "-q", "-b", branch)

    dvc = Dvc(root)
    updated = _update_data(root, git, dvc, config)
    dvc.run_pipeline(config.pipeline.run, cwd=root)
    if request.push and config.pipeline.push != "never" and dvc.has_remote():
        dvc.push()
    commit = _commit(git, branch, model, updated)
    outcome = RetrainOutcome(model, branch, default, commit, updated, pushed=False)
    if not request.push:
        return outcome
    git.run("push", "-q", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
    outcome.pushed = True
    _open_pull(outcome, request, config)
    return outcome


def _require_clean(git: Git, root: Path) -> None:
    if not git.is_repo():
        raise InputError(f"{root}: not a git repository")
    if git.run("status", "--porcelain", "--untracked-files=no").stdout.strip():
        raise InputError(
            "the working tree has uncommitted changes", hint="commit or stash them first"
        )


def _taken(git: Git, push: bool) -> set[str]:
    """Branch names that exist here, or on origin when we will push there."""
    taken = set(
        git.run("for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads", "refs/remotes")
        .stdout.decode()
        .split()
    )
    taken |= {t.removeprefix("origin/") for t in taken}
    if push and git.has_remote():
        # A fresh checkout has only the default branch: ask origin which names it has,
        # or a re-run after a failed pull request would push onto the earlier branch.
        listing = git.run("ls-remote", "--heads", "origin", check=False).stdout.decode()
        taken |= {
            ref.removeprefix("refs/heads/")
            for _, _, ref in (line.partition("\t") for line in listing.splitlines())
        }
    return taken


def _update_data(root: Path, git: Git, dvc: Dvc, config: Config) -> list[str]:
    """`data.update`, else `dvc update` of every import; what was updated."""
    if config.data.update:
        _run_step(dvc, config.data.update, f"data.update `{config.data.update}`")
        return [config.data.update]
    tracked = git.run("ls-files").stdout.decode().split("\n")
    imports = import_files(root, tracked)
    for name in imports:
        _run_step(dvc, [sys.executable, "-m", "dvc", "update", name], f"dvc update {name}")
    return imports


def _commit(git: Git, branch: str, model: str, updated: list[str]) -> str:
    """Commit everything on the retrain branch; drop the branch when nothing changed."""
    git.run("add", "-A")
    if not git.run("status", "--porcelain").stdout.strip():
        git.run("checkout", "-q", "-")
        git.run("branch", "-q", "-D", branch)
        raise InputError(
            "nothing to retrain: the data and the pipeline's results did not change",
            hint="configure data.update, or refresh the data before retraining",
        )
    message = f"Retrain {model} on updated data\n\nData: {', '.join(updated) or 'as committed'}"
    git.run("commit", "-q", "-m", message)
    return git.current_sha()


def _github(request: RetrainRequest) -> GitHubRepo | None:
    """The repository on GitHub, when the job has a token and knows the repository."""
    context = request.job.context
    if context.token_value() is None or not context.repository:
        return None
    from mlops_ci.adapters.github import GitHubRepo

    return GitHubRepo.for_run(context)


def _open_retrain_pull(request: RetrainRequest, model: str, default: str) -> RetrainOutcome | None:
    """The retrain pull request of `model` that is open already, if any (needs a token)."""
    gh = _github(request)
    if gh is None:
        return None
    heads = gh.open_pull_heads(retrain_branch_prefix(model))
    if not heads:
        return None
    head = str(heads[0])
    pull = gh.open_pull_request(
        head=head, base=default, title=f"Retrain {model} on updated data", body=""
    )
    outcome = RetrainOutcome(model, head, default, "", [], pushed=False, already_open=True)
    outcome.pull_number, outcome.pull_url = pull.number, pull.url
    return outcome


def _open_pull(outcome: RetrainOutcome, request: RetrainRequest, config: Config) -> None:
    gh = _github(request)
    if gh is None:
        return
    issue = request.issue
    if issue is None and config.monitor.on_drift.issue:
        marker = drift_issue_marker(outcome.model)
        found = gh.find_issue(marker, list(config.monitor.on_drift.labels))
        issue = found.number if found is not None else None
    outcome.issue = issue
    link = f"Refs #{issue} (drift detected by `mlops-ci monitor`).\n\n" if issue else ""
    body = (
        f"{link}Retrained **{outcome.model}** on updated data "
        f"({', '.join(shlex.quote(u) for u in outcome.updated) or 'data as committed'}): "
        f"the pipeline was reproduced and `dvc.lock` records the new data and model.\n\n"
        "The pull request report shows the metrics against the base; merge when they are "
        "good, and promote the new version as usual."
    )
    pull = gh.open_pull_request(
        head=outcome.branch,
        base=outcome.base,
        title=f"Retrain {outcome.model} on updated data",
        body=body,
    )
    outcome.pull_number, outcome.pull_url = pull.number, pull.url
