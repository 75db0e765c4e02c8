"""`mlops-ci demo`: the whole loop on the sample project, every step and its artefact."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from report_helpers import local_env, run_cli

from mlops_ci.errors import MlopsCIError
from mlops_ci.services.demo import DRIFT_FACTOR, DRIFTED_FEATURES, write_drifted_dataset
from mlops_ci.services.shared import sample_project as sample_module
from mlops_ci.services.shared.sample_project import (
    FEATURE_NAMES,
    MODEL_NAME,
    TARGET,
    SampleProject,
    copy_sample,
    write_dataset,
)

HEADINGS = [
    "1. A project with a model in production",
    "2. Pull request report",
    "3. Merge",
    "4. Register",
    "5. Release",
    "6. Promote",
    "7. Serve",
    "8. Drift check",
    "9. Retrain",
]


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def _paragraphs(out: str) -> dict[str, str]:
    """Each step's paragraph, unwrapped, by its heading."""
    found: dict[str, str] = {}
    for block in out.split("\n\n"):
        head, _, body = block.strip("\n").partition("\n")
        if head in HEADINGS:
            found[head] = " ".join(line.strip() for line in body.splitlines())
    return found


@pytest.fixture(scope="module")
def demo_run(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """`mlops-ci demo --dir DIR --show-report` once, on a copy of the session's sample
    (the real builder is exercised by that fixture): the directory and what it printed."""
    target = tmp_path_factory.mktemp("demo") / "demo"

    def prebuilt(base: Path) -> SampleProject:
        return copy_sample(sample_project_template, base)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sample_module, "make_sample_project", prebuilt)
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            code = run_cli(["demo", "--dir", str(target), "--show-report"], local_env(), mp)
    assert code == 0, buffer.getvalue()
    return target, buffer.getvalue()


def test_every_step_prints_its_heading_and_one_paragraph(demo_run: tuple[Path, str]) -> None:
    target, out = demo_run
    paragraphs = _paragraphs(out)
    assert list(paragraphs) == HEADINGS
    root = target / "project"
    steps = dict(zip(HEADINGS, paragraphs.values(), strict=True))
    assert f"registered as {MODEL_NAME}@v1.0.0" in steps[HEADINGS[0]]
    assert "cancer-classifier#production#2" in steps[HEADINGS[0]]
    assert "verdict PASS, 3 of 3 gates pass" in steps[HEADINGS[1]]
    assert str(root / ".mlops-ci" / "report.md") in steps[HEADINGS[1]]
    assert "dvc.lock is current" in steps[HEADINGS[2]]
    assert f"registered as {MODEL_NAME}@v1.1.0, a minor bump from v1.0.0" in steps[HEADINGS[3]]
    for asset in ("model.pkl", "signature.json", "sample.json", "model-card.md", "SHA256SUMS"):
        assert asset in steps[HEADINGS[4]]
    assert "cancer-classifier#production#4" in steps[HEADINGS[5]]
    assert "its 20 recorded sample rows came back identical" in steps[HEADINGS[5]]
    assert "200 of 200 requests were answered" in steps[HEADINGS[5]]
    assert (
        "cancer-classifier v1.1.0 (production) on MLServer at http://127.0.0.1:"
        in (steps[HEADINGS[6]])
    )
    assert "A new batch of 569 rows arrived as 12 requests" in steps[HEADINGS[6]]
    assert str(root / ".mlops-ci" / "inference-log") in steps[HEADINGS[6]]
    assert "569 rows into" in steps[HEADINGS[6]]
    assert "DRIFT, 20 of 30 features drifted" in steps[HEADINGS[7]]
    assert "on the branch mlops-ci/retrain/cancer-classifier/" in steps[HEADINGS[8]]
    # --show-report: the report itself, after its step's paragraph.
    assert out.index("## mlops-ci report") > out.index(HEADINGS[1])
    assert out.index("## mlops-ci report") < out.index(HEADINGS[2])
    assert f"Serve it yourself: cd {root} && mlops-ci serve cancer-classifier" in out
    assert f"Explore: cd {root}" in out


def test_the_report_compares_the_pull_request_with_main(demo_run: tuple[Path, str]) -> None:
    target, _ = demo_run
    data = json.loads((target / "project" / ".mlops-ci" / "report.json").read_text())
    assert data["head"]["ref"] == "pr/tune-model"
    assert data["verdict"] == "pass"
    assert data["reproducibility"]["run_seconds"] > 0


