"""Helpers for the PR report tests (imported by tests and by conftest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.services.report import ReportOutcome, ReportRequest, generate_report
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.sample_project import SampleProject

RUNNER_VARS = ("GITHUB_", "CI", "RUNNER_")


def local_env(**extra: str) -> dict[str, str]:
    """The process environment without any runner variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_VARS)}
    env.update(extra)
    return env


def checkout_pr(sample: SampleProject) -> None:
    """Check out the PR branch with its DVC outputs, as a CI checkout would have it."""
    subprocess.run(["git", "checkout", "-q", sample.pr_branch], cwd=sample.root, check=True)
    subprocess.run(
        [sys.executable, "-m", "dvc", "checkout", "-q"],
        cwd=sample.root,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )


def dvc_oracle(root: Path, base: str, kind: str, targets: list[str]) -> dict[str, Any]:
    """`dvc metrics|params diff --json --all BASE` against the workspace."""
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", kind, "diff", "--json", "--all", base, "--targets", *targets],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    return json.loads(proc.stdout or "{}")  # type: ignore[no-any-return]


def run_report(root: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> ReportOutcome:
    kwargs.setdefault("run", False)
    kwargs.setdefault("publish", "none")
    request = ReportRequest(root=root, **kwargs)
    return generate_report(request, Job.from_environ(dict(env if env is not None else local_env())))


@dataclass
class Reported:
    sample: SampleProject
    outcome: ReportOutcome
    lines: list[str]


TOKEN = "ghs_reporttesttoken000000000000000000001"


def rewrite_pr_payload(
    payload: dict[str, Any],
    *,
    sample: SampleProject,
    repository: str,
    number: int,
    head_repository: str | None = None,
) -> dict[str, Any]:
    """Point a real pull_request payload at the sample repository's commits and the double."""
    pr = payload["pull_request"]
    payload["number"] = number
    pr["number"] = number
    payload["repository"]["full_name"] = repository
    pr["base"]["repo"]["full_name"] = repository
    pr["head"]["repo"]["full_name"] = head_repository or repository
    pr["base"].update(ref=sample.main_branch, sha=sample.main_sha)
    pr["head"].update(ref=sample.pr_branch, sha=sample.pr_sha)
    if "before" in payload:
        payload["before"] = sample.main_sha
        payload["after"] = sample.pr_sha
    return payload


def runner_env(
    tmp: Path,
    *,
    event_name: str,
    payload: dict[str, Any],
    repository: str,
    api_url: str,
    sha: str,
    run_id: str = "4242",
    workflow: str = "PR report",
) -> dict[str, str]:
    """The variables a runner sets, with the event payload, output and summary files."""
    event = tmp / f"event-{event_name}.json"
    event.write_text(json.dumps(payload))
    output = tmp / "github_output"
    summary = tmp / "step_summary"
    output.touch()
    summary.touch()
    return local_env(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY=repository,
        GITHUB_API_URL=api_url,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_TOKEN=TOKEN,
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKFLOW=workflow,
        GITHUB_RUN_ID=run_id,
        GITHUB_SHA=sha,
    )


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file (`name<<DELIM` blocks) as the runner does."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        value: list[str] = []
        i += 1
        while lines[i] != delimiter:
            value.append(lines[i])
            i += 1
        outputs[name] = "\n".join(value)
        i += 1
    return outputs


def run_cli(args: list[str], env: Mapping[str, str], monkeypatch: Any) -> int:
    """Run `mlops-ci ARGS` in-process with exactly `env`; return the exit code."""
    from mlops_ci.cli import main

    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def pull_request_env(
    tmp: Path,
    sample: SampleProject,
    double: Any,
    payloads: Path,
    *,
    head_sha: str | None = None,
    head_repository: str | None = None,
    payload_name: str = "pull_request.synchronize.json",
) -> dict[str, str]:
    """A runner's environment for a pull request of the sample that the double knows.

    The real payload `payload_name` is pointed at the sample's commits (head `head_sha`,
    default the PR branch's) and at a pull request registered in the double.
    """
    head = head_sha or sample.pr_sha
    pull = double.state.add_pull(head=sample.pr_branch, base=sample.main_branch, head_sha=head)
    payload = rewrite_pr_payload(
        json.loads((payloads / payload_name).read_text()),
        sample=sample,
        repository=double.repository,
        number=pull.number,
        head_repository=head_repository,
    )
    payload["pull_request"]["head"]["sha"] = head
    return runner_env(
        tmp,
        event_name="pull_request",
        payload=payload,
        repository=double.repository,
        api_url=double.base_url,
        sha=head,
    )
