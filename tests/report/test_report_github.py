"""End to end on a runner: the real pull_request payload, the GitHub double, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_helpers import (
    checkout_pr,
    pull_request_env,
    read_outputs,
    rewrite_pr_payload,
    run_cli,
    runner_env,
)

from mlops_ci.services.shared.sample_project import SampleProject

MARKER = "<!-- mlops-ci:PR report:pr-report -->"


def test_pr_report_comment_check_run_outputs_and_gate_failure(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = sample_project
    checkout_pr(sample)
    env = pull_request_env(tmp_path, sample, github_double, payloads_dir)
    args = ["report", "--root", str(sample.root), "--no-run"]

    assert run_cli(args, env, monkeypatch) == 0
    comments = list(github_double.state.comments.values())
    assert len(comments) == 1
    first = comments[0]
    assert first.body.startswith(MARKER)
    assert "✅ **All 3 gates pass**" in first.body
    runs = list(github_double.state.check_runs.values())
    assert [(r.name, r.status, r.conclusion, r.head_sha) for r in runs] == [
        ("mlops-ci report", "completed", "success", sample.pr_sha)
    ]
    outputs = read_outputs(Path(env["GITHUB_OUTPUT"]))
    assert outputs["gate"] == "pass"
    assert outputs["report-path"] == str(sample.root / ".mlops-ci" / "report.md")
    assert outputs["comment-url"].endswith(f"#issuecomment-{first.id}")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "## mlops-ci report" in summary
    assert "### Metrics" in summary

    # Second push: accuracy falls well beyond the allowed drop.
    metrics_path = sample.root / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["accuracy"] = round(metrics["accuracy"] - 0.05, 6)
    metrics_path.write_text(json.dumps(metrics))
    Path(env["GITHUB_OUTPUT"]).write_text("")
    capsys.readouterr()

    assert run_cli(args, env, monkeypatch) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert "::error::" in captured.out  # the annotation a runner shows on the summary page
    assert "accuracy" in err
    assert "allowed 0.02" in err
    comments = list(github_double.state.comments.values())
    assert len(comments) == 1, "the sticky comment is updated, not duplicated"
    assert comments[0].id == first.id
    assert "❌ **1 of 3 gates failed**: accuracy fell" in comments[0].body
    conclusions = [r.conclusion for r in github_double.state.check_runs.values()]
    assert conclusions == ["success", "failure"]
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["gate"] == "fail"


def test_dry_run_posts_nothing(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = sample_project
    checkout_pr(sample)
    payload = rewrite_pr_payload(
        json.loads((payloads_dir / "pull_request.synchronize.json").read_text()),
        sample=sample,
        repository=github_double.repository,
        number=1,
    )
    env = runner_env(
        tmp_path,
        event_name="pull_request",
        payload=payload,
        repository=github_double.repository,
        api_url=github_double.base_url,
        sha=sample.pr_sha,
    )
    code = run_cli(
        ["report", "--root", str(sample.root), "--no-run", "--dry-run"], env, monkeypatch
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "dry run: this comment would be posted" in out
    assert MARKER in out
    assert github_double.state.comments == {}
    assert github_double.state.check_runs == {}


def test_forbidden_check_run_warns_but_keeps_the_comment(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = sample_project
    checkout_pr(sample)
    env = pull_request_env(tmp_path, sample, github_double, payloads_dir)
    github_double.fail("checks/create", "forbidden")  # a workflow without `checks: write`
    code = run_cli(["report", "--root", str(sample.root), "--no-run"], env, monkeypatch)
    assert code == 0
    captured = capsys.readouterr()
    assert "warning: the check run was not published" in captured.err
    assert "::warning::the check run was not published" in captured.out
    assert len(github_double.state.comments) == 1
    assert github_double.state.check_runs == {}
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["comment-url"]
