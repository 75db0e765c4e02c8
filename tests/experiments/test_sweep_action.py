"""`sweep plan` and `sweep run` through the composite action's real run step, as the
sweep workflow calls them (command `sweep`, the cell in the step's environment)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.services.shared.sample_project import SampleProject

from .conftest import SWEEP_CONFIG

composite = pytest.importorskip("workflows.composite")

REPO = Path(__file__).resolve().parents[2]
TOKEN = "ghs_sweepactiontoken000000000000000000001"


def _runner(workspace: Path, temp: Path, **env: str) -> Any:
    version = ".".join(str(v) for v in sys.version_info[:3])
    return composite.CompositeRunner(
        REPO,
        workspace=workspace,
        runner_temp=temp,
        env=composite.base_environment({"GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", **env}),
        github={"token": TOKEN, "action_path": str(REPO), "workspace": str(workspace)},
        uses_outputs={
            "python": {"python-path": sys.executable, "python-version": version},
            "install": {"python": sys.executable},
        },
    )


def _explain(run: Any) -> str:
    return "\n".join(f"--- {s.name} ({s.returncode})\n{s.stdout}\n{s.stderr}" for s in run.steps)


def test_plan_and_a_failing_cell_through_the_action(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    root = sample_project.root
    with (root / "mlops-ci.yaml").open("a") as handle:
        handle.write(SWEEP_CONFIG)
    temp = tmp_path / "runner-temp"
    temp.mkdir()

    plan = _runner(root, temp).run(
        {
            "command": "sweep",
            "args": f'plan --output "{temp}/mlops-ci-sweep/matrix.json"',
            "config": "mlops-ci.yaml",
        },
        only={"run"},
    )
    assert plan.failed is None, _explain(plan)
    matrix = json.loads((temp / "mlops-ci-sweep" / "matrix.json").read_text())
    assert plan.step("run").outputs["matrix"] == json.dumps(matrix, separators=(",", ":"))
    cell = matrix["include"][-1]
    assert cell == {"id": "r10", "set": "train.model.n_estimators=0"}

    bundle = temp / "mlops-ci-sweep" / "bundle"
    run = _runner(root, temp, MLOPS_CI_SWEEP_SET=cell["set"], MLOPS_CI_SWEEP_ID=cell["id"]).run(
        {"command": "sweep", "args": f'run --output "{bundle}"', "config": "mlops-ci.yaml"},
        only={"run"},
    )
    # A failed cell still succeeds as a step, so that its bundle is uploaded.
    assert run.failed is None, _explain(run)
    assert "::warning::sweep run r10 failed" in run.step("run").stdout
    record = json.loads((bundle / "record.json").read_text())
    assert record["id"] == "r10"
    assert record["status"] == "failed"
    assert record["set"] == {"train.model.n_estimators": 0}
