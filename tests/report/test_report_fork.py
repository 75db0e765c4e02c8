"""The fork-safe two-phase flow: `report` writes a bundle, `post` validates and publishes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from report_helpers import checkout_pr, rewrite_pr_payload, run_cli, runner_env

from mlops_ci.errors import InputError
from mlops_ci.report.escape import ZWJ
from mlops_ci.services.post import BundleMetadata, read_bundle, verify_bundle
from mlops_ci.services.shared.sample_project import SampleProject

FORK = "octo-fork-user/mlops-demo"


@pytest.fixture
def fork_bundle(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[SampleProject, Path, Any]:
    """Phase one on a fork PR: the report becomes a bundle; nothing is posted."""
    sample = sample_project
    checkout_pr(sample)
    pull = github_double.state.add_pull(
        head=sample.pr_branch, base=sample.main_branch, head_sha=sample.pr_sha
    )
    payload = rewrite_pr_payload(
        json.loads((payloads_dir / "derived" / "pull_request.opened.fork.json").read_text()),
        sample=sample,
        repository=github_double.repository,
        number=pull.number,
        head_repository=FORK,
    )
    phase1 = tmp_path / "phase1"
    phase1.mkdir()
    env = runner_env(
        phase1,
        event_name="pull_request",
        payload=payload,
        repository=github_double.repository,
        api_url=github_double.base_url,
        sha=sample.pr_sha,
    )
    assert run_cli(["report", "--root", str(sample.root), "--no-run"], env, monkeypatch) == 0
    assert github_double.state.comments == {}
    assert github_double.state.check_runs == {}
    bundle = sample.root / ".mlops-ci" / "bundle"
    assert sorted(p.name for p in bundle.iterdir()) == ["metadata.json", "report.json"]
    metadata = json.loads((bundle / "metadata.json").read_text())
    assert metadata == {
        "schema_version": 1,
        "repository": github_double.repository,
        "pr_number": pull.number,
        "head_sha": sample.pr_sha,
        "run_id": "4242",
    }
    return sample, bundle, pull


def workflow_run_env(
    payloads_dir: Path, tmp_path: Path, double: Any, sample: SampleProject, *, pulls: list[Any]
) -> dict[str, str]:
    payload = json.loads((payloads_dir / "workflow_run.completed.json").read_text())
    run = payload["workflow_run"]
    run.update(id=4242, head_sha=sample.pr_sha, name="PR report", pull_requests=pulls)
    run["html_url"] = f"https://github.com/{double.repository}/actions/runs/4242"
    payload["repository"]["full_name"] = double.repository
    phase2 = tmp_path / "phase2"
    phase2.mkdir(exist_ok=True)
    return runner_env(
        phase2,
        event_name="workflow_run",
        payload=payload,
        repository=double.repository,
        api_url=double.base_url,
        sha="f" * 40,
        run_id="5555",
        workflow="Post PR report",
    )


def test_fork_bundle_is_posted_from_workflow_run(
    fork_bundle: tuple[SampleProject, Path, Any],
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sample, bundle, pull = fork_bundle
    # A fork could ship a crafted report.md: it is never read.
    (bundle / "report.md").write_text("@org/team <script>alert(1)</script> [x](http://evil)")
    # ... and crafted data in report.json is escaped on the way out.
    report = json.loads((bundle / "report.json").read_text())
    report["metrics"][0]["key"] = "@org/team <img src=x onerror=alert(1)> | ```mermaid"
    report["gates"] = [{"gate": "x", "metric": "x", "verdict": "pass", "reason": "forged"}]
    report["run_url"] = "https://evil.example/phish"
    # ... and a made-up history of the base branch is dropped, never shown.
    report["trend"] = {
        "branch": "main", "ref": "main", "files": ["metrics.json"], "metrics": ["accuracy"],
        "commits": [{"sha": "f" * 40, "time": 0, "subject": "evil trend", "values": {}}],
        "missing": {},
    }  # fmt: skip
    (bundle / "report.json").write_text(json.dumps(report))

    env = workflow_run_env(payloads_dir, tmp_path, github_double, sample, pulls=[])
    code = run_cli(
        ["post", "--bundle", str(bundle), "--root", str(sample.root), "--run-id", "4242"],
        env,
        monkeypatch,
    )
    assert code == 0
    comments = list(github_double.state.comments.values())
    assert len(comments) == 1
    body = comments[0].body
    assert body.startswith("<!-- mlops-ci:PR report:pr-report -->")
    assert comments[0].issue_number == pull.number
    assert "<script>" not in body
    assert "<img" not in body
    assert f"@{ZWJ}org/team" in body
    assert "evil" not in body
    assert "forged" not in body  # gates are evaluated again with the trusted config
    assert "accuracy" in body
    runs = list(github_double.state.check_runs.values())
    assert [(r.head_sha, r.status) for r in runs] == [(sample.pr_sha, "completed")]


def test_bundle_for_another_pr_or_commit_is_refused(
    fork_bundle: tuple[SampleProject, Path, Any],
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample, bundle, _pull = fork_bundle
    other = github_double.state.add_pull(head="other", head_sha="c" * 40)
    metadata = json.loads((bundle / "metadata.json").read_text())
    metadata["pr_number"] = other.number
    (bundle / "metadata.json").write_text(json.dumps(metadata))
    env = workflow_run_env(payloads_dir, tmp_path, github_double, sample, pulls=[])
    assert (
        run_cli(["post", "--bundle", str(bundle), "--root", str(sample.root)], env, monkeypatch)
        == 1
    )
    assert "is not at the bundle's head commit" in capsys.readouterr().err
    assert github_double.state.comments == {}


def _metadata(**changes: Any) -> BundleMetadata:
    data: dict[str, Any] = {
        "repository": "octo-org/mlops-demo",
        "pr_number": 3,
        "head_sha": "a" * 40,
        "run_id": "42",
    }
    data.update(changes)
    return BundleMetadata(**data)


class _Ctx:
    event_name = "workflow_run"
    repository = "octo-org/mlops-demo"

    def __init__(self, **run: Any) -> None:
        self.event = {"workflow_run": {"id": 42, "head_sha": "a" * 40, "pull_requests": [], **run}}


def test_verify_bundle_rules() -> None:
    pulls = [{"number": 3}]
    assert verify_bundle(_metadata(), _Ctx(pull_requests=pulls), None)["id"] == 42
    with pytest.raises(InputError, match="not this repository"):
        verify_bundle(_metadata(repository="evil/repo"), _Ctx(pull_requests=pulls), None)
    with pytest.raises(InputError, match="not a pull request of the triggering"):
        verify_bundle(_metadata(pr_number=4), _Ctx(pull_requests=pulls), None)
    with pytest.raises(InputError, match="head commit"):
        verify_bundle(_metadata(head_sha="b" * 40), _Ctx(pull_requests=pulls), None)
    with pytest.raises(InputError, match="not the triggering run"):
        verify_bundle(_metadata(run_id="41"), _Ctx(pull_requests=pulls), None)
    with pytest.raises(InputError, match="--run-id 7"):
        verify_bundle(_metadata(), _Ctx(pull_requests=pulls), "7")
    assert verify_bundle(_metadata(), _Ctx(), None, lambda n: "a" * 40)
    with pytest.raises(InputError, match="not at the bundle's head"):
        verify_bundle(_metadata(), _Ctx(), None, lambda n: "b" * 40)


def test_read_bundle_rejects_bad_shapes(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    with pytest.raises(InputError, match=r"lacks report\.json"):
        read_bundle(bundle)
    (bundle / "report.json").write_text('{"schema_version": 1}')
    (bundle / "metadata.json").write_text(
        json.dumps({"repository": "o/r", "pr_number": 1, "head_sha": "a" * 40, "run_id": "1"})
    )
    assert read_bundle(bundle)[0].pr_number == 1
    (bundle / "report.json").write_text('{"schema_version": 1, "markdown": "# hi"}')
    with pytest.raises(InputError, match=r"report\.json: invalid: markdown"):
        read_bundle(bundle)
    (bundle / "report.json").write_text('{"schema_version": 2}')
    with pytest.raises(InputError, match="schema_version"):
        read_bundle(bundle)
    (bundle / "report.json").write_text(" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(InputError, match="larger than 4 MiB"):
        read_bundle(bundle)
    (bundle / "report.json").unlink()
    (bundle / "report.json").symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="not a regular file"):
        read_bundle(bundle)
    shutil.rmtree(bundle)
