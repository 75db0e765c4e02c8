"""`mlops-ci init`: the config it infers, the workflows it renders, and that it never
half-writes or silently overwrites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.config import parse_config
from mlops_ci.errors import InputError
from mlops_ci.services.init import (
    DEFAULT_JOURNEYS,
    Pin,
    direction_for,
    parse_journeys,
    read_template,
    render_workflow,
    suggest_config,
    suggest_gates,
)
from mlops_ci.services.shared.sample_project import SampleProject

SHA = "0123456789abcdef0123456789abcdef01234567"
ALL_WORKFLOWS = [
    "batch-predict.yml", "monitor.yml", "on-merge.yml", "pr-report-post.yml",
    "pr-report.yml", "promote.yml", "release.yml", "retrain.yml", "sweep.yml",
]  # fmt: skip


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def _snapshot(root: Path) -> dict[str, bytes]:
    files = [root / "mlops-ci.yaml", *sorted((root / ".github" / "workflows").glob("*"))]
    return {str(p.relative_to(root)): p.read_bytes() for p in files if p.is_file()}


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("accuracy", "higher"), ("f1", "higher"), ("f1_score", "higher"), ("roc_auc", "higher"),
        ("test.precision", "higher"), ("per_class.malignant.recall", "higher"), ("r2", "higher"),
        ("log_loss", "lower"), ("val.loss", "lower"), ("rmse", "lower"), ("mae", "lower"),
        ("mean_squared_error", "lower"), ("test_rows", None), ("epochs", None),
    ],
)  # fmt: skip
def test_direction_is_guessed_from_the_metric_name(metric: str, direction: str | None) -> None:
    assert direction_for(metric) == direction


def test_gates_name_the_file_when_a_key_repeats() -> None:
    gates = suggest_gates({"train.json": ["loss", "epochs"], "eval.json": ["loss", "auc"]})
    assert [(g.metric, g.direction) for g in gates] == [
        ("train.json:loss", "lower"), ("eval.json:loss", "lower"), ("auc", "higher"),
    ]  # fmt: skip


def test_journeys() -> None:
    assert parse_journeys(None) == DEFAULT_JOURNEYS
    assert parse_journeys("pr, monitor,pr") == ("pr", "monitor")
    assert parse_journeys("all") == (
        "pr", "release", "promote", "monitor", "retrain", "sweep", "on-merge", "batch-predict",
    )  # fmt: skip
    with pytest.raises(InputError, match="unknown workflow 'deploy'"):
        parse_journeys("pr,deploy")
    with pytest.raises(InputError):
        parse_journeys(" , ")


def test_render_fills_branch_ref_and_working_directory() -> None:
    text = render_workflow(
        read_template("pr-report.yml"),
        default_branch="trunk",
        pin=Pin(SHA, "v1.4.0"),
        working_directory="ml/model a",
    )
    assert "branches: [trunk]" in text
    assert f"uses: mlops-ci/mlops-ci/.github/workflows/pr-report.yml@{SHA} # v1.4.0\n" in text
    assert "@v1" not in text
    assert '      working-directory: "ml/model a"\n' in text
    untagged = render_workflow(read_template("release.yml"), default_branch="main", pin=Pin(SHA))
    assert f"release.yml@{SHA}\n" in untagged


def test_config_without_dvc_yaml_is_still_valid(tmp_path: Path) -> None:
    text = suggest_config(tmp_path)
    config = parse_config(text)
    assert config.models == {}
    assert config.metrics.gates == {}


def test_config_from_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  train:\n    cmd: python train.py\n    outs: [models/clf.joblib, data/features]\n"
        "    params: [train.lr]\n"
        "    metrics: [{eval/metrics.json: {cache: false}}]\n"
        "  export:\n    cmd: python export.py\n    outs: [models/clf.onnx]\n",
        encoding="utf-8",
    )
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "metrics.json").write_text(
        '{"test": {"auc": 0.9, "loss": 0.3, "n": 10}, "name": "x"}', encoding="utf-8"
    )
    config = parse_config(suggest_config(tmp_path))
    assert {k: g.direction for k, g in config.metrics.gates.items()} == {
        "test.auc": "higher",
        "test.loss": "lower",
    }
    assert config.params.files == ["params.yaml"]
    assert {k: m.path for k, m in config.models.items()} == {
        "clf": "models/clf.joblib",
        "clf-2": "models/clf.onnx",
    }


def test_init_on_the_sample_project_then_validate(sample_project: SampleProject) -> None:
    root = sample_project.root
    (root / "mlops-ci.yaml").unlink()

    first = cli("init", "--with", "all", cwd=root)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in (root / ".github" / "workflows").iterdir()) == ALL_WORKFLOWS
    for line in ("wrote mlops-ci.yaml", "wrote .github/workflows/promote.yml"):
        assert line in first.stdout
    assert '"mlops-ci report"' in first.stdout  # the required check, in the next steps
    assert "required reviewers" in first.stdout
    pr = (root / ".github" / "workflows" / "pr-report.yml").read_text(encoding="utf-8")
    assert "branches: [main]" in pr
    assert "$default-branch" not in pr

    validate = cli("validate", cwd=root)
    assert validate.returncode == 0, validate.stderr
    config = parse_config((root / "mlops-ci.yaml").read_text(encoding="utf-8"))
    assert config.metrics.gates["accuracy"].direction == "higher"
    assert config.metrics.gates["log_loss"].direction == "lower"
    assert config.models["model"].path == "models/model.pkl"

    before = _snapshot(root)
    again = cli("init", "--with", "all", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "Nothing changed" in again.stdout
    assert "wrote" not in again.stdout
    assert _snapshot(root) == before


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").write_text("# mine\n", encoding="utf-8")

    refused = cli("init", "--dir", str(tmp_path), cwd=tmp_path)
    assert refused.returncode == 1
    assert ".github/workflows/release.yml: already exists" in refused.stderr
    assert "--force" in refused.stderr
    # Nothing half-written: not the config, not the other workflows.
    assert not (tmp_path / "mlops-ci.yaml").exists()
    assert sorted(p.name for p in workflows.iterdir()) == ["release.yml"]
    assert (workflows / "release.yml").read_text(encoding="utf-8") == "# mine\n"

    forced = cli(
        "init", "--force", "--with", "release", "--ref", SHA, "--ref-tag", "v1.2.3",
        "--dir", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert (workflows / "release.yml").read_text(encoding="utf-8") == read_template(
        "release.yml"
    ).replace("release.yml@v1\n", f"release.yml@{SHA} # v1.2.3\n")
    assert not list(tmp_path.glob(".github/workflows/.*.tmp"))


def test_project_in_a_subdirectory(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "trunk"], cwd=tmp_path, check=True)
    project = tmp_path / "ml"
    project.mkdir()
    args = ["init", "--with", "pr", "--ref", "v1.4.0", "--json", "--dir", "ml"]
    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 1
    assert "--ref: 'v1.4.0' is a tag or branch, not a commit SHA" in refused.stderr
    assert not (project / "mlops-ci.yaml").exists()

    result = cli(*args, "--allow-unpinned", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "zizmor will report unpinned-uses" in result.stderr
    assert (project / "mlops-ci.yaml").is_file()
    text = (tmp_path / ".github" / "workflows" / "pr-report.yml").read_text(encoding="utf-8")
    assert "      working-directory: ml\n" in text
    assert "pr-report.yml@v1.4.0\n" in text
    assert "branches: [trunk]" in text


def test_unknown_journey_is_a_user_error(tmp_path: Path) -> None:
    result = cli("init", "--with", "deploy", "--dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown workflow 'deploy'" in result.stderr
    assert not (tmp_path / "mlops-ci.yaml").exists()