def test_the_registry_holds_every_tag_the_demo_names(demo_run: tuple[Path, str]) -> None:
    target, out = demo_run
    root = target / "project"
    tags = set(_git(root, "tag").split())
    expected = {
        f"{MODEL_NAME}@v1.0.0",
        f"{MODEL_NAME}@v1.1.0",
        f"{MODEL_NAME}#staging#1",
        f"{MODEL_NAME}#production#2",
        f"{MODEL_NAME}#staging#3",
        f"{MODEL_NAME}#production#4",
    }
    assert expected <= tags
    # Pushed to the bare origin, as on GitHub.
    assert expected <= set(_git(target / "origin.git", "tag").split())
    # v1.1.0 is the merge commit of the pull request branch, and origin's main.
    merge = _git(root, "rev-list", "-n", "1", f"{MODEL_NAME}@v1.1.0")
    assert _git(root, "rev-list", "--parents", "-n", "1", merge).count(" ") == 2
    assert _git(target / "origin.git", "rev-parse", "main") == merge
    assert merge[:12] in _paragraphs(out)[HEADINGS[2]]


def test_the_release_directory_holds_its_assets(demo_run: tuple[Path, str]) -> None:
    target, _ = demo_run
    release = target / "project" / ".mlops-ci" / "release" / f"{MODEL_NAME}@v1.1.0"
    names = {p.name for p in release.iterdir()}
    assert {"model.pkl", "model-card.md", "metrics.json", "lineage.json", "SHA256SUMS"} <= names
    sums = (release / "SHA256SUMS").read_text()
    assert "model.pkl" in sums


def test_the_drift_check_finds_the_shifted_columns(demo_run: tuple[Path, str]) -> None:
    target, _ = demo_run
    drift = json.loads((target / "project" / ".mlops-ci" / "drift.json").read_text())
    assert drift["model_version"] == "v1.1.0"
    assert drift["stage"] == "production"
    assert drift["dataset_drift"] is True
    drifted = {f["name"] for f in drift["features"] if f["drifted"]}
    assert drifted == set(DRIFTED_FEATURES)


def test_retraining_commits_on_a_branch_of_its_own(demo_run: tuple[Path, str]) -> None:
    target, out = demo_run
    root = target / "project"
    match = re.search(r"on the branch (mlops-ci/retrain/cancer-classifier/\S+) \(", out)
    assert match is not None
    branch = match.group(1)
    assert _git(root, "rev-parse", "--abbrev-ref", "HEAD") == branch
    changed = _git(root, "diff", "--name-only", "main", branch).split()
    assert {"data/breast_cancer.csv.dvc", "dvc.lock", "metrics.json"} <= set(changed)
    # Locally nothing is pushed: origin has no retrain branch.
    assert _git(target / "origin.git", "branch", "--list", "mlops-ci/*") == ""


def test_the_demo_refuses_a_directory_that_is_not_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert run_cli(["demo", "--dir", str(tmp_path)], local_env(), monkeypatch) == 1
    err = capsys.readouterr().err
    assert "the directory is not empty" in err
    assert "Traceback" not in err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_drifted_data_scales_exactly_the_chosen_columns(tmp_path: Path) -> None:
    write_dataset(tmp_path / "plain.csv")
    shifted = write_drifted_dataset(tmp_path / "drifted.csv", columns=["mean_radius"], factor=2)
    plain, drifted = _read(tmp_path / "plain.csv"), _read(tmp_path / "drifted.csv")
    assert shifted == ["mean_radius"]
    assert drifted[0] == plain[0] == [*FEATURE_NAMES, TARGET]
    assert len(drifted) == len(plain)
    col = FEATURE_NAMES.index("mean_radius")
    for before, after in zip(plain[1:], drifted[1:], strict=True):
        assert float(after[col]) == pytest.approx(2 * float(before[col]), rel=1e-5)
        assert after[:col] + after[col + 1 :] == before[:col] + before[col + 1 :]


def test_drifted_data_by_default_shifts_two_thirds_of_the_features(tmp_path: Path) -> None:
    shifted = write_drifted_dataset(tmp_path / "d.csv")
    assert shifted == DRIFTED_FEATURES
    assert len(shifted) / len(FEATURE_NAMES) > 0.5  # beyond the default drift_share
    assert DRIFT_FACTOR != 1
    with pytest.raises(MlopsCIError, match="no feature named mean_colour"):
        write_drifted_dataset(tmp_path / "e.csv", columns=["mean_colour"])


def test_the_server_and_the_batch_scoring_agree_on_every_row(demo_run: tuple[Path, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target, _ = demo_run
    mlops = target / "project" / ".mlops-ci"
    files = sorted((mlops / "inference-log").rglob("*.parquet"))
    assert files, "the server wrote no inference log"
    logged = pa.concat_tables([pq.read_table(f) for f in files])
    batch = pq.read_table(mlops / "predictions.parquet")
    assert logged.num_rows == batch.num_rows == 569
    assert set(logged.column("mlops_ci_model_version").to_pylist()) == {"v1.1.0"}
    assert logged.column("prediction").to_pylist() == batch.column("prediction").to_pylist()
    for name in ("proba_0", "proba_1"):
        served, scored = logged.column(name).to_pylist(), batch.column(name).to_pylist()
        assert max(abs(a - b) for a, b in zip(served, scored, strict=True)) <= 1e-12
    assert logged.column("mean_radius").to_pylist() == batch.column("mean_radius").to_pylist()
