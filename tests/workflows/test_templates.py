"""Structure the linters cannot check: least privilege, pinning, concurrency, the
contract between starter templates, reusable workflows, the action and the docs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_ci.services.init import JOURNEYS, read_template, template_names

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
TEMPLATES = REPO_ROOT / "workflows-templates"
REUSABLE = [
    "pr-report", "pr-report-post", "release", "promote", "monitor", "retrain", "on-merge",
]  # fmt: skip
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
CALL = re.compile(r"^mlops-ci/mlops-ci/\.github/workflows/([\w-]+\.yml)@v1$")


def _load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _uses_lines(path: Path) -> list[str]:
    return [
        m.group(1)
        for m in re.finditer(r"^\s*-?\s*uses:\s*(.+?)\s*$", path.read_text(encoding="utf-8"), re.M)
    ]


def test_package_templates_are_byte_identical_to_the_starter_workflows() -> None:
    fix = "copy workflows-templates/*.yml to mlops_ci/templates/workflows/ (init ships those)"
    shipped = template_names()
    assert shipped == sorted(p.name for p in TEMPLATES.glob("*.yml")), fix
    for name in shipped:
        assert read_template(name) == (TEMPLATES / name).read_text(encoding="utf-8"), fix
    journeys = sorted(n for names in JOURNEYS.values() for n in names)
    assert journeys == shipped, "every starter workflow needs a journey in services/init.py"


@pytest.mark.parametrize("name", REUSABLE)
def test_every_template_has_properties(name: str) -> None:
    props = json.loads((TEMPLATES / f"{name}.properties.json").read_text(encoding="utf-8"))
    assert set(props) >= {"name", "description", "iconName", "categories"}
    assert isinstance(props["categories"], list)
    assert props["categories"]
    assert all(isinstance(c, str) and c for c in props["categories"])
    assert props["name"] == _load(TEMPLATES / f"{name}.yml")["name"]


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_workflow_shape(name: str) -> None:
    wf = _load(WORKFLOWS / f"{name}.yml")
    call = wf["on"]["workflow_call"]
    assert list(wf["on"]) == ["workflow_call"]
    assert wf["permissions"] == {}
    assert "runs-on" in call["inputs"]
    for section in ("inputs", "outputs", "secrets"):
        for key, spec in (call.get(section) or {}).items():
            assert spec.get("description"), f"{name}: {section}.{key} has no description"
    for job_id, job in wf["jobs"].items():
        assert job["runs-on"] == "${{ inputs.runs-on }}", job_id
        assert job["timeout-minutes"] == "${{ inputs.timeout-minutes }}", job_id
        assert job["permissions"], job_id
        assert "write-all" not in str(job["permissions"]), job_id
        assert "concurrency" in wf or "concurrency" in job, job_id


def test_pr_report_checks_out_full_history_without_credentials() -> None:
    wf = _load(WORKFLOWS / "pr-report.yml")
    assert wf["concurrency"]["cancel-in-progress"] is True
    steps = wf["jobs"]["report"]["steps"]
    checkout = next(s for s in steps if s["uses"].startswith("actions/checkout@"))
    assert checkout["with"] == {"fetch-depth": 0, "fetch-tags": True, "persist-credentials": False}
    upload = next(s for s in steps if s["uses"].startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ !cancelled() }}"


def test_poster_never_checks_out_the_pull_request() -> None:
    wf = _load(WORKFLOWS / "pr-report-post.yml")
    job = wf["jobs"]["post"]
    assert "workflow_run.event == 'pull_request'" in job["if"]
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert "ref" not in step["with"]
            assert "repository" not in step["with"]
            assert step["with"]["persist-credentials"] is False
    download = next(s for s in job["steps"] if "download-artifact" in str(s.get("uses")))
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    template = _load(TEMPLATES / "pr-report-post.yml")
    assert template["on"]["workflow_run"]["workflows"] == [
        _load(TEMPLATES / "pr-report.yml")["name"]
    ]


def test_promotion_runs_in_the_stage_environment_one_per_model() -> None:
    job = _load(WORKFLOWS / "promote.yml")["jobs"]["promote"]
    assert job["environment"]["name"] == "${{ inputs.environment || inputs.stage }}"
    assert "inputs.model" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert job["permissions"] == {"contents": "write", "deployments": "write"}


def _all_files() -> list[Path]:
    return [REPO_ROOT / "action.yml", *(WORKFLOWS / f"{n}.yml" for n in [*REUSABLE, "self-test"])]


def test_external_actions_are_pinned_by_real_looking_sha_consistently() -> None:
    pins: dict[str, set[str]] = {}
    for path in _all_files():
        for uses in _uses_lines(path):
            if uses.startswith(("$/", "./")):
                continue
            assert SHA_PIN.match(uses), f"{path.name}: {uses} is not pinned as `@<sha> # vX.Y.Z`"
            pins.setdefault(uses.split("@")[0], set()).add(uses.split("@")[1])
    assert {a for a, shas in pins.items() if len(shas) > 1} == set(), pins


def _run_scripts(data: Any) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_run_scripts(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(_run_scripts(item))
    return found


@pytest.mark.parametrize("path", _all_files(), ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_script(path: Path) -> None:
    for script in _run_scripts(_load(path)):
        assert "${{" not in script, f"{path.name}: pass values through env:, not into run:"


def test_action_interface() -> None:
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
    assert list(action["inputs"]) == [
        "command", "args", "config", "github-token", "working-directory", "python-version",
        "extras", "serve", "cache",
    ]  # fmt: skip
    assert action["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert list(action["outputs"]) == [
        "gate", "report-path", "comment-url", "tag", "version", "stage", "drift",
    ]  # fmt: skip
    for name, spec in action["outputs"].items():
        # The comment URL comes from the publish step, which posts report's comment with
        # the token and passes every other command's URL through.
        step = "publish" if name == "comment-url" else "run"
        assert spec["value"] == "${{ steps." + step + ".outputs." + name + " }}"
    assert action["runs"]["using"] == "composite"
    run_step, publish_step = action["runs"]["steps"][-2:]
    assert (run_step["id"], publish_step["id"]) == ("run", "publish")
    assert run_step["env"]["DVC_NO_ANALYTICS"] == "1"
    assert "update-environment" in action["runs"]["steps"][0]["with"]


@pytest.mark.parametrize("name", REUSABLE)
def test_templates_call_reusable_workflows_with_declared_inputs(name: str) -> None:
    template = _load(TEMPLATES / f"{name}.yml")
    assert template["permissions"] == {}
    for job in template["jobs"].values():
        match = CALL.match(job["uses"])
        assert match, job["uses"]
        callee = _load(WORKFLOWS / match.group(1))["on"]["workflow_call"]
        assert set(job.get("with") or {}) <= set(callee.get("inputs") or {})
        assert set(job.get("secrets") or {}) <= set(callee.get("secrets") or {})
        # The caller grants at least what the called jobs ask for.
        for called in _load(WORKFLOWS / match.group(1))["jobs"].values():
            assert called["permissions"].items() <= job["permissions"].items()


def test_docs_describe_every_workflow_input_and_secret() -> None:
    docs = (REPO_ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    for name in REUSABLE:
        assert f"{name}.yml" in docs
        call = _load(WORKFLOWS / f"{name}.yml")["on"]["workflow_call"]
        for key in [*(call.get("inputs") or {}), *(call.get("secrets") or {})]:
            assert f"`{key}`" in docs, f"docs/workflows.md does not mention {name}: {key}"
