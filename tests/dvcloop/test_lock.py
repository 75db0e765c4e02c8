"""dvc.lock kept true in CI: the check, the bot commit back, and who may push outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_ci.adapters.process import tool_env
from mlops_ci.context import RunContext
from mlops_ci.services.shared.lock import check_lock, commit_lock_back, may_push_outputs
from mlops_ci.services.shared.sample_project import SampleProject

DVC = [sys.executable, "-m", "dvc"]


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _pr_with_stale_lock(sample: SampleProject) -> str:
    """A PR commit that changes params but not dvc.lock, pushed, then reproduced locally."""
    root = sample.root
    _git(root, "checkout", "-q", sample.pr_branch)
    subprocess.run([*DVC, "checkout", "-q"], cwd=root, check=True, capture_output=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["n_estimators"] = 25
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _git(root, "commit", "-qam", "Fewer trees")
    _git(root, "push", "-q", "origin", sample.pr_branch)
    head = _git(root, "rev-parse", "HEAD")
    subprocess.run([*DVC, "repro", "-q"], cwd=root, check=True, capture_output=True, env=tool_env())
    return head


def _ctx(sample: SampleProject, head_sha: str, **extra: object) -> RunContext:
    fields: dict[str, object] = {
        "on_runner": True,
        "event_name": "pull_request",
        "repository": "octo/sample",
        "pr_number": 7,
        "base_ref": "main",
        "head_ref": sample.pr_branch,
        "head_sha": head_sha,
        "default_branch": "main",
        "head_repository": "octo/sample",
    }
    fields.update(extra)
    return RunContext(**fields)  # type: ignore[arg-type]


def test_clean_checkout_is_not_stale(sample_project: SampleProject) -> None:
    status = check_lock(sample_project.root)
    assert not status.stale
    assert status.describe() == "dvc.lock matches the pipeline's outputs"


def test_params_changed_without_lock_names_the_stage(sample_project: SampleProject) -> None:
    _pr_with_stale_lock(sample_project)
    status = check_lock(sample_project.root)
    assert status.stale
    changed = {c.name: c for c in status.stages}
    assert changed["train"].params
    assert "models/model.pkl" in changed["train"].outs
    assert "prepare" not in changed
    message = status.describe()
    assert "stage `train`" in message
    assert "run `dvc repro` and commit `dvc.lock`, then `dvc push`" in message


def test_commit_back_lands_once_and_rerun_is_a_no_op(sample_project: SampleProject) -> None:
    head = _pr_with_stale_lock(sample_project)
    ctx = _ctx(sample_project, head)
    outcome = commit_lock_back(sample_project.root, ctx)
    assert outcome.status == "committed", outcome.reason
    remote_head = _git(sample_project.origin, "rev-parse", f"refs/heads/{sample_project.pr_branch}")
    assert remote_head == outcome.sha
    assert _git(sample_project.root, "log", "-1", "--format=%an") == "github-actions[bot]"
    files = _git(sample_project.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert "dvc.lock" in files
    assert "metrics.json" in files
    assert not check_lock(sample_project.root).stale
    again = commit_lock_back(sample_project.root, _ctx(sample_project, outcome.sha))
    assert again.status == "nothing-to-commit"


def test_fork_and_default_branch_are_refused(sample_project: SampleProject) -> None:
    head = _pr_with_stale_lock(sample_project)
    fork = commit_lock_back(sample_project.root, _ctx(sample_project, head, is_fork=True))
    assert fork.status == "refused"
    assert "fork" in fork.reason
    main = commit_lock_back(sample_project.root, _ctx(sample_project, head, head_ref="main"))
    assert main.status == "refused"
    assert "default branch" in main.reason
    assert _git(sample_project.root, "rev-parse", "HEAD") == head


def test_branch_that_moved_is_not_overwritten(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    head = _pr_with_stale_lock(sample_project)
    other = tmp_path / "other"
    _git(
        tmp_path,
        "clone",
        "-q",
        "-b",
        sample_project.pr_branch,
        str(sample_project.origin),
        str(other),
    )
    (other / "NOTES.md").write_text("someone pushed meanwhile\n")
    _git(other, "add", "NOTES.md")
    _git(other, "commit", "-qm", "Meanwhile")
    _git(other, "push", "-q", "origin", sample_project.pr_branch)
    moved_to = _git(other, "rev-parse", "HEAD")
    outcome = commit_lock_back(sample_project.root, _ctx(sample_project, head))
    assert outcome.status == "refused"
    assert "moved" in outcome.reason
    assert (
        _git(sample_project.origin, "rev-parse", f"refs/heads/{sample_project.pr_branch}")
        == moved_to
    )
    assert _git(sample_project.root, "rev-parse", "HEAD") == head


def test_checkout_of_a_merge_ref_is_refused(sample_project: SampleProject) -> None:
    head = _pr_with_stale_lock(sample_project)
    outcome = commit_lock_back(sample_project.root, _ctx(sample_project, "0" * 40))
    assert outcome.status == "refused"
    assert "not the PR head" in outcome.reason
    assert _git(sample_project.root, "rev-parse", "HEAD") == head


def test_who_may_push_outputs() -> None:
    fork = RunContext(on_runner=True, pr_number=1, is_fork=True)
    assert may_push_outputs(fork, "always") == (
        False,
        "a fork pull request has no credentials for the DVC remote",
    )
    assert may_push_outputs(RunContext(on_runner=True, pr_number=1), "auto")[0]
    main_push = RunContext(on_runner=True, ref="refs/heads/main", default_branch="main")
    assert may_push_outputs(main_push, "auto")[0]
    assert not may_push_outputs(
        RunContext(on_runner=True, ref="refs/heads/dev", default_branch="main"), "auto"
    )[0]
    assert not may_push_outputs(RunContext(), "auto")[0]
    assert not may_push_outputs(RunContext(on_runner=True, pr_number=1), "never")[0]


def test_pipeline_env_keeps_data_credentials_but_no_github_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlops_ci.adapters.process import pipeline_env, tool_env, with_git_credentials

    monkeypatch.setenv("MLOPS_CI_GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "credential.https://github.com.helper")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "!f() { echo password=ghs_secret; }; f")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "data-key")
    env = pipeline_env()
    assert "ghs_secret" not in "".join(env.values())
    assert not {"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"} & set(env)
    assert env["AWS_ACCESS_KEY_ID"] == "data-key"
    assert env["DVC_NO_ANALYTICS"] == "1"
    # git, DVC and the pipeline never get the token; git's own network calls do.
    assert "ghs_secret" not in "".join(tool_env().values())
    assert with_git_credentials(tool_env())["MLOPS_CI_GITHUB_TOKEN"] == "ghs_secret"


def test_project_python_wins_unless_we_ship_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_ci.adapters.process import tool_env

    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", "/opt/project-venv/bin:/usr/bin")
    assert tool_env()["PATH"].split(":") == ["/opt/project-venv/bin", "/usr/bin", bindir]
    assert tool_env(own_python_first=True)["PATH"].split(":")[0] == bindir
