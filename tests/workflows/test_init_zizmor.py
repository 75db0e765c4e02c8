"""What `mlops-ci init --with all` writes is clean for zizmor in a user's repository:
default configuration (none of this project's `.github/zizmor.yml`), auditor persona.
The one finding accepted by design is ignored inline, with its reason, in the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.services.shared.sample_project import SampleProject
from tests.workflows.test_lint import _actionlint, _env, _tool, _workflows

pytestmark = pytest.mark.lint

SHA = "0123456789abcdef0123456789abcdef01234567"
CALLS = "mlops-ci/mlops-ci/.github/workflows/"


def _zizmor(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [_tool("zizmor"), "--offline", "--persona=auditor", "--no-progress", "--no-config"]
    return subprocess.run(
        [*args, *extra, ".github/workflows"],
        cwd=root, env=_env(), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture
def initialised(sample_project: SampleProject) -> Path:
    """The sample project, a scratch repository that has never seen mlops-ci, after
    `mlops-ci init --with all` pinned to a release commit."""
    root = sample_project.root
    (root / "mlops-ci.yaml").unlink()
    assert not (root / ".github").exists()
    result = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "init", "--with", "all",
         "--ref", SHA, "--ref-tag", "v1.2.3"],
        cwd=root, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # a release pin needs no note
    return root


def test_every_call_of_mlops_ci_is_pinned_by_commit(initialised: Path) -> None:
    calls = [
        line.split("uses: ", 1)[1]
        for path in sorted((initialised / ".github" / "workflows").glob("*.yml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if "uses: mlops-ci/" in line
    ]
    assert len(calls) == 9
    for call in calls:
        if call.startswith(CALLS):
            assert call.endswith(f".yml@{SHA} # v1.2.3"), call
        else:  # the composite action, called by batch-predict.yml
            assert call == f"mlops-ci/mlops-ci@{SHA} # v1.2.3", call


def test_zizmor_reports_nothing_without_our_config(initialised: Path) -> None:
    assert not (initialised / ".github" / "zizmor.yml").exists()
    result = _zizmor(initialised)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_the_only_accepted_finding_is_the_posters_trigger(initialised: Path) -> None:
    """Without ignore comments zizmor finds exactly what is ignored inline: the
    `workflow_run` trigger of the fork poster, whose line says why it is safe."""
    result = _zizmor(initialised, "--no-ignores", "--format=json")
    findings = json.loads(result.stdout)
    found = [
        (finding["ident"], {loc["symbolic"]["key"]["Local"]["verbatim_path"] for loc in locations})
        for finding in findings
        for locations in [finding["locations"]]
    ]
    assert found == [("dangerous-triggers", {".github/workflows/pr-report-post.yml"})]
    poster = (initialised / ".github" / "workflows" / "pr-report-post.yml").read_text("utf-8")
    line = next(x for x in poster.splitlines() if x.strip().startswith("workflow_run:"))
    assert "# zizmor: ignore[dangerous-triggers] never runs the pull request's code" in line


def test_actionlint_accepts_the_pinned_output(initialised: Path) -> None:
    _actionlint(_workflows(initialised), initialised)
