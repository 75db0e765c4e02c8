"""`monitor --current` on an inference log of the real sample project: the log's own
columns (provenance, the model's outputs) are never features, drift is measured on what
the model saw, and the report and the drift issue name the version that served it."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from github_double import GitHubDouble

from mlops_ci.adapters import github as github_adapter
from mlops_ci.adapters.inference_log import LOG_COLUMNS, InferenceLog
from mlops_ci.cli import main
from mlops_ci.core.markers import drift_issue_marker
from mlops_ci.services.shared.sample_project import SampleProject

TOKEN = "ghs_testtoken0000000000000000000000000011"
MODEL = "cancer-classifier"
TARGET = "diagnosis"
SHIFTED = "mean_radius"


def promote(sample: SampleProject) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": "2026-02-01T12:00:00+00:00"}
    for tag in (f"{MODEL}@v1.0.0", f"{MODEL}#production#1"):
        subprocess.run(
            ["git", "tag", "-a", tag, "-m", tag, sample.main_sha],
            cwd=sample.root, check=True, env=env,
        )  # fmt: skip


def trained_model(sample: SampleProject) -> object:
    with (sample.root / "models" / "model.pkl").open("rb") as handle:
        return pickle.load(handle)


def served(sample: SampleProject, shift: float = 1.0) -> tuple[pa.Table, pa.Table]:
    """The sample's feature rows (one scaled by `shift`) and the model's answers."""
    data = pacsv.read_csv(sample.root / "data" / "breast_cancer.csv")
    inputs = data.drop_columns([TARGET])
    if shift != 1.0:
        at = inputs.column_names.index(SHIFTED)
        scaled = pa.array(inputs.column(SHIFTED).to_numpy() * shift)
        inputs = inputs.set_column(at, SHIFTED, scaled)
    model = trained_model(sample)
    matrix = np.column_stack([c.to_numpy().astype(float) for c in inputs.columns])
    proba = model.predict_proba(matrix)  # type: ignore[attr-defined]
    outputs = pa.table(
        {
            "prediction": model.predict(matrix),  # type: ignore[attr-defined]
            **{f"proba_{c}": proba[:, i] for i, c in enumerate(model.classes_)},  # type: ignore[attr-defined]
        }
    )
    return inputs, outputs


def log_requests(
    url: str, sample: SampleProject, *, shift: float = 1.0, version: str = "v1.0.0"
) -> int:
    """The rows sent as requests of 50 rows, as a server logs them."""
    inputs, outputs = served(sample, shift)
    with InferenceLog(url, model=MODEL, version=version, rotate_rows=200) as log:
        for start in range(0, inputs.num_rows, 50):
            log.record(inputs.slice(start, 50), outputs.slice(start, 50))
    assert log.dropped == 0
    return log.written


def monitor(
    sample: SampleProject, current: str, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, object]:
    out = sample.base / f"out-{uuid.uuid4().hex[:8]}"
    args = ["monitor", "--root", str(sample.root), "--current", current, "--output", str(out)]
    with pytest.raises(SystemExit) as info:
        main([*args, "--json", *extra])
    text, err = capsys.readouterr()
    assert info.value.code == 0, text + err
    report = json.loads(text)
    report["markdown"] = (out / "drift.md").read_text()
    return report  # type: ignore[no-any-return]


def features(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {f["name"]: f for f in report["features"]}  # type: ignore[attr-defined, index]


@pytest.fixture
def project(sample_project: SampleProject, monkeypatch: pytest.MonkeyPatch) -> SampleProject:
    for key in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    promote(sample_project)
    return sample_project


def test_the_models_own_data_logged_does_not_drift(
    project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = project.base / "logs"
    rows = log_requests(str(logs), project)
    assert rows == 569
    report = monitor(project, str(logs), capsys, "--publish", "local")
    assert report["dataset_drift"] is False
    found = features(report)
    assert not [n for n, f in found.items() if f["drifted"]]
    assert all(f["status"] == "ok" or f["status"] == "constant" for f in found.values())
    # Only the inputs are features: no provenance, no output, no label (absent here).
    assert SHIFTED in found
    assert not set(found) & {*LOG_COLUMNS, "prediction", "proba_0", "proba_1", TARGET}
    assert report["current"]["rows"] == 569  # type: ignore[index]
    (version,) = report["served_versions"]  # type: ignore[misc]
    assert (version["version"], version["rows"]) == ("v1.0.0", 569)
    assert version["first"] <= version["last"]
    assert "Served version: `v1.0.0` (569 logged rows, " in str(report["markdown"])


def test_a_shifted_feature_is_flagged_and_the_issue_names_the_served_version(
    project: SampleProject,
    github_double: GitHubDouble,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", github_double.repository)
    monkeypatch.setenv("GITHUB_API_URL", github_double.base_url)
    kwdefaults = github_adapter.GitHubRepo.__init__.__kwdefaults__
    monkeypatch.setitem(kwdefaults, "seconds_between_writes", None)
    config = project.root / "mlops-ci.yaml"
    config.write_text(config.read_text() + "  drift_share: 0.03\n")  # one feature of 30
    logs = project.base / "logs"
    log_requests(str(logs), project, shift=3.0)
    # Another model's answers in the same log are not this model's data.
    with InferenceLog(str(logs), model="churn", version="v9.9.9") as other:
        other.record(pa.table({SHIFTED: [1e9] * 5}), pa.table({"prediction": [1] * 5}))

    report = monitor(project, str(logs), capsys, "--publish", "github")
    drifted = [n for n, f in features(report).items() if f["drifted"]]
    assert drifted == [SHIFTED]
    assert report["dataset_drift"] is True
    assert [v["version"] for v in report["served_versions"]] == ["v1.0.0"]  # type: ignore[attr-defined]
    assert report["current"]["rows"] == 569  # type: ignore[index]
    issues = [
        i
        for i in github_double.state.issues.values()
        if not i.is_pull and drift_issue_marker(MODEL) in (i.body or "")
    ]
    (issue,) = issues
    assert f"`{SHIFTED}`" in issue.body
    assert "Served version: `v1.0.0` (569 logged rows, " in issue.body


def test_versions_are_listed_and_a_version_other_than_the_holder_is_said(
    project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"memory://served-{uuid.uuid4().hex}"
    log_requests(url, project, version="v0.9.0")
    log_requests(url, project, version="v0.9.1")
    report = monitor(project, url, capsys, "--publish", "local")
    versions = [(v["version"], v["rows"]) for v in report["served_versions"]]  # type: ignore[attr-defined]
    assert versions == [("v0.9.0", 569), ("v0.9.1", 569)]
    assert report["dataset_drift"] is False
    markdown = str(report["markdown"])
    assert "Served versions: `v0.9.0` (569 logged rows" in markdown
    assert "the stage is now held by `v1.0.0`" in markdown


def test_a_log_without_this_model_is_one_line(
    project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = project.base / "logs"
    with InferenceLog(str(logs), model="churn", version="v1") as other:
        other.record(pa.table({SHIFTED: [1.0]}), pa.table({"prediction": [1]}))
    args = ["monitor", "--root", str(project.root), "--current", str(logs)]
    with pytest.raises(SystemExit) as info:
        main([*args, "--publish", "none", "--output", str(project.base / "out")])
    _, err = capsys.readouterr()
    assert info.value.code == 1
    assert f"no inference log of '{MODEL}'" in err
    assert "model=cancer-classifier/" in err
    assert "Traceback" not in err


def test_data_without_log_columns_is_read_as_before(
    project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    current = Path(project.base / "current.csv")
    current.write_bytes((project.root / "data" / "breast_cancer.csv").read_bytes())
    report = monitor(project, str(current), capsys, "--publish", "local")
    assert report["served_versions"] == []
    assert "Served version" not in str(report["markdown"])
    assert report["dataset_drift"] is False


def test_a_log_beyond_memory_is_streamed_with_the_same_verdict(
    project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project.root / "mlops-ci.yaml"
    config.write_text(config.read_text() + "  max_memory: 1KB\n")
    logs = project.base / "logs"
    log_requests(str(logs), project, shift=3.0)
    report = monitor(project, str(logs), capsys, "--publish", "local")
    assert report["method"] != "exact"
    found = features(report)
    assert [n for n, f in found.items() if f["drifted"]] == [SHIFTED]
    assert not set(found) & {*LOG_COLUMNS, "prediction", "proba_0", "proba_1", TARGET}
    assert [v["rows"] for v in report["served_versions"]] == [569]  # type: ignore[attr-defined]
