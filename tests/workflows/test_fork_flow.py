"""A fork's pull request, end to end through the action as the reusable workflows wire
it: pr-report.yml's report step (read-only token: the bundle is saved), the upload of
that bundle, then pr-report-post.yml's post step on the `workflow_run` event, which
publishes the comment. The `args` of both steps are read from the workflow files, so
a change of paths or flags there is exercised here.

Only the action's run and publish steps run (the install is covered by test_action.py), with the
test's interpreter in place of the installed one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from github_data import github_data

from mlops_ci.services.shared.sample_project import SampleProject

from .composite import CompositeRunner, base_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = github_data("payloads")
TOKEN = "ghs_forkflowtesttoken00000000000000000001"
RUN_ID = "4242"


def _step(workflow: str, match: str) -> dict[str, Any]:
    """The step of `workflow` whose id is `match` or whose `uses:` contains it."""
    data = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / workflow).read_text("utf-8"))
    for job in data["jobs"].values():
        for step in job["steps"]:
            if step.get("id") == match or match in str(step.get("uses", "")):
                return dict(step)
    raise AssertionError(f"{workflow}: no step {match}")


def _expand(text: str, values: dict[str, str]) -> str:
    for expression, value in values.items():
        text = text.replace("${{ " + expression + " }}", value)
    assert "${{" not in text, text
    return text.strip()


def _runner(workspace: Path, runner_temp: Path, **env: str) -> CompositeRunner:
    return CompositeRunner(
        REPO_ROOT,
        workspace=workspace,
        runner_temp=runner_temp,
        env=base_environment(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_WORKFLOW": "mlops-ci PR report",
                **env,
            }
        ),
        github={"token": TOKEN, "action_path": str(REPO_ROOT)},
        uses_outputs={"install": {"python": sys.executable}},
    )


def test_fork_report_is_saved_then_posted_from_workflow_run(
    sample_project: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    root = sample_project.root
    subprocess.run(["git", "checkout", "-q", sample_project.pr_branch], cwd=root, check=True)
    pull = github_double.state.add_pull(
        head=sample_project.pr_branch,
        base=sample_project.main_branch,
        head_sha=sample_project.pr_sha,
    )
    repository = github_double.repository

    # 1. The report job of pr-report.yml, on the fork's pull_request event.
    event = json.loads((PAYLOADS / "derived" / "pull_request.opened.fork.json").read_text("utf-8"))
    pr = event["pull_request"]
    pr["number"] = event["number"] = pull.number
    pr["base"].update(ref=sample_project.main_branch, sha=sample_project.main_sha)
    pr["base"]["repo"] = dict(pr["base"]["repo"], full_name=repository)
    pr["head"].update(ref=sample_project.pr_branch, sha=sample_project.pr_sha)
    event["repository"] = dict(event["repository"], full_name=repository)
    report_event = tmp_path / "pull_request.json"
    report_event.write_text(json.dumps(event), encoding="utf-8")
    report_temp = tmp_path / "report-job"
    report_temp.mkdir()
    report_step = _step("pr-report.yml", "report")
    report_args = _expand(
        report_step["with"]["args"], {"runner.temp": str(report_temp), "inputs.args": ""}
    )
    report = _runner(
        root,
        report_temp,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(report_event),
        GITHUB_REPOSITORY=repository,
        GITHUB_API_URL=github_double.base_url,
        GITHUB_RUN_ID=RUN_ID,
        GITHUB_SHA=sample_project.pr_sha,
    ).run({"command": "report", "args": report_args}, only={"run", "publish"})
    assert report.failed is None, report.steps[-1].stdout + report.steps[-1].stderr
    assert github_double.state.comments_on(pull.number) == [], "a fork's run must not post"

    # 2. upload-artifact of pr-report.yml, then download-artifact of pr-report-post.yml.
    upload = _step("pr-report.yml", "actions/upload-artifact@")
    uploaded = Path(_expand(upload["with"]["path"], {"runner.temp": str(report_temp)}))
    post_temp = tmp_path / "post-job"
    shutil.copytree(uploaded, post_temp / "mlops-ci-bundle")
    assert sorted(p.name for p in (post_temp / "mlops-ci-bundle").iterdir()) == [
        "metadata.json",
        "report.json",
    ]

    # 3. The post job of pr-report-post.yml, on the workflow_run event, in a trusted
    #    checkout (the sample's main branch stands in for the default branch).
    run_event = json.loads((PAYLOADS / "workflow_run.completed.json").read_text("utf-8"))
    run_event["workflow_run"].update(
        id=int(RUN_ID),
        name="mlops-ci PR report",
        event="pull_request",
        head_sha=sample_project.pr_sha,
        pull_requests=[],  # as GitHub sends it for a fork
    )
    run_event["repository"] = dict(run_event["repository"], full_name=repository)
    post_event = tmp_path / "workflow_run.json"
    post_event.write_text(json.dumps(run_event), encoding="utf-8")
    trusted = tmp_path / "trusted"
    subprocess.run(["git", "clone", "-q", str(sample_project.origin), str(trusted)], check=True)
    post_step = _step("pr-report-post.yml", "post")
    post_args = _expand(
        post_step["with"]["args"],
        {"runner.temp": str(post_temp), "github.event.workflow_run.id": RUN_ID},
    )
    post = _runner(
        trusted,
        post_temp,
        GITHUB_EVENT_NAME="workflow_run",
        GITHUB_EVENT_PATH=str(post_event),
        GITHUB_REPOSITORY=repository,
        GITHUB_API_URL=github_double.base_url,
        GITHUB_RUN_ID="5151",
    ).run({"command": "post", "args": post_args}, only={"run", "publish"})
    assert post.failed is None, post.steps[-1].stdout + post.steps[-1].stderr
    assert post.outputs["gate"] in ("pass", "fail")
    assert post.outputs["comment-url"].startswith("https://github.com/")
    assert len(github_double.state.comments_on(pull.number)) == 1
