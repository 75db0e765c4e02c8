"""The pull request's code never reaches the token when the report runs the way the
action runs it: the action's own steps (action.yml, executed in bash by the composite
harness) with a sentinel token as `github-token` and another in the job's
`GITHUB_TOKEN`.

The pull request commits a pipeline stage that reads `/proc/<pid>/environ` of every
process it can (its ancestors included: the shell, DVC, mlops-ci) and a `dvc/` and an
`mlops_ci/` package that leave a marker when imported. Neither finds anything, and the
comment still reaches the GitHub double from the action's publish step. A control run
shows the scan does find a token that sits in mlops-ci's own environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from github_data import github_data
from workflows.composite import CompositeRunner, base_environment

from mlops_ci.services.shared.sample_project import SampleProject

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = github_data("payloads")
SENTINEL = "ghs_ISOLATIONsentinel0123456789abcdefABCD07"
JOB_SENTINEL = "ghs_ISOLATIONjobtoken9876543210fedcbaFEDC08"

SCAN_PY = """\
import json, os, pathlib, sys
secrets = [s.encode() for s in {secrets!r}]
found, readable, ancestors = [], 0, []
for proc in pathlib.Path("/proc").iterdir():
    if not proc.name.isdigit():
        continue
    try:
        data = (proc / "environ").read_bytes()
    except OSError:
        continue
    readable += 1
    if any(s in data for s in secrets):
        found.append(proc.name)
pid = os.getppid()
while pid > 1:
    try:
        environ = pathlib.Path(f"/proc/{{pid}}/environ").read_bytes()
        cmdline = pathlib.Path(f"/proc/{{pid}}/cmdline").read_bytes().replace(b"\\0", b" ")
        status = pathlib.Path(f"/proc/{{pid}}/status").read_text()
    except OSError:
        break
    ancestors.append(cmdline.decode("utf-8", "replace")[:200])
    pid = int(next(l for l in status.splitlines() if l.startswith("PPid:")).split()[1])
pathlib.Path({out!r}).write_text(json.dumps(
    {{"found": found, "readable": readable, "ancestors": ancestors}}
))
sys.exit(1 if found else 0)
"""

MARKER_PACKAGE = """\
import pathlib
pathlib.Path({marker!r}).write_text("imported from the pull request's checkout")
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def _hostile_pull_request(sample: SampleProject, tmp_path: Path) -> tuple[str, Path, Path]:
    """Commit the scanning stage and the two marker packages to the PR branch."""
    root = sample.root
    _git(root, "checkout", "-q", sample.pr_branch)
    scan_out = tmp_path / "scan.json"
    marker = tmp_path / "imported.txt"
    (root / "scan.py").write_text(
        SCAN_PY.format(secrets=[SENTINEL, JOB_SENTINEL], out=str(scan_out))
    )
    for package in ("dvc", "mlops_ci"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text(MARKER_PACKAGE.format(marker=str(marker)))
    dvc_yaml = root / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text() + "  scan:\n    cmd: python scan.py\n")
    _git(root, "add", "scan.py", "dvc", "mlops_ci", "dvc.yaml")
    _git(root, "commit", "-q", "-m", "a hostile pull request")
    return _git(root, "rev-parse", "HEAD"), scan_out, marker


def _event(path: Path, double: Any, sample: SampleProject, number: int, head_sha: str) -> None:
    event = json.loads((PAYLOADS / "pull_request.opened.json").read_text(encoding="utf-8"))
    owner, name = double.repository.split("/")
    repo = dict(event["repository"], full_name=double.repository, name=name)
    repo["owner"] = dict(repo["owner"], login=owner)
    repo["default_branch"] = sample.main_branch
    pr = event["pull_request"]
    pr["number"] = event["number"] = number
    pr["head"] = dict(pr["head"], ref=sample.pr_branch, sha=head_sha, repo=repo)
    pr["base"] = dict(pr["base"], ref=sample.main_branch, sha=sample.main_sha, repo=repo)
    event["repository"] = repo
    path.write_text(json.dumps(event), encoding="utf-8")


def _runner_env(double: Any, event_path: Path, head_sha: str, number: int) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "RUNNER_OS": "Linux",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": double.repository,
        "GITHUB_API_URL": double.base_url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_SHA": head_sha,
        "GITHUB_REF": f"refs/pull/{number}/merge",
        "GITHUB_RUN_ID": "4343",
        "GITHUB_WORKFLOW": "mlops-ci PR report",
    }


def test_the_pipeline_and_a_committed_dvc_package_find_no_token(
    sample_project: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    head_sha, scan_out, marker = _hostile_pull_request(sample_project, tmp_path)
    pull = github_double.state.add_pull(
        head=sample_project.pr_branch, base=sample_project.main_branch, head_sha=head_sha
    )
    event_path = tmp_path / "event.json"
    _event(event_path, github_double, sample_project, pull.number, head_sha)
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    # The job's own `env:` often carries GITHUB_TOKEN too: it must not get through either.
    env = _runner_env(github_double, event_path, head_sha, pull.number)
    runner = CompositeRunner(
        REPO_ROOT,
        workspace=sample_project.root,
        runner_temp=runner_temp,
        env=base_environment({**env, "GITHUB_TOKEN": JOB_SENTINEL}),
        github={"token": SENTINEL, "action_path": str(REPO_ROOT)},
        uses_outputs={"install": {"python": sys.executable}},
    )
    assert SENTINEL not in os.environ.values(), "the test process itself must not hold it"
    run = runner.run(
        {"command": "report", "args": f"--publish auto --output {tmp_path / 'out'}"},
        only={"run", "publish"},
    )

    explain = "\n".join(f"--- {s.id} ({s.returncode})\n{s.stdout}\n{s.stderr}" for s in run.steps)
    scan = json.loads(scan_out.read_text())
    assert scan["found"] == [], explain
    # The scan could see its ancestors (the shell DVC started, DVC, mlops-ci), so it
    # would have found a token there.
    assert any("mlops_ci" in a or "mlops-ci" in a for a in scan["ancestors"]), scan
    assert not marker.exists(), "a package from the pull request's checkout was imported"
    assert run.failed is None or run.failed.returncode == 2, explain
    assert run.step("publish").returncode in (0, 2), explain
    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 1, explain
    # (A failed gate makes the publish step exit 2 after posting: the action's outputs
    # are then not resolved by the harness, the steps' are.)
    assert run.step("publish").outputs["comment-url"].startswith("https://github.com/")
    assert run.step("run").outputs["gate"] in ("pass", "fail")


def test_control_a_token_in_mlops_ci_s_own_environment_is_found_by_the_stage(
    sample_project: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    """Why the action splits the steps: `/proc/<pid>/environ` is the environment a
    process started with, so a single process that holds the token and runs the
    pipeline exposes it to every stage, however its children's environments are built."""
    _, scan_out, marker = _hostile_pull_request(sample_project, tmp_path)
    env = base_environment({"MLOPS_CI_GITHUB_TOKEN": SENTINEL})
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "mlops_ci", "report", "--publish", "local", "--quiet"],
        cwd=sample_project.root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    scan = json.loads(scan_out.read_text())
    assert scan["found"], (scan, proc.stdout, proc.stderr)
    assert proc.returncode == 1, "the stage failed, so the pipeline did"
    assert not marker.exists(), "python -P and `python -P -m dvc` import nothing from the checkout"
