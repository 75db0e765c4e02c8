"""`mlops-ci verify` on the real sample project and its real local DVC remote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_ci.adapters.process import tool_env
from mlops_ci.services.shared.sample_project import SampleProject
from mlops_ci.services.shared.verify import verify

DVC = [sys.executable, "-m", "dvc"]


def _remote_object(remote: Path, md5: str) -> Path:
    return remote / "files" / "md5" / md5[:2] / md5[2:]


def _locked_md5(root: Path, stage: str, path: str) -> str:
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == path)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_ci", "verify", "--root", str(root), *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_pushed_commits_verify(sample_project: SampleProject) -> None:
    for ref in ("main", sample_project.pr_branch):
        result = verify(sample_project.root, ref)
        assert result.ok, result.summary()
        assert {"data/breast_cancer.csv", "data/prepared", "models/model.pkl"} <= set(
            result.checked
        )
        assert "metrics.json" in result.checked


def test_missing_model_is_named_and_exit_2(sample_project: SampleProject) -> None:
    root = sample_project.root
    md5 = _locked_md5(root, "train", "models/model.pkl")
    _remote_object(sample_project.remote, md5).unlink()
    result = verify(root, "main")
    assert not result.ok
    assert [m.path for m in result.missing] == ["models/model.pkl"]
    out = _cli(root, "--ref", "main")
    assert out.returncode == 2
    assert "models/model.pkl" in out.stderr
    assert "Traceback" not in out.stderr


def test_file_missing_inside_a_directory_output(sample_project: SampleProject) -> None:
    root = sample_project.root
    dir_md5 = _locked_md5(root, "prepare", "data/prepared")
    manifest = json.loads(_remote_object(sample_project.remote, dir_md5).read_text())
    _remote_object(sample_project.remote, manifest[0]["md5"]).unlink()
    result = verify(root, "main")
    assert [m.path for m in result.missing] == ["data/prepared"]
    assert "1 file(s)" in result.missing[0].reason


def test_metrics_in_git_must_match_the_lock(sample_project: SampleProject) -> None:
    root = sample_project.root
    (root / "metrics.json").write_text('{"accuracy": 0.999}\n')
    subprocess.run(["git", "commit", "-qam", "hand-edited metrics"], cwd=root, check=True)
    result = verify(root, "HEAD")
    assert [m.path for m in result.mismatched] == ["metrics.json"]
    assert verify(root, sample_project.main_sha).ok


def test_unpushed_commit_fails_and_json_lists_outputs(sample_project: SampleProject) -> None:
    root = sample_project.root
    subprocess.run(["git", "checkout", "-q", sample_project.pr_branch], cwd=root, check=True)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["n_estimators"] = 11
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run([*DVC, "repro", "-q"], cwd=root, check=True, capture_output=True, env=tool_env())
    subprocess.run(["git", "commit", "-qam", "retrain without pushing"], cwd=root, check=True)
    out = _cli(root, "--json")
    assert out.returncode == 2
    data = json.loads(out.stdout)
    assert data["ok"] is False
    assert {m["path"] for m in data["missing"]} == {"models/model.pkl"}


def test_no_remote_is_one_clear_error(sample_project: SampleProject) -> None:
    root = sample_project.root
    subprocess.run([*DVC, "remote", "remove", "local"], cwd=root, check=True, capture_output=True)
    out = _cli(root)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: DVC remote:")


@pytest.mark.parametrize("ref", ["no-such-branch"])
def test_unknown_ref(sample_project: SampleProject, ref: str) -> None:
    out = _cli(sample_project.root, "--ref", ref)
    assert out.returncode == 1
    assert "unknown revision" in out.stderr
