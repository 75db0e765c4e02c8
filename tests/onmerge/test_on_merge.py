"""`mlops-ci on-merge` on the real sample project (git + DVC + scikit-learn, a local
DVC remote and a bare origin), run as a runner runs it on a push to `main`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from github_data import github_data

from mlops_ci.cli import main
from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
SHADOW = "cancer-shadow"


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, env=os.environ
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def _cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main([*args, "--root", str(root)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _origin_tags(root: Path) -> set[str]:
    lines = _git(root, "ls-remote", "--tags", "origin").splitlines()
    return {line.split("refs/tags/")[1] for line in lines if not line.endswith("^{}")}


def _configure(root: Path, *, on_merge: bool, gate_min: float = 0.85) -> None:
    """Register the model on merge (minor bump), beside a manual `cancer-shadow` model."""
    config = root / "mlops-ci.yaml"
    data = yaml.safe_load(config.read_text())
    data["metrics"]["gates"]["accuracy"]["min"] = gate_min
    if on_merge:
        data["models"][MODEL].update(register="on-merge", bump="minor")
    data["models"][SHADOW] = {"path": "models/model.pkl"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    _git(root, "commit", "-qam", "Register the model on merge")


def _on_github(monkeypatch: pytest.MonkeyPatch, double: Any) -> None:
    from mlops_ci.adapters import github as adapter

    # Pacing writes protects github.com from bursts; the local double needs none.
    monkeypatch.setitem(adapter.GitHubRepo.__init__.__kwdefaults__, "seconds_between_writes", None)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test_token_for_the_double")
    monkeypatch.setenv("GITHUB_REPOSITORY", double.repository)
    monkeypatch.setenv("GITHUB_API_URL", double.base_url)


def _runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, root: Path) -> dict[str, Path]:
    """The variables a runner sets for a push to main, with the real push payload."""
    source = github_data("payloads", "push.branch.json")
    event: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    event["ref"] = "refs/heads/main"
    event["after"] = _git(root, "rev-parse", "HEAD")
    event["repository"].update(
        full_name="octo-org/mlops-demo", default_branch="main", master_branch="main"
    )
    files = {
        "event": tmp_path / "event.json",
        "output": tmp_path / "output.txt",
        "summary": tmp_path / "summary.md",
    }
    files["event"].write_text(json.dumps(event), encoding="utf-8")
    for name in ("output", "summary"):
        files[name].write_text("")
    for key, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(files["event"]),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
    }.items():
        monkeypatch.setenv(key, value)
    return files


def test_a_merge_that_passes_gates_registers_one_version_and_a_rerun_changes_nothing(
    sample_project: SampleProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    github_double: Any,
) -> None:
    root = sample_project.root
    assert _cli(capsys, root, "register", MODEL, "--version", "v0.1.0", "--push")[0] == 0
    _configure(root, on_merge=True)
    _git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #1", sample_project.pr_branch)
    _git(root, "push", "-q", "origin", "main")
    head = _git(root, "rev-parse", "HEAD")
    files = _runner(monkeypatch, tmp_path, root)
    _on_github(monkeypatch, github_double)
    before = _origin_tags(root)

    code, out, err = _cli(capsys, root, "on-merge", "--release", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["pulled"] is True
    assert data["lock"] == "current"
    assert data["outputs_pushed"] is True
    by_model = {m["model"]: m for m in data["models"]}
    assert by_model[MODEL]["status"] == "registered"
    assert by_model[MODEL]["version"] == "v0.2.0"  # minor bump over v0.1.0
    assert by_model[SHADOW]["status"] == "manual"
    new = _origin_tags(root) - before
    assert new == {f"{MODEL}@v0.2.0"}
    assert _git(root, "rev-parse", f"{MODEL}@v0.2.0^{{commit}}") == head
    assert _git(root, "cat-file", "-t", f"{MODEL}@v0.2.0") == "tag"
    assert f"{MODEL}@v0.2.0" in files["output"].read_text()
    assert "registered v0.2.0" in files["summary"].read_text()
    # Tags pushed with the job token start no release workflow: the run released it.
    [release] = github_double.state.releases_for_tag(f"{MODEL}@v0.2.0")
    assert not release.draft
    assert by_model[MODEL]["release"]["published"] is True

    local_tags = _git(root, "tag", "--list")
    code, out, err = _cli(capsys, root, "on-merge", "--release", "--json")
    assert code == 0, err
    again = {m["model"]: m for m in json.loads(out)["models"]}
    assert again[MODEL]["status"] == "already-registered"
    assert again[MODEL]["version"] == "v0.2.0"
    assert _origin_tags(root) - before == new
    assert _git(root, "tag", "--list") == local_tags
    assert len(github_double.state.releases_for_tag(f"{MODEL}@v0.2.0")) == 1


def test_manual_models_are_not_registered_and_failing_gates_register_nothing(
    sample_project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sample_project.root
    code, out, err = _cli(capsys, root, "on-merge", "--no-run", "--json")
    assert code == 0, err
    assert [(m["model"], m["status"]) for m in json.loads(out)["models"]] == [(MODEL, "manual")]
    assert _git(root, "tag", "--list") == ""

    _configure(root, on_merge=True, gate_min=0.99)
    code, out, err = _cli(capsys, root, "on-merge", "--no-run", "--json")
    assert code == 0, err
    outcome = json.loads(out)["models"][0]
    assert outcome["status"] == "gates-failed"
    assert "below the minimum 0.99" in outcome["reason"]
    assert _git(root, "tag", "--list") == ""


def test_a_stale_lock_on_main_fails_with_the_fix_and_registers_nothing(
    sample_project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sample_project.root
    _configure(root, on_merge=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["n_estimators"] = 41
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _git(root, "commit", "-qam", "Change params without reproducing")
    code, _, err = _cli(capsys, root, "on-merge")
    assert code == 2
    assert "dvc.lock is out of date:" in err
    assert "stage `train` (models/model.pkl, params)" in err
    assert "cannot commit to the default branch 'main'" in err
    assert "run `dvc repro` and commit `dvc.lock`" in err
    assert _git(root, "tag", "--list") == ""


def test_on_merge_refuses_other_branches(
    sample_project: SampleProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_REF", "refs/heads/feature")
    code, _, err = _cli(capsys, sample_project.root, "on-merge", "--no-run")
    assert code == 1
    assert "default branch 'main', not 'feature'" in err
