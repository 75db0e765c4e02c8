"""The DVC loop inside the PR report on a runner: commit dvc.lock back, push outputs, forks.

Real pull_request payloads, the GitHub double, the sample project's real bare `origin`
and local DVC remote.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from report_helpers import checkout_pr, pull_request_env, run_cli

from mlops_ci.services.shared.sample_project import SampleProject


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _stale_pr(sample: SampleProject, config_extra: str) -> str:
    """The PR branch gets a params change without dvc.lock, pushed to origin."""
    root = sample.root
    checkout_pr(sample)
    config = (root / "mlops-ci.yaml").read_text()
    (root / "mlops-ci.yaml").write_text(config + config_extra)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["n_estimators"] = 30
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _git(root, "commit", "-qam", "Fewer trees, lock not updated")
    _git(root, "push", "-q", "origin", sample.pr_branch)
    return _git(root, "rev-parse", "HEAD")


def _env(
    sample: SampleProject, head: str, double: Any, payloads: Path, tmp: Path, fork: bool
) -> dict[str, str]:
    fork_repo = "someone/fork" if fork else None
    return pull_request_env(tmp, sample, double, payloads, head_sha=head, head_repository=fork_repo)


def _remote_objects(sample: SampleProject) -> set[Path]:
    return set((sample.remote / "files" / "md5").rglob("*"))


def test_commit_mode_lands_one_bot_commit_and_pushes_outputs(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sample = sample_project
    head = _stale_pr(sample, "pipeline:\n  lock: commit\n")
    env = _env(sample, head, github_double, payloads_dir, tmp_path, fork=False)
    before = _remote_objects(sample)
    assert run_cli(["report", "--root", str(sample.root)], env, monkeypatch) == 0
    bot_commit = _git(sample.origin, "rev-parse", f"refs/heads/{sample.pr_branch}")
    assert bot_commit != head
    assert _git(sample.root, "log", "-1", "--format=%an", bot_commit) == "github-actions[bot]"
    changed = _git(sample.root, "show", "--name-only", "--format=", bot_commit).splitlines()
    assert "dvc.lock" in changed
    assert _remote_objects(sample) > before, "the retrained model is in the DVC remote"
    body = next(iter(github_double.state.comments.values())).body
    assert "committed it to the PR branch" in body
    # A re-run on the new head changes nothing: no second commit.
    again = tmp_path / "again"
    again.mkdir()
    env2 = _env(sample, bot_commit, github_double, payloads_dir, again, fork=False)
    assert run_cli(["report", "--root", str(sample.root)], env2, monkeypatch) == 0
    assert _git(sample.origin, "rev-parse", f"refs/heads/{sample.pr_branch}") == bot_commit


def test_fork_never_commits_never_pushes_and_says_why(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sample = sample_project
    head = _stale_pr(sample, "pipeline:\n  lock: commit\n  push: auto\n")
    env = _env(sample, head, github_double, payloads_dir, tmp_path, fork=True)
    before = _remote_objects(sample)
    output = tmp_path / "out"
    code = run_cli(
        ["report", "--root", str(sample.root), "--output", str(output)], env, monkeypatch
    )
    assert code == 2  # the stale lock fails the report; nothing fixed it
    assert _git(sample.origin, "rev-parse", f"refs/heads/{sample.pr_branch}") == head
    assert _git(sample.root, "rev-parse", "HEAD") == head
    assert _remote_objects(sample) == before
    report = json.loads((output / "report.json").read_text())
    lock_gate = next(g for g in report["gates"] if g["gate"] == "dvc.lock")
    assert "fork" in lock_gate["reason"]
    assert any("not pushed" in n and "fork" in n for n in report["notes"])
    assert not github_double.state.comments, "a fork's run posts nothing"
