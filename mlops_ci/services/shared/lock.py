"""Keeping `dvc.lock` true in CI: check it, commit it back, push the outputs.

After the pipeline runs in a pull request, the workspace `dvc.lock` says what the
commit *should* have recorded. `check` reports a stale lock (which stages, which
outputs) and fails with the fix; `commit` makes one bot commit on the PR branch with
the lock and the small git-tracked outputs; `off` does neither. Outputs are pushed to
the DVC remote only when this job may write there — never from a fork.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlops_ci.adapters.git import Git
from mlops_ci.context import RunContext
from mlops_ci.core.dvcfiles import uncached_paths
from mlops_ci.core.lockfile import StageChange, diff_locks, load_yaml, read_lock

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
BOT_IDENTITY = {
    "GIT_AUTHOR_NAME": BOT_NAME,
    "GIT_AUTHOR_EMAIL": BOT_EMAIL,
    "GIT_COMMITTER_NAME": BOT_NAME,
    "GIT_COMMITTER_EMAIL": BOT_EMAIL,
}
FIX = "run `dvc repro` and commit `dvc.lock`, then `dvc push`"


@dataclass
class LockStatus:
    """Whether the committed `dvc.lock` (and `.dvc` files) match what the run produced."""

    stale: bool
    stages: list[StageChange] = field(default_factory=list)
    dvc_files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.stale:
            return "dvc.lock matches the pipeline's outputs"
        parts = []
        for change in self.stages:
            if change.status != "changed":
                parts.append(f"stage `{change.name}` {change.status}")
                continue
            what = [*change.outs]
            if change.params:
                what.append("params")
            if change.deps:
                what.append("deps " + ", ".join(change.deps))
            parts.append(f"stage `{change.name}` ({', '.join(what) or 'command'})")
        if self.dvc_files:
            parts.append("tracked data " + ", ".join(self.dvc_files))
        return "dvc.lock is out of date: " + "; ".join(parts) + f" — {FIX}"


def check_lock(root: Path, rev: str = "HEAD") -> LockStatus:
    """Compare the workspace `dvc.lock` and `.dvc` files with those committed at `rev`."""
    git = Git(root)
    committed = read_lock(git.show_file(rev, "dvc.lock"))
    lock_path = root / "dvc.lock"
    current = read_lock(lock_path.read_text(encoding="utf-8")) if lock_path.is_file() else {}
    changes = diff_locks(committed, current)
    status = git.run("status", "--porcelain", "-z", "--untracked-files=no", check=False).stdout
    dirty = [
        entry[3:]
        for entry in status.decode("utf-8", "replace").split("\0")
        if entry.endswith(".dvc") and len(entry) > 3
    ]
    return LockStatus(stale=bool(changes or dirty), stages=changes, dvc_files=sorted(dirty))


@dataclass(frozen=True)
class CommitOutcome:
    status: Literal["committed", "nothing-to-commit", "refused"]
    reason: str = ""
    sha: str = ""


def commit_lock_back(root: Path, ctx: RunContext, remote: str = "origin") -> CommitOutcome:
    """Commit `dvc.lock` and git-tracked outputs to the PR branch as one bot commit.

    Only for same-repository pull requests, never onto the default branch, and never
    when the branch moved since this run started (the push is a plain fast-forward,
    so a moved branch rejects it).
    """
    if not ctx.is_pull_request:
        return CommitOutcome(
            "refused", "not a pull request: dvc.lock is committed back only to PRs"
        )
    if ctx.is_fork:
        return CommitOutcome("refused", "a fork pull request: this job may not write to its branch")
    branch = ctx.head_ref
    if not branch:
        return CommitOutcome("refused", "the event names no PR branch")
    if branch == (ctx.default_branch or "main"):
        return CommitOutcome("refused", "never commits to the default branch")
    git = Git(root)
    head = git.current_sha()
    if ctx.head_sha and head != ctx.head_sha:
        return CommitOutcome(
            "refused",
            f"the checkout is {head[:8]}, not the PR head {ctx.head_sha[:8]}: check out the head "
            "branch (actions/checkout `ref: ${{ github.head_ref }}`) to commit back",
        )
    dvc_yaml = root / "dvc.yaml"
    small = uncached_paths(load_yaml(dvc_yaml.read_bytes())) if dvc_yaml.is_file() else set()
    paths = ["dvc.lock", *sorted(p for p in small if (root / p).exists())]
    paths += check_lock(root).dvc_files
    git.run("add", "--", *[p for p in paths if (root / p).exists()])
    if git.run("diff", "--cached", "--quiet", check=False).returncode == 0:
        return CommitOutcome("nothing-to-commit", "dvc.lock already matches")
    bot = Git(root).with_env(BOT_IDENTITY)
    bot.run("commit", "-q", "-m", "Update dvc.lock from the pipeline run [mlops-ci]")
    sha = git.current_sha()
    push = git.run("push", remote, f"HEAD:refs/heads/{branch}", check=False)
    if push.returncode != 0:
        git.run("reset", "-q", "--soft", "HEAD~1")
        detail = push.stderr.decode("utf-8", "replace")
        why = "the branch moved since this run started" if "rejected" in detail else "push failed"
        return CommitOutcome("refused", f"{why}; nothing was committed — re-run on the new head")
    return CommitOutcome("committed", sha=sha)


def may_push_outputs(ctx: RunContext, policy: str) -> tuple[bool, str]:
    """Whether this run may `dvc push`: never a fork; auto = same-repo PR or default branch."""
    if policy == "never":
        return False, "pipeline.push is never"
    if ctx.is_fork:
        return False, "a fork pull request has no credentials for the DVC remote"
    if policy == "always":
        return True, ""
    if not ctx.on_runner:
        return False, "not in CI (push with `dvc push` yourself)"
    if ctx.is_pull_request:
        return True, ""
    on_default = bool(ctx.default_branch) and ctx.ref == f"refs/heads/{ctx.default_branch}"
    return (True, "") if on_default else (False, "not a PR or a push to the default branch")
