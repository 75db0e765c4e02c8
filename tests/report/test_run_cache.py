"""Unchanged stages come back from DVC's run-cache in CI instead of running again.

The sample project's real bare `origin` and local DVC remote; each report runs in a
fresh clone with an empty DVC cache, as a CI job would. The train stage appends a
line to a counter file outside the repository each time its command runs, so the
test counts runs rather than trusting what DVC printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from report_helpers import local_env

from mlops_ci.core.repro_log import read_repro_log
from mlops_ci.services.report import ReportOutcome, ReportRequest, generate_report
from mlops_ci.services.shared.job import Job, SinkProgress
from mlops_ci.services.shared.sample_project import SampleProject

BRANCH = "pr/run-cache"
COUNTING = """
# Count the runs of this command (the test's witness that it ran).
if os.environ.get("TRAIN_RUNS"):
    with open(os.environ["TRAIN_RUNS"], "a") as counter:
        counter.write("ran\\n")
"""


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _branch(sample: SampleProject, **pipeline: str) -> None:
    """A PR branch whose train.py counts its runs; dvc.lock is not updated (lock: off)."""
    root = sample.root
    _git(root, "checkout", "-q", "-b", BRANCH, sample.main_branch)
    with (root / "src" / "train.py").open("a") as handle:
        handle.write(COUNTING)
    config = yaml.safe_load((root / "mlops-ci.yaml").read_text())
    config["pipeline"] = {"lock": "off", "push": "always", **pipeline}
    (root / "mlops-ci.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _git(root, "commit", "-qam", "Train counts its runs")
    _git(root, "push", "-q", "origin", BRANCH)


def _touch_evaluate(sample: SampleProject) -> None:
    """A commit that changes the evaluate stage only: train's inputs stay the same."""
    with (sample.root / "src" / "evaluate.py").open("a") as handle:
        handle.write("# evaluation unchanged, comment added\n")
    _git(sample.root, "commit", "-qam", "Comment in evaluate.py")
    _git(sample.root, "push", "-q", "origin", BRANCH)


def _fresh_report(sample: SampleProject, name: str) -> ReportOutcome:
    """`report --run` in a new clone of the branch: empty DVC cache, same remote.

    The clone sits beside the project, so the remote's relative URL still resolves.
    """
    clone = sample.base / name
    _git(sample.base, "clone", "-q", "-b", BRANCH, str(sample.origin), str(clone))
    assert not (clone / ".dvc" / "cache").exists()
    lines: list[str] = []
    job = Job.from_environ(local_env(), progress=SinkProgress(sink=lines.append))
    return generate_report(ReportRequest(root=clone, run=True, publish="local"), job)


def _runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def test_second_run_restores_train_from_the_run_cache(
    sample_project: SampleProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = sample_project
    counter = tmp_path / "train-runs.txt"
    monkeypatch.setenv("TRAIN_RUNS", str(counter))
    _branch(sample)

    first = _fresh_report(sample, "ci-1").document.reproducibility
    assert _runs(counter) == 1, "train.py changed: the first run trains"
    assert first.restored == {}
    # The same forest as on main: evaluate's inputs did not change, it did not run.
    assert list(first.stage_seconds) == ["train"]
    assert first.pipeline == "dvc repro"
    assert list((sample.remote / "runs").glob("*/*/*")), "the run-cache reached the remote"

    _touch_evaluate(sample)
    second = _fresh_report(sample, "ci-2")
    repro = second.document.reproducibility
    assert _runs(counter) == 1, "train's command did not run again"
    assert list(repro.restored) == ["train"]
    # What it saved is what the first run measured, carried through the remote.
    assert repro.restored["train"] == first.stage_seconds["train"]
    assert list(repro.stage_seconds) == ["evaluate"]
    assert "| restored from the run-cache | `train` (≈ " in second.markdown
    assert " saved) |" in second.markdown
    # The restored model is the one the first run trained.
    assert repro.stages["train"] == first.stages["train"]


def test_run_cache_off_runs_train_again(
    sample_project: SampleProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = sample_project
    counter = tmp_path / "train-runs.txt"
    monkeypatch.setenv("TRAIN_RUNS", str(counter))
    _branch(sample, run_cache="off")

    _fresh_report(sample, "ci-1")
    assert not (sample.remote / "runs").exists(), "off: no run-cache pushed"
    second = _fresh_report(sample, "ci-2").document.reproducibility
    assert _runs(counter) == 2
    assert second.restored == {}
    assert "train" in second.stage_seconds


def test_repro_log_reads_dvc_lines() -> None:
    """The lines DVC 3 prints, with times: ran, restored, unchanged and durations."""
    lines = [
        (0.0, "'data/breast_cancer.csv.dvc' didn't change, skipping"),
        (0.1, "Stage 'prepare' didn't change, skipping"),
        (0.2, "Stage 'train' is cached - skipping run, checking out outputs"),
        (0.3, "Updating lock file 'dvc.lock'"),
        (1.0, "Running stage 'evaluate':"),
        (1.1, "> python src/evaluate.py"),
        (3.5, "Updating lock file 'dvc.lock'"),
        (4.0, "\x1b[33mRunning stage 'report':\x1b[0m"),
    ]
    log = read_repro_log(lines, end=5.0)
    assert log.unchanged == ["prepare"]
    assert log.restored == ["train"]
    assert log.ran == {"evaluate": 2.5, "report": 1.0}
    assert read_repro_log(lines[4:6]).ran == {"evaluate": None}
