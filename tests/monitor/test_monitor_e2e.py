"""The monitoring loop on the real sample project, against the GitHub double.

The stage holder's training data is the reference (read through DVC at its
commit); drift opens one issue and dispatches retraining once; the next run
updates the same issue; clean data closes it; retraining pushes a new branch to a
real bare remote and opens a pull request that links the issue.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters import github as github_adapter
from mlops_ci.cli import main
from mlops_ci.core.markers import drift_issue_marker as issue_marker
from mlops_ci.services.retrain import RetrainRequest, run_retrain
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.sample_project import SampleProject

TOKEN = "ghs_testtoken0000000000000000000000000007"
MODEL = "cancer-classifier"
RETRAIN_BRANCH = f"mlops-ci/retrain/{MODEL}/2026-03-01"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def promote(sample: SampleProject) -> None:
    env_date = "2026-02-01T12:00:00+00:00"
    for tag in (f"{MODEL}@v1.0.0", f"{MODEL}#production#1"):
        subprocess.run(
            ["git", "tag", "-a", tag, "-m", tag, sample.main_sha],
            cwd=sample.root,
            check=True,
            env={**os.environ, "GIT_COMMITTER_DATE": env_date},
        )


def write_current(sample: SampleProject, name: str, scale: float) -> Path:
    """The sample's data with the first eight features scaled (1.0 = unchanged)."""
    with (sample.root / "data" / "breast_cancer.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    path = sample.base / name
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow([str(float(v) * scale) for v in row[:8]] + row[8:])
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out + err


@pytest.fixture
def on_github(github_double: GitHubDouble, monkeypatch: pytest.MonkeyPatch) -> GitHubDouble:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", github_double.repository)
    monkeypatch.setenv("GITHUB_API_URL", github_double.base_url)
    # No pause between writes against the local double.
    kwdefaults = github_adapter.GitHubRepo.__init__.__kwdefaults__
    monkeypatch.setitem(kwdefaults, "seconds_between_writes", None)
    return github_double


def test_auto_reference_is_the_training_data_at_the_holders_commit(
    sample_project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    promote(sample_project)
    current = write_current(sample_project, "current.csv", 1.6)
    out_dir = sample_project.base / "out"
    args = ["monitor", "--root", str(sample_project.root), "--reference", "auto"]
    code, text = run([*args, "--current", str(current), "--output", str(out_dir)], capsys)
    assert code == 0, text
    data = json.loads((out_dir / "drift.json").read_text())
    assert data["model"] == MODEL
    assert data["model_version"] == "v1.0.0"
    assert data["reference"]["files"] == ["data/prepared/train.csv"]
    assert data["reference"]["revision"] == sample_project.main_sha
    drifted = {f["name"] for f in data["features"] if f["drifted"]}
    assert drifted == {
        "mean_radius",
        "mean_texture",
        "mean_perimeter",
        "mean_area",
        "mean_smoothness",
        "mean_compactness",
        "mean_concavity",
        "mean_concave_points",
    }
    assert "diagnosis" not in {f["name"] for f in data["features"]}
    quality = data["quality"]
    assert quality["task"] == "classification"
    assert quality["recorded"]["accuracy"] > 0.9  # read from metrics.json at that commit
    assert quality["degraded"] is True  # the scaled features fool the forest


def test_issue_lifecycle_and_one_dispatch(
    sample_project: SampleProject,
    on_github: GitHubDouble,
    capsys: pytest.CaptureFixture[str],
) -> None:
    promote(sample_project)
    config = sample_project.root / "mlops-ci.yaml"
    config.write_text(
        config.read_text() + "  drift_share: 0.2\n  on_drift:\n    dispatch: retrain.yml\n"
    )
    drifted = write_current(sample_project, "drifted.csv", 1.6)
    clean = write_current(sample_project, "clean.csv", 1.0)
    args = ["monitor", "--root", str(sample_project.root), "--json", "--current"]
    state = on_github.state
    marker = issue_marker(MODEL)

    def ours() -> list[object]:
        return [i for i in state.issues.values() if not i.is_pull and marker in (i.body or "")]

    code, text = run([*args, str(drifted)], capsys)
    assert code == 0, text
    first = json.loads(text)
    assert first["dataset_drift"] is True
    assert first["github"]["issue_action"] == "created"
    assert first["github"]["dispatched"] is True
    assert len(state.dispatches) == 1
    dispatch = state.dispatches[0]
    assert (dispatch.workflow_id, dispatch.ref) == ("retrain.yml", "main")
    assert dispatch.inputs == {"model": MODEL, "stage": "production"}
    (issue,) = ours()
    assert issue.state == "open"  # type: ignore[attr-defined]
    assert set(issue.labels) == {"mlops-ci", "drift"}  # type: ignore[attr-defined]
    assert "`mean_radius`" in (issue.body or "")  # type: ignore[attr-defined]

    # The retrain workflow has opened its pull request: no second dispatch.
    state.add_pull(head=RETRAIN_BRANCH, title="Retrain")
    code, text = run([*args, str(drifted)], capsys)
    assert code == 0, text
    second = json.loads(text)
    assert second["github"]["issue"] == issue.number  # type: ignore[attr-defined]
    assert second["github"]["dispatched"] is False
    assert RETRAIN_BRANCH in second["github"]["dispatch_skipped"]
    assert len(state.dispatches) == 1
    assert len(ours()) == 1

    code, text = run([*args, str(clean)], capsys)
    assert code == 0, text
    third = json.loads(text)
    assert third["dataset_drift"] is False
    assert third["github"]["issue_action"] == "closed"
    assert state.issues[issue.number].state == "closed"  # type: ignore[attr-defined]
    comments = state.comments_on(issue.number)  # type: ignore[attr-defined]
    assert any("Drift cleared" in c.body for c in comments)
    assert len(state.dispatches) == 1


def test_retrain_pushes_a_new_branch_and_opens_a_pull_request(
    sample_project: SampleProject, on_github: GitHubDouble
) -> None:
    root = sample_project.root
    (root / "update_data.py").write_text(
        "import csv\n"
        "rows = list(csv.reader(open('data/breast_cancer.csv', newline='')))\n"
        "with open('data/breast_cancer.csv', 'w', newline='') as handle:\n"
        "    csv.writer(handle, lineterminator='\\n').writerows(rows[:-40])\n"
    )
    config = root / "mlops-ci.yaml"
    config.write_text(
        config.read_text()
        + "data:\n  update: python update_data.py && python -m dvc add -q data/breast_cancer.csv\n"
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Add the data update step")
    before = git(root, "rev-parse", "HEAD")
    state = on_github.state
    issue = state.add_issue(title="Drift", body=issue_marker(MODEL), labels=["mlops-ci", "drift"])
    state.branches[RETRAIN_BRANCH] = "0" * 40  # the push GitHub would have received

    env = dict(os.environ)
    outcome = run_retrain(
        RetrainRequest(
            root=root, push=True, date=datetime(2026, 3, 1, tzinfo=UTC), job=Job.from_environ(env)
        )
    )
    assert outcome.branch == RETRAIN_BRANCH
    origin = sample_project.origin
    assert git(origin, "rev-parse", f"refs/heads/{RETRAIN_BRANCH}") == outcome.commit
    assert git(origin, "rev-parse", "refs/heads/main") == sample_project.main_sha
    assert git(root, "rev-parse", f"{outcome.commit}~1") == before
    lock_main = git(root, "show", f"{before}:dvc.lock")
    lock_branch = git(root, "show", f"{outcome.commit}:dvc.lock")
    assert lock_main != lock_branch
    assert outcome.issue == issue.number
    (pull,) = [p for p in state.pulls() if p.head_ref == RETRAIN_BRANCH]
    assert pull.base_ref == "main"
    assert f"#{issue.number}" in (pull.body or "")
    assert outcome.pull_number == pull.number


def test_retrain_runs_dvc_update_on_imports_and_no_push_stays_local(
    sample_project: SampleProject,
) -> None:
    root = sample_project.root
    source = sample_project.base / "upstream.csv"
    source.write_text("x\n1\n2\n")
    subprocess.run(
        [sys.executable, "-m", "dvc", "import-url", "-q", str(source), "data/upstream.csv"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Import upstream data")
    source.write_text("x\n1\n2\n3\n")  # upstream moved on

    outcome = run_retrain(
        RetrainRequest(
            root=root, push=False, date=datetime(2026, 3, 2, tzinfo=UTC), job=Job.from_environ({})
        )
    )
    assert outcome.updated == ["data/upstream.csv.dvc"]
    assert outcome.pushed is False
    assert (root / "data" / "upstream.csv").read_text() == "x\n1\n2\n3\n"
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == f"mlops-ci/retrain/{MODEL}/2026-03-02"
    changed = git(root, "show", "--name-only", "--format=", outcome.commit).splitlines()
    assert "data/upstream.csv.dvc" in changed
    remote_branches = git(sample_project.origin, "branch", "--list", "mlops-ci/*")
    assert remote_branches == ""
