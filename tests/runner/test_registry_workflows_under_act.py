"""Release, promote and monitor: the starter templates calling the reusable workflows,
executed by act on the sample project, the GitHub API being the double.

Each run starts from GitHub's own event payload (tests/data/github/payloads, a copy
with this repository and the tag or inputs in it). What the harness substitutes where
act cannot do what GitHub does, each test's name says:
- self reference: `$/.` names the snapshot (see test_workflows_under_act.py);
- cache mode: release's and promote's job `cache-mode: none` is removed, a key act
  0.2.89's schema rejects (their steps pass `cache: false` to the action, so the job
  uses no cache either way);
- github git: release checks out the tag with actions/checkout for real, and
  github.com's git is the sample's bare origin (`served_from` in act.py).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from github_data import github_data

from mlops_ci.core.markers import drift_issue_marker
from mlops_ci.services.shared.sample_project import SampleProject

from .act import ActRun, ActTools, git, run_act, served_from, take_object_format_probes
from .test_workflows_under_act import starter

pytestmark = pytest.mark.runner

MODEL = "cancer-classifier"
RELEASE_ASSETS = {
    "model.pkl", "model-card.md", "metrics.json", "params.json", "lineage.json", "SHA256SUMS",
    "signature.json", "sample.json",
}  # fmt: skip
TEMPLATES = Path(__file__).resolve().parents[2] / "workflows-templates"


def payload(name: str, double: Any, default_branch: str) -> dict[str, Any]:
    """GitHub's recorded payload `name`, its repository fields naming the double's."""
    data: dict[str, Any] = json.loads(github_data("payloads", f"{name}.json").read_text("utf-8"))
    owner, repo = double.repository.split("/")
    data["repository"].update(full_name=double.repository, name=repo, default_branch=default_branch)
    if "master_branch" in data["repository"]:
        data["repository"]["master_branch"] = default_branch
    data["repository"]["owner"]["login"] = owner
    return data


def cli(root: Path, *args: str) -> None:
    """`mlops-ci ARGS` in the project, as a person runs it on a laptop."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args, "--root", str(root)],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def register(sample: SampleProject, version: str) -> str:
    """Register `version` on main's head and push the tag; the tagged commit."""
    git(sample.root, "checkout", "-q", sample.main_branch)
    cli(sample.root, "register", MODEL, "--version", version, "--push")
    return git(sample.root, "rev-parse", f"{MODEL}@{version}^{{commit}}")


def act(
    tools: ActTools,
    sample: SampleProject,
    double: Any,
    tmp_path: Path,
    template: str,
    event: tuple[str, dict[str, Any]],
    env: dict[str, str] | None = None,
) -> ActRun:
    """One act run of starter `template` for `event` (name, payload); its log is kept
    in the test's folder, next to the event act read."""
    run = run_act(
        tools,
        workdir=sample.root,
        workflow=starter(template, tmp_path / "workflows", sample.main_branch),
        event_name=event[0],
        event=event[1],
        api_url=double.base_url,
        repository=double.repository,
        scratch=tmp_path / "act",
        env=env,
    )
    (tmp_path / "act" / "log.txt").write_text(run.log, encoding="utf-8")
    return run


