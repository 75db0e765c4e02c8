"""`release` and `promote` refuse a version whose commit cannot be reproduced from the
DVC remote (its outputs were never pushed), on the real sample project."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from ontag_helpers import MODEL, git, run_cli

from mlops_ci.adapters.process import tool_env
from mlops_ci.services.shared.sample_project import SampleProject
from mlops_ci.services.shared.verify import verify


def test_release_and_promote_refuse_outputs_that_were_never_pushed(
    sample_project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sample_project.root
    assert verify(root, "main").ok
    assert run_cli(capsys, root, "register", MODEL, "--version", "v0.1.0").code == 0
    pushed = run_cli(capsys, root, "release", "--tag", f"{MODEL}@v0.1.0", "--dry-run")
    assert pushed.code == 0, pushed.err

    git(root, "checkout", "-q", "-b", "retrain")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["n_estimators"] = 11
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(
        [sys.executable, "-m", "dvc", "repro", "-q"],
        cwd=root, check=True, capture_output=True, env=tool_env(),
    )  # fmt: skip
    git(root, "commit", "-qam", "retrain without dvc push")
    assert run_cli(capsys, root, "register", MODEL, "--version", "v0.2.0").code == 0

    release = run_cli(capsys, root, "release", "--tag", f"{MODEL}@v0.2.0", "--dry-run")
    assert release.code == 2
    assert "release of cancer-classifier@v0.2.0 refused" in release.err
    assert "outputs not in the DVC remote: models/model.pkl" in release.err
    assert "dvc push" in release.err
    assert not (root / ".mlops-ci" / "release" / f"{MODEL}@v0.2.0").exists()

    promote = run_cli(capsys, root, "promote", MODEL, "--stage", "staging", "--version", "v0.2.0")
    assert promote.code == 2
    assert "models/model.pkl" in promote.err
    assert not [t for t in git(root, "tag", "--list").splitlines() if "#staging" in t]
