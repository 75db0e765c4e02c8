"""The composite action's `report`, executed by act the way a runner executes it.

One workflow (written here, as a user's own job would be) checks out the pull request,
calls `mlops-ci/mlops-ci@<ref>` and copies the action's outputs and the job summary
where the test reads them. Everything inside the action runs as on GitHub: setup-python
(from the tool cache), the cache action, the install, the token-free run step and the
publishing step; the GitHub API is the double.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.services.shared.sample_project import SampleProject

from .act import SNAPSHOT_REF, UPSTREAM, ActRun, ActTools, git, run_act

pytestmark = pytest.mark.runner

CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"


def report_workflow(out: Path, python_version: str, ref: str = SNAPSHOT_REF) -> str:
    """A user's job calling the action; a last step saves outputs and summary to `out`."""
    return f"""\
name: mlops-ci PR report
on: pull_request
permissions: {{}}
jobs:
  report:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
      checks: write
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - id: report
        uses: {UPSTREAM}@{ref}
        with:
          command: report
          args: --publish auto --output "${{{{ runner.temp }}}}/mlops-ci-report"
          python-version: "{python_version}"
      - name: Keep what the test reads
        if: ${{{{ always() }}}}
        shell: bash
        env:
          OUTPUTS: ${{{{ toJSON(steps.report.outputs) }}}}
          OUTCOME: ${{{{ steps.report.outcome }}}}
          OUT: {out}
        run: |
          mkdir -p "$OUT"
          printf '%s' "$OUTPUTS" > "$OUT/outputs.json"
          printf '%s' "$OUTCOME" > "$OUT/outcome"
          if [ -d "$RUNNER_TEMP/mlops-ci-report/bundle" ]; then
            cp -r "$RUNNER_TEMP/mlops-ci-report/bundle" "$OUT/bundle"
          fi
"""


def pull_request_event(
    double: Any, sample: SampleProject, number: int, head_sha: str, *, fork: bool = False
) -> dict[str, Any]:
    """The fields of GitHub's `pull_request` payload that the report and act read."""
    owner, name = double.repository.split("/")
    base_repo = {
        "full_name": double.repository,
        "name": name,
        "owner": {"login": owner},
        "default_branch": sample.main_branch,
        "fork": False,
    }
    head_repo = (
        {"full_name": f"contributor/{name}", "name": name, "owner": {"login": "contributor"}}
        if fork
        else base_repo
    )
    head_repo = dict(head_repo, fork=fork)
    pull = {
        "number": number,
        "head": {"ref": sample.pr_branch, "sha": head_sha, "repo": head_repo},
        "base": {"ref": sample.main_branch, "sha": sample.main_sha, "repo": base_repo},
        "user": {"login": "contributor" if fork else "octocat"},
    }
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": pull,
        "repository": base_repo,
        "sender": pull["user"],
    }


def _run_report(
    act_tools: ActTools,
    sample: SampleProject,
    double: Any,
    tmp: Path,
    *,
    number: int,
    head_sha: str,
    fork: bool = False,
) -> tuple[ActRun, Path]:
    out = tmp / "out"
    tmp.mkdir(parents=True, exist_ok=True)
    workflow = tmp / "report.yml"
    workflow.write_text(report_workflow(out, act_tools.python_version), encoding="utf-8")
    run = run_act(
        act_tools,
        workdir=sample.root,
        workflow=workflow,
        event_name="pull_request",
        event=pull_request_event(double, sample, number, head_sha, fork=fork),
        api_url=double.base_url,
        repository=double.repository,
        scratch=tmp / "act",
    )
    return run, out


def test_report_on_a_same_repository_pull_request_then_a_gate_failure_on_the_next_push(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    root = act_sample.root
    pull = github_double.state.add_pull(
        head=act_sample.pr_branch,
        base=act_sample.main_branch,
        head_sha=act_sample.pr_sha,
    )

    first, out = _run_report(
        act_tools, act_sample, github_double, tmp_path / "first",
        number=pull.number, head_sha=act_sample.pr_sha,
    )  # fmt: skip
    assert first.returncode == 0, first.explain()
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["gate"] == "pass", outputs
    assert outputs["comment-url"].startswith(f"https://github.com/{github_double.repository}")
    assert Path(outputs["report-path"]).name.endswith(".md"), outputs
    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 1
    comment = comments[0]
    first_body = comment.body
    assert "accuracy" in first_body
    assert str(comment.id) in outputs["comment-url"]
    runs = list(github_double.state.check_runs.values())
    assert [(r.name, r.head_sha, r.conclusion) for r in runs] == [
        ("mlops-ci report", act_sample.pr_sha, "success")
    ]

    # The second push lowers accuracy far below the gate: exit 2, a failed check, and
    # the same comment edited in place.
    params = (root / "params.yaml").read_text()
    worse = params.replace("n_estimators: 80", "n_estimators: 1")
    worse = worse.replace("max_depth: 5", "max_depth: 1")
    assert worse != params
    (root / "params.yaml").write_text(worse)
    subprocess.run(["dvc", "repro", "-q"], cwd=root, check=True, capture_output=True)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "A worse model")
    second_sha = git(root, "rev-parse", "HEAD")
    github_double.state.issues[pull.number].head_sha = second_sha

    second, out2 = _run_report(
        act_tools, act_sample, github_double, tmp_path / "second",
        number=pull.number, head_sha=second_sha,
    )  # fmt: skip
    assert second.returncode != 0, second.explain()
    # The publishing step posts the verdict, then exits 2 (a gate refusal).
    assert "Failure - Main Publish the report" in second.log, second.explain()
    assert "exit status 2" in second.log, second.explain()
    assert (out2 / "outcome").read_text() == "failure"
    outputs2 = json.loads((out2 / "outputs.json").read_text())
    comments = github_double.state.comments_on(pull.number)
    assert [c.id for c in comments] == [comment.id], "the comment is updated, not added"
    assert comments[0].body != first_body
    assert "gates failed" in comments[0].body
    failed = [r for r in github_double.state.check_runs.values() if r.head_sha == second_sha]
    assert [(r.name, r.conclusion) for r in failed] == [("mlops-ci report", "failure")]
    assert outputs2.get("gate") in (None, "", "fail"), outputs2


def test_report_on_a_fork_pull_request_writes_the_bundle_without_api_calls(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    run, out = _run_report(
        act_tools, act_sample, github_double, tmp_path,
        number=7, head_sha=act_sample.pr_sha, fork=True,
    )  # fmt: skip
    assert run.returncode == 0, run.explain()
    assert github_double.log == [], [c.operation_id for c in github_double.log]
    bundle = out / "bundle"
    assert bundle.is_dir(), run.explain()
    assert any(bundle.iterdir())
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["gate"] == "pass"
    assert outputs["comment-url"] == ""
