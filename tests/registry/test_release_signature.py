"""The signature a release records: the input schema of the training data DVC tracked at
the released commit, and a sample of inputs with the model's own outputs."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from registry_helpers import Repo

from mlops_ci.core.signature import Signature
from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
TAG = f"{MODEL}@v0.1.0"


@pytest.fixture
def project(sample_project: SampleProject, capsys: pytest.CaptureFixture[str]) -> Repo:
    repo = Repo(sample_project.root, capsys)
    assert repo.cli("register", MODEL, "--version", "v0.1.0", "--push", t=100).code == 0
    return repo


def test_release_records_the_schema_and_a_sample_the_model_predicts(project: Repo) -> None:
    result = project.cli("release", "--tag", TAG, "--json")
    assert result.code == 0, result.err
    data = result.json()
    directory = Path(data["directory"])
    assert {"signature.json", "sample.json"} <= set(data["assets"])
    assert "signature_missing" not in data

    signature = Signature.from_dict(json.loads((directory / "signature.json").read_text()))
    with (project.root / "data" / "breast_cancer.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert signature.names == [name for name in header if name != "diagnosis"]
    assert len(signature.features) == 30
    assert {f.dtype for f in signature.features} == {"float"}
    assert signature.target is not None
    assert signature.target.name == "diagnosis"
    assert signature.target.dtype == "integer"
    assert signature.source == ("data/prepared/train.csv",)

    sample = json.loads((directory / "sample.json").read_text())
    rows = sample["rows"]
    assert len(rows) == 20
    assert [list(r["inputs"]) for r in rows] == [signature.names] * 20  # order kept
    assert signature.validate([r["inputs"] for r in rows]) is None
    # The model as the release ships it, on the recorded inputs: the recorded outputs,
    # bit for bit (floats are written as their repr).
    model = joblib.load(directory / "model.pkl")
    matrix = np.array([[r["inputs"][n] for n in signature.names] for r in rows])
    assert [r["outputs"]["predict"] for r in rows] == model.predict(matrix).tolist()
    assert [r["outputs"]["predict_proba"] for r in rows] == model.predict_proba(matrix).tolist()
    # The inputs are rows of the training data at that commit.
    with (project.root / "data" / "prepared" / "train.csv").open(newline="") as handle:
        train = list(csv.DictReader(handle))
    for row in rows:
        assert {k: float(v) for k, v in train[row["row"]].items() if k != "diagnosis"} == row[
            "inputs"
        ]

    sums = dict(
        reversed(line.split("  ")) for line in (directory / "SHA256SUMS").read_text().splitlines()
    )
    for name in ("signature.json", "sample.json"):
        assert sums[name] == hashlib.sha256((directory / name).read_bytes()).hexdigest()


def test_the_sample_is_the_same_on_a_rerun(project: Repo, tmp_path: Path) -> None:
    first = project.cli("release", "--tag", TAG, "--output", str(tmp_path / "a"), "--json")
    second = project.cli("release", "--tag", TAG, "--output", str(tmp_path / "b"), "--json")
    assert first.code == second.code == 0
    for name in ("signature.json", "sample.json", "SHA256SUMS"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_release_without_a_signature_says_why(project: Repo) -> None:
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.release import build_release

    # A target the data does not have: every column looks like an input, 31 for a
    # model that takes 30, so no honest schema can be written.
    config = project.root / "mlops-ci.yaml"
    config.write_text(config.read_text().replace("target: diagnosis", "target: label"))
    result = project.cli("release", "--tag", TAG, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert "signature.json" not in data["assets"]
    assert "sample.json" not in data["assets"]
    assert data["signature_missing"] == (
        "the model takes 30 features; the training data has 31 inputs "
        "(monitor.target 'label' is not one of its columns)"
    )
    assert any(line.startswith("signature missing: ") for line in data["lines"])
    bundle = build_release(open_registry(project.root), TAG, None)
    assert "**Signature missing:** the model takes 30 features" in bundle.notes
    sums = (Path(data["directory"]) / "SHA256SUMS").read_text()
    assert "signature.json" not in sums


def test_unreadable_parts_give_one_line(sample_project: SampleProject, tmp_path: Path) -> None:
    import shutil

    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.signature import NoSignature, signature_at

    reg = open_registry(sample_project.root)
    commit, model = sample_project.main_sha, sample_project.root / "models" / "model.pkl"
    junk = tmp_path / "model.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(NoSignature, match=r"^models/model.pkl cannot be loaded: "):
        signature_at(reg, commit, "models/model.pkl", junk, target="diagnosis")
    with pytest.raises(NoSignature, match=r"has no stage writing models/other.pkl with data$"):
        signature_at(reg, commit, "models/other.pkl", model, target="diagnosis")
    # Neither the cache nor the remote holds the data any more: DVC's error, one line.
    shutil.rmtree(sample_project.root / ".dvc" / "cache")
    shutil.rmtree(sample_project.remote)
    with pytest.raises(NoSignature) as caught:
        signature_at(reg, commit, "models/model.pkl", model, target="diagnosis")
    assert str(caught.value).startswith("the training data cannot be read: ")
    assert "\n" not in str(caught.value)
