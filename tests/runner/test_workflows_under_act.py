"""The reusable workflows, called from the starter templates, executed by act.

act 0.2.89 cannot resolve `uses: $/.` (GitHub's reference to the workflow's own
repository at the same commit): the snapshot act reads mlops-ci from names itself
there instead (`mlops-ci/mlops-ci@<snapshot>`), which is what `$/.` means. Tests that
depend on that substitution say so in their names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.services.shared.sample_project import SampleProject

from .act import REPO_ROOT, SNAPSHOT_REF, ActTools, git, run_act
from .test_action_under_act import pull_request_event

pytestmark = pytest.mark.runner


def starter(name: str, dest: Path, branch: str = "main") -> Path:
    """A starter template as `mlops-ci init` writes it, calling the snapshot."""
    text = (REPO_ROOT / "workflows-templates" / name).read_text(encoding="utf-8")
    text = text.replace("$default-branch", branch).replace(".yml@v1", f".yml@{SNAPSHOT_REF}")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / name).write_text(text, encoding="utf-8")
    return dest / name


def test_pr_report_workflow_with_self_reference_substituted(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    pull = github_double.state.add_pull(
        head=act_sample.pr_branch, base=act_sample.main_branch, head_sha=act_sample.pr_sha
    )
    run = run_act(
        act_tools,
        workdir=act_sample.root,
        workflow=starter("pr-report.yml", tmp_path / "workflows"),
        event_name="pull_request",
        event=pull_request_event(github_double, act_sample, pull.number, act_sample.pr_sha),
        api_url=github_double.base_url,
        repository=github_double.repository,
        scratch=tmp_path / "act",
    )
    assert run.returncode == 0, run.explain()
    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 1
    assert "accuracy" in comments[0].body
    runs = list(github_double.state.check_runs.values())
    assert [(r.name, r.head_sha, r.conclusion) for r in runs] == [
        ("mlops-ci report", act_sample.pr_sha, "success")
    ]


GHES_MARKER = "<!-- runner-tier: ghes-pr-report -->"


def ghes_job_from_docs(dest: Path) -> Path:
    """The GitHub Enterprise Server job of docs/workflows.md, its action pin pointed at
    the snapshot (the only change: the docs show a release's SHA)."""
    docs = (REPO_ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    block = docs[docs.index(GHES_MARKER) :].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "$/." not in block
    pinned = re.compile(r"uses: mlops-ci/mlops-ci@[0-9a-f]{40} # v\d+\.\d+\.\d+$", re.M)
    assert len(pinned.findall(block)) == 1, block
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "pr-report-ghes.yml"
    path.write_text(pinned.sub(f"uses: mlops-ci/mlops-ci@{SNAPSHOT_REF}", block), encoding="utf-8")
    return path


def test_ghes_fallback_job_from_the_docs_runs_without_self_reference(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    """What act can run as GitHub Enterprise Server would: no `$/.` anywhere, nothing
    substituted but the pin of the action."""
    pull = github_double.state.add_pull(
        head=act_sample.pr_branch, base=act_sample.main_branch, head_sha=act_sample.pr_sha
    )
    run = run_act(
        act_tools,
        workdir=act_sample.root,
        workflow=ghes_job_from_docs(tmp_path / "workflows"),
        event_name="pull_request",
        event=pull_request_event(github_double, act_sample, pull.number, act_sample.pr_sha),
        api_url=github_double.base_url,
        repository=github_double.repository,
        scratch=tmp_path / "act",
        extra=["-P", "self-hosted=-self-hosted"],
    )
    assert run.returncode == 0, run.explain()
    assert "$/." not in run.log
    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 1
    runs = list(github_double.state.check_runs.values())
    assert [(r.name, r.conclusion) for r in runs] == [("mlops-ci report", "success")]


def test_on_merge_workflow_on_push_with_self_reference_substituted(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    root = act_sample.root
    git(root, "checkout", "-q", act_sample.main_branch)
    git(root, "merge", "-q", "--no-edit", act_sample.pr_branch)
    head = git(root, "rev-parse", "HEAD")
    git(root, "push", "-q", "origin", act_sample.main_branch)
    owner, name = github_double.repository.split("/")
    repository = {
        "full_name": github_double.repository, "name": name, "owner": {"login": owner},
        "default_branch": act_sample.main_branch,
    }  # fmt: skip
    run = run_act(
        act_tools,
        workdir=root,
        workflow=starter("on-merge.yml", tmp_path / "workflows"),
        event_name="push",
        event={
            "ref": f"refs/heads/{act_sample.main_branch}",
            "before": act_sample.main_sha,
            "after": head,
            "repository": repository,
            "sender": {"login": "octocat"},
        },
        api_url=github_double.base_url,
        repository=github_double.repository,
        scratch=tmp_path / "act",
    )
    assert run.returncode == 0, run.explain()
    assert "mlops-ci on-merge --release" in run.log, run.explain()
    assert "dvc.lock matches the pipeline's outputs" in run.log, run.explain()
    assert "outputs pushed to the DVC remote" in run.log, run.explain()
    # The sample's model registers by hand: on-merge makes no tag and no release.
    assert "register is manual; not registered on merge" in run.log, run.explain()
    assert github_double.state.releases == {}
