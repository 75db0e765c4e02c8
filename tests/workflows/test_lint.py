"""The workflow linters report nothing on the action, the workflows, the starter
templates and what `mlops-ci init` writes. A new finding fails this test.

actionlint checks the workflows (and, with shellcheck on PATH, their `run:` scripts);
it never reads action.yml (it would take it for a workflow), so the action's scripts
go to shellcheck directly. zizmor runs offline with the auditor persona and the
project's `.github/zizmor.yml`. check-jsonschema uses SchemaStore's schemas it ships.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.lint

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIZMOR_CONFIG = REPO_ROOT / ".github" / "zizmor.yml"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The tools installed next to this interpreter come first (shellcheck for actionlint).
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "ZIZMOR_CONFIG"):
        env.pop(name, None)
    env["NO_COLOR"] = "1"
    return env


def _tool(name: str) -> str:
    found = shutil.which(name, path=_env()["PATH"])
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]' provides it)")
    return found


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, check=False, timeout=300
    )


def _workflows(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / ".github" / "workflows").glob("*.y*ml"))


def _templates() -> list[str]:
    return sorted(
        str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "workflows-templates").glob("*.yml")
    )


def _actionlint(files: list[str], cwd: Path) -> None:
    actionlint = _tool("actionlint")
    _tool("shellcheck")  # without it actionlint silently skips the scripts
    result = _run([actionlint, "-no-color", *files], cwd)
    assert result.returncode == 0, result.stdout + result.stderr


def _zizmor(paths: list[str], cwd: Path) -> None:
    zizmor = _tool("zizmor")
    args = [
        zizmor,
        "--offline",
        "--persona=auditor",
        "--no-progress",
        "--config",
        str(ZIZMOR_CONFIG),
    ]
    result = _run([*args, *paths], cwd)
    assert result.returncode == 0, result.stdout + result.stderr


def _schema(schema: str, files: list[str], cwd: Path) -> None:
    check = _tool("check-jsonschema")
    result = _run([check, "--builtin-schema", schema, *files], cwd)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_workflows_and_templates() -> None:
    _actionlint([*_workflows(REPO_ROOT), *_templates()], REPO_ROOT)


def test_zizmor_action_workflows_and_templates() -> None:
    _zizmor(["action.yml", *_workflows(REPO_ROOT), *_templates()], REPO_ROOT)


def test_schemastore_workflow_schema() -> None:
    _schema("vendor.github-workflows", [*_workflows(REPO_ROOT), *_templates()], REPO_ROOT)


def test_schemastore_action_schema() -> None:
    _schema("vendor.github-actions", ["action.yml"], REPO_ROOT)


def test_shellcheck_on_the_action_scripts(tmp_path: Path) -> None:
    shellcheck = _tool("shellcheck")
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
    scripts = [s for s in action["runs"]["steps"] if "run" in s]
    assert scripts
    for index, step in enumerate(scripts):
        script = tmp_path / f"step{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        result = _run([shellcheck, "--shell=bash", "--severity=style", str(script)], tmp_path)
        assert result.returncode == 0, f"{step['name']}:\n{result.stdout}"


@pytest.fixture(scope="module")
def initialised_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small DVC-shaped repository after `mlops-ci init --with all`."""
    root = tmp_path_factory.mktemp("init-lint")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    outs: [model.joblib]\n"
        "    metrics: [{metrics.json: {cache: false}}]\n",
        encoding="utf-8",
    )
    (root / "metrics.json").write_text('{"f1": 0.9, "rmse": 1.5}\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "init", "--with", "all", "--dir", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_init_output_passes_actionlint(initialised_repo: Path) -> None:
    _actionlint(_workflows(initialised_repo), initialised_repo)


def test_init_output_passes_zizmor(initialised_repo: Path) -> None:
    _zizmor(_workflows(initialised_repo), initialised_repo)


def test_init_output_passes_the_workflow_schema(initialised_repo: Path) -> None:
    _schema("vendor.github-workflows", _workflows(initialised_repo), initialised_repo)