def test_release_on_tag_push_self_reference_cache_mode_and_github_git_substituted(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    """The job checks out `refs/tags/<tag>`, which act does not take for the event's
    ref: actions/checkout runs for real and clones github.com's git, here the bare
    origin (`served_from`), with the full history and the tags."""
    tag = f"{MODEL}@v0.1.0"
    commit = register(act_sample, "v0.1.0")
    remote_url = f"https://github.com/{github_double.repository}"
    event = payload("push.tag", github_double, act_sample.main_branch)
    event.update(ref=f"refs/tags/{tag}", after=git(act_sample.root, "rev-parse", tag))
    env = served_from(act_sample.origin, remote_url)
    run = act(act_tools, act_sample, github_double, tmp_path, "release.yml", ("push", event), env)
    assert run.returncode == 0, run.explain()
    # The clone was real: checkout asked for the object format (see act.py).
    assert take_object_format_probes(github_double.violations) == 1
    state = github_double.state
    (release,) = state.releases_for_tag(tag)
    assert not release.draft
    assert release.target_commitish == commit
    assets = {a.name: a for a in state.release_assets(release)}
    assert set(assets) == RELEASE_ASSETS
    model = (act_sample.root / "models" / "model.pkl").read_bytes()
    assert assets["model.pkl"].data == model
    sums = assets["SHA256SUMS"].data.decode()
    assert f"{assets['model.pkl'].digest.removeprefix('sha256:')}  model.pkl" in sums
    assert state.deployments == {}
    assert state.issues == {}


def test_promote_on_workflow_dispatch_self_reference_and_cache_mode_substituted(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    commit = register(act_sample, "v0.1.0")
    event = payload("workflow_dispatch.default", github_double, act_sample.main_branch)
    event.update(
        ref=f"refs/heads/{act_sample.main_branch}",
        inputs={"model": MODEL, "version": "v0.1.0", "stage": "staging"},
    )
    dispatch = ("workflow_dispatch", event)
    run = act(act_tools, act_sample, github_double, tmp_path, "promote.yml", dispatch)
    assert run.returncode == 0, run.explain()
    stage_tag = f"{MODEL}#staging#1"
    origin = act_sample.origin
    assert git(origin, "cat-file", "-t", f"refs/tags/{stage_tag}") == "tag"  # annotated, as GTO's
    assert git(origin, "rev-parse", f"refs/tags/{stage_tag}^{{commit}}") == commit
    state = github_double.state
    (deployment,) = state.deployments.values()
    assert (deployment.environment, deployment.sha) == ("staging", commit)
    assert deployment.payload["tag"] == stage_tag
    assert github_double.latest_deployment_status(deployment.id).state == "success"
    # The version had no release: the workflow made it before promoting.
    (release,) = state.releases_for_tag(f"{MODEL}@v0.1.0")
    assert {a.name for a in state.release_assets(release)} == RELEASE_ASSETS
    assert "**Stages:** staging" in release.body


def write_drifted(source: Path, dest: Path, scale: float = 1.6) -> None:
    """The sample's data with every feature scaled (labels kept): current data after an
    instrument was recalibrated."""
    with source.open(newline="") as handle:
        rows = list(csv.reader(handle))
    target = rows[0].index("diagnosis")
    with dest.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow(
                [v if i == target else f"{float(v) * scale:.6g}" for i, v in enumerate(row)]
            )


def test_monitor_on_schedule_self_reference_substituted(
    act_tools: ActTools, act_sample: SampleProject, github_double: Any, tmp_path: Path
) -> None:
    root = act_sample.root
    git(root, "checkout", "-q", act_sample.main_branch)
    # The production holder: v1.0.0 at main's trained commit, in production (GTO's tags).
    for tag in (f"{MODEL}@v1.0.0", f"{MODEL}#production#1"):
        git(root, "tag", "-a", tag, "-m", tag, act_sample.main_sha)
    # Where the current data lands (a bucket URL in a real project; read as it is).
    current = tmp_path / "current" / "events.csv"
    current.parent.mkdir()
    write_drifted(root / "data" / "breast_cancer.csv", current)
    config = root / "mlops-ci.yaml"
    config.write_text(config.read_text("utf-8") + f"  current: {current}\n", "utf-8")
    git(root, "commit", "-q", "-am", "Monitor the events export")
    git(root, "push", "-q", "--follow-tags", "origin", act_sample.main_branch)

    # GitHub's schedule payload: the cron that fired, the repository, no ref or inputs.
    (cron,) = re.findall(r'- cron: "([^"]+)"', (TEMPLATES / "monitor.yml").read_text("utf-8"))
    dispatch = payload("workflow_dispatch.default", github_double, act_sample.main_branch)
    event = {"schedule": cron, **{k: dispatch[k] for k in ("repository", "organization", "sender")}}
    run = act(act_tools, act_sample, github_double, tmp_path, "monitor.yml", ("schedule", event))
    assert run.returncode == 0, run.explain()
    state = github_double.state
    marker = drift_issue_marker(MODEL)
    (issue,) = [i for i in state.issues.values() if marker in (i.body or "")]
    assert issue.state == "open"
    assert set(issue.labels) == {"mlops-ci", "drift"}
    assert "v1.0.0" in (issue.body or "")
    assert "`mean_radius`" in (issue.body or "")
    assert state.dispatches == []  # no retrain workflow configured
