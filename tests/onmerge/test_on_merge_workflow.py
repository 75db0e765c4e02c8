"""The on-merge reusable workflow and its starter: what the linters cannot check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "on-merge.yml"
TEMPLATE = REPO_ROOT / "workflows-templates" / "on-merge.yml"


def _load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data


def _uses(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"^\s*-?\s*uses:\s*(.+?)\s*$", text, re.M))


def test_least_privilege_one_run_per_branch_full_history() -> None:
    wf = _load(WORKFLOW)
    assert list(wf["on"]) == ["workflow_call"]
    assert wf["permissions"] == {}
    job = wf["jobs"]["on-merge"]
    assert job["permissions"] == {"contents": "write"}
    assert job["runs-on"] == "${{ inputs.runs-on }}"
    assert job["timeout-minutes"] == "${{ inputs.timeout-minutes }}"
    assert "github.ref" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] is False
    checkout = next(s for s in job["steps"] if s["uses"].startswith("actions/checkout@"))
    assert checkout["with"] == {"fetch-depth": 0, "fetch-tags": True, "persist-credentials": False}
    run = next(s for s in job["steps"] if s["uses"] == "$/.")
    assert run["with"]["command"] == "on-merge"
    assert "--release" in run["with"]["args"]


def test_actions_are_pinned_exactly_as_in_the_other_reusable_workflows() -> None:
    pinned = _uses(REPO_ROOT / ".github" / "workflows" / "release.yml")
    assert _uses(WORKFLOW) <= pinned


def test_the_starter_runs_on_pushes_to_the_default_branch() -> None:
    template = _load(TEMPLATE)
    assert template["on"] == {"push": {"branches": ["$default-branch"]}}
    assert template["permissions"] == {}
    job = template["jobs"]["on-merge"]
    assert job["uses"] == "mlops-ci/mlops-ci/.github/workflows/on-merge.yml@v1"
    assert job["permissions"] == {"contents": "write"}
    inputs = _load(WORKFLOW)["on"]["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(inputs)
