"""The sweep's reusable workflow and starter template: linters, least privilege, and the
glue step that turns the plan into the matrix, run for real in bash."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_ci.services.shared.sample_project import SampleProject

from .conftest import SWEEP_CONFIG, cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "sweep.yml"
TEMPLATE = REPO / "workflows-templates" / "sweep.yml"
PROPERTIES = REPO / "workflows-templates" / "sweep.properties.json"


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    # PyYAML reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


BINDIR = str(Path(sys.executable).parent)


def _tool(name: str) -> str:
    found = shutil.which(name, path=BINDIR) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


@pytest.mark.lint
@pytest.mark.parametrize(
    "command",
    [
        ["actionlint", str(WORKFLOW), str(TEMPLATE)],
        ["zizmor", "--offline", "--persona=auditor", str(WORKFLOW), str(TEMPLATE)],
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOW),
         str(TEMPLATE)],
    ],
    ids=["actionlint", "zizmor", "check-jsonschema"],
)  # fmt: skip
def test_linters_find_nothing(command: list[str]) -> None:
    tool = _tool(command[0])
    # actionlint runs shellcheck on every `run:` script when it finds it on PATH.
    env = {**os.environ, "PATH": BINDIR + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(
        [tool, *command[1:]], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_job_has_least_permissions_and_a_time_limit() -> None:
    workflow = _load(WORKFLOW)
    assert workflow["permissions"] == {}
    assert "workflow_call" in workflow["on"]
    assert workflow["concurrency"]["cancel-in-progress"] is True
    expected = {
        "plan": {"contents": "read"},
        "run": {"contents": "read"},
        "merge": {"contents": "read", "pull-requests": "write"},
    }
    for name, job in workflow["jobs"].items():
        assert job["permissions"] == expected[name], name
        assert "timeout-minutes" in job, name
    template = _load(TEMPLATE)
    assert template["permissions"] == {}
    assert template["jobs"]["sweep"]["permissions"] == expected["merge"]


def test_actions_are_pinned_by_the_same_shas_as_the_other_workflows() -> None:
    known = set()
    for path in (REPO / ".github" / "workflows").glob("*.yml"):
        if path != WORKFLOW:
            known |= set(re.findall(r"uses: (\S+@[0-9a-f]{40} # \S+)", path.read_text()))
    ours = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text())
    assert ours
    for ref, comment in ours:
        if ref == "$/.":
            continue
        assert f"{ref}{comment}".strip() in known, f"{ref} is not pinned like the others"


def test_the_cell_reaches_the_job_through_env_only() -> None:
    text = WORKFLOW.read_text()
    for block in re.findall(r"run: \|\n((?:\s{10,}.*\n)+)", text):
        assert "${{" not in block
    run_step = next(
        s for s in _load(WORKFLOW)["jobs"]["run"]["steps"] if s.get("name") == "Run the cell"
    )
    assert run_step["env"]["MLOPS_CI_SWEEP_SET"] == "${{ matrix.set }}"
    assert "matrix" not in run_step["with"]["args"]


def test_properties_match_the_other_templates() -> None:
    ours = json.loads(PROPERTIES.read_text())
    other = json.loads((REPO / "workflows-templates" / "pr-report.properties.json").read_text())
    assert set(ours) == set(other)
    assert ours["name"] == _load(TEMPLATE)["name"]


def test_the_expose_step_turns_the_real_plan_into_a_step_output(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    root = sample_project.root
    with (root / "mlops-ci.yaml").open("a") as handle:
        handle.write(SWEEP_CONFIG)
    temp = tmp_path / "runner-temp"
    plan_file = temp / "mlops-ci-sweep" / "matrix.json"
    cli("sweep", "plan", "--output", str(plan_file), cwd=root)
    step = next(s for s in _load(WORKFLOW)["jobs"]["plan"]["steps"] if s.get("id") == "matrix")
    output = tmp_path / "github-output"
    output.write_text("")
    proc = subprocess.run(
        ["bash", "-c", step["run"]],
        env={"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(temp), "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    name, _, value = output.read_text().rstrip("\n").partition("=")
    assert name == "matrix"
    matrix = json.loads(value)  # what fromJSON() gets
    assert len(matrix["include"]) == 10
    assert matrix["include"][9] == {"id": "r10", "set": "train.model.n_estimators=0"}
