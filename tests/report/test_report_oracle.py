"""report.json against DVC itself: `dvc metrics diff` / `dvc params diff` as the oracle."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_helpers import Reported, dvc_oracle, run_report


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, float) and math.isnan(theirs):
        return ours == "NaN" or (isinstance(ours, float) and math.isnan(ours))
    if isinstance(ours, list):
        return str(ours) == theirs  # DVC formats lists as str(list) before diffing
    if isinstance(theirs, float) and isinstance(ours, int | float):
        return ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    return bool(ours == theirs)


def assert_matches_dvc(rows: list[dict[str, Any]], oracle: dict[str, Any]) -> int:
    """Every row DVC reports equals ours (values and delta), and vice versa; count compared."""
    ours = {(r["file"], r["key"]): r for r in rows}
    compared = 0
    for file, entries in oracle.items():
        for key, entry in entries.items():
            row = ours.get((file, key))
            assert row is not None, f"{file}:{key} reported by DVC, not by us"
            assert _same(row["base"], entry["old"]), (file, key, row, entry)
            assert _same(row["head"], entry["new"]), (file, key, row, entry)
            if "diff" in entry:
                assert _same(row["delta"], entry["diff"]), (file, key, row, entry)
            compared += 1
    assert compared == len(ours), set(ours) - {(f, k) for f, e in oracle.items() for k in e}
    return compared


def test_sample_project_report_equals_dvc(reported_sample: Reported) -> None:
    sample, outcome = reported_sample.sample, reported_sample.outcome
    data = json.loads(outcome.report_json.read_text())
    assert data["schema_version"] == 1
    assert data["base"]["sha"] == sample.main_sha
    assert data["head"]["sha"] == sample.pr_sha
    metrics = dvc_oracle(sample.root, sample.main_sha, "metrics", ["metrics.json"])
    params = dvc_oracle(sample.root, sample.main_sha, "params", ["params.yaml"])
    assert assert_matches_dvc(data["metrics"], metrics) >= 8
    assert assert_matches_dvc(data["params"], params) >= 6
    changed = {r["key"] for r in data["params"] if r["status"] == "changed"}
    assert "train.model.n_estimators" in changed


def test_sample_project_report_contents(reported_sample: Reported) -> None:
    outcome = reported_sample.outcome
    markdown = outcome.report_md.read_text()
    assert markdown == outcome.markdown
    for heading in ("### Gates", "### Metrics", "### Params", "### Data", "### Plots"):
        assert heading in markdown
    assert "xychart-beta" in markdown
    assert 'x-axis "fpr" 0 --> 1' in markdown  # the ROC curve from dvc.yaml's plot
    data = json.loads(outcome.report_json.read_text())
    paths = {e["path"]: e for e in data["data"]["entries"]}
    assert paths["data/breast_cancer.csv"]["status"] == "modified"
    assert (
        paths["data/breast_cancer.csv"]["size_head"] < paths["data/breast_cancer.csv"]["size_base"]
    )
    repro = data["reproducibility"]
    assert set(repro["stages"]) == {"prepare", "train", "evaluate"}
    assert {"python", "dvc", "scikit-learn"} <= set(repro["versions"])
    assert repro["run_seconds"] > 0
    assert not any(g["gate"] == "dvc.lock" for g in data["gates"])  # the lock is current
    # The pipeline's output was streamed, line by line.
    assert any("evaluate" in line for line in reported_sample.lines)
    gates = {g["gate"]: g for g in data["gates"]}
    assert set(gates) == {"accuracy", "roc_auc", "log_loss"}
    assert all(g["verdict"] in ("pass", "fail", "skip") and g["reason"] for g in gates.values())


OLD_LOCK = """\
train:
  cmd: python train.py
  deps:
  - path: train.py
    md5: 0cc175b9c0f1b6a831c399e269772661
  params:
    params.yaml:
      lr: 0.1
  outs:
  - path: model.bin
    md5: 92eb5ffee6ae2fec3ad71c777531578f
  - path: metrics.json
    md5: 4a8a08f09d37b73795649038408b5f33
"""

NEW_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: train.py
      hash: md5
      md5: 0cc175b9c0f1b6a831c399e269772661
      size: 2
    params:
      params.yaml:
        lr: 0.2
    outs:
    - path: model.bin
      hash: md5
      md5: 92eb5ffee6ae2fec3ad71c777531578f
      size: 6
    - path: metrics.json
      hash: md5
      md5: 4a8a08f09d37b73795649038408b5f33
      size: 90
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps:
    - train.py
    params:
    - lr
    outs:
    - model.bin
    metrics:
    - metrics.json:
        cache: false
"""


def test_base_with_dvc1_lock_equals_dvc(git_repo: Any) -> None:
    root = git_repo.root
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    git_repo.write("dvc.yaml", DVC_YAML)
    git_repo.write("dvc.lock", OLD_LOCK)
    git_repo.write(".gitignore", "model.bin\n")
    git_repo.write("train.py", "a\n")
    git_repo.write("params.yaml", "lr: 0.1\nnested:\n  a: [1, 2]\n  b: 1e-3\n  same: 4\n")
    git_repo.write(
        "metrics.json",
        '{"acc": 0.9, "loss": {"train": 0.3, "val": 0.4}, "n": 10, "name": "x", "gone": 1}',
    )
    git_repo.git("add", "-A")
    git_repo.git("commit", "-q", "-m", "base with a DVC 1.x lock")
    base = git_repo.git("rev-parse", "HEAD").strip()
    git_repo.git("checkout", "-q", "-b", "pr")
    git_repo.write("dvc.lock", NEW_LOCK)
    git_repo.write("params.yaml", "lr: 0.2\nnested:\n  a: [1, 3]\n  b: 2e-3\n  same: 4\n")
    git_repo.write(
        "metrics.json",
        '{"acc": 0.88, "loss": {"train": 0.25, "val": NaN}, "n": 10, "name": "y", "extra": 1}',
    )
    git_repo.git("commit", "-q", "-am", "migrate to DVC 3 and tune")

    outcome = run_report(root)
    data = json.loads(outcome.report_json.read_text())
    assert data["base"]["sha"] == base
    assert (
        assert_matches_dvc(data["metrics"], dvc_oracle(root, base, "metrics", ["metrics.json"]))
        == 7
    )
    assert (
        assert_matches_dvc(data["params"], dvc_oracle(root, base, "params", ["params.yaml"])) == 4
    )
    rows = {r["key"]: r for r in data["metrics"]}
    assert rows["loss.val"]["head"] == "NaN"
    assert rows["loss.val"]["delta"] == "NaN"
    assert rows["gone"]["status"] == "removed"
    assert rows["extra"]["status"] == "added"
    assert "NaN" in outcome.markdown


def test_explicit_base_and_no_baseline(git_repo: Any, tmp_path: Path) -> None:
    root = git_repo.root
    git_repo.write("metrics.yaml", "acc: 0.5\n")
    git_repo.write("mlops-ci.yaml", "metrics:\n  files: [metrics.yaml, out/eval.json]\n")
    git_repo.git("add", "-A")
    git_repo.git("commit", "-q", "-m", "one")
    git_repo.write("metrics.yaml", "acc: 0.6\n")
    git_repo.git("commit", "-q", "-am", "two")
    (root / "out").mkdir()
    (root / "out" / "eval.json").write_text('{"auc": 0.7}')  # not in git, not tracked by DVC

    outcome = run_report(root, base="HEAD~1", output=tmp_path / "out")
    data = json.loads(outcome.report_json.read_text())
    rows = {(r["file"], r["key"]): r for r in data["metrics"]}
    assert rows[("metrics.yaml", "acc")]["delta"] == pytest.approx(0.1)
    # An output that is neither in git nor tracked by DVC has no baseline (not "added").
    assert rows[("out/eval.json", "auc")]["status"] == "no_base"
    assert "baseline: reproduce" in data["metrics_no_base"]["out/eval.json"]

    git_repo.write("mlops-ci.yaml", "baseline: none\nmetrics:\n  files: [metrics.yaml]\n")
    outcome = run_report(root, base="HEAD~1", output=tmp_path / "out2")
    data = json.loads(outcome.report_json.read_text())
    assert data["metrics"][0]["status"] == "no_base"
    assert data["metrics_no_base"] == {"metrics.yaml": "baseline: none"}
    assert "No baseline for" in outcome.markdown


def test_dvc_output_at_base_is_read_through_dvc(reported_sample: Reported, tmp_path: Path) -> None:
    """A metrics file that is a cached DVC output (not in git) is read at the base via DVC."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.services.shared.baseline import BaseReader

    sample = reported_sample.sample
    reader = BaseReader(Git(sample.root), Dvc(sample.root), sample.main_sha, "dvc")
    raw, why = reader.read("models/model.pkl")
    assert why is None
    assert raw is not None
    assert len(raw) > 1000
    git_only = BaseReader(Git(sample.root), Dvc(sample.root), sample.main_sha, "git")
    raw, why = git_only.read("models/model.pkl")
    assert raw is None
    assert why is not None
    assert "baseline: git" in why
    raw, why = reader.read("never/existed.json")
    assert raw is None
    assert why is not None
    assert "not committed to git nor tracked by DVC" in why


MAKE_METRICS = """\
import json, yaml
p = yaml.safe_load(open("params.yaml"))
json.dump({"acc": p["quality"], "steps": 3}, open("metrics.json", "w"))
"""


def test_baseline_reproduce_runs_the_base_in_a_worktree(git_repo: Any, tmp_path: Path) -> None:
    """Outputs that are never committed get their base values by running the base pipeline."""
    root = git_repo.root
    git_repo.write("make_metrics.py", MAKE_METRICS)
    git_repo.write("params.yaml", "quality: 0.5\n")
    git_repo.write(".gitignore", "metrics.json\n.mlops-ci/\n")
    config = (
        "baseline: {mode}\npipeline:\n  run: python make_metrics.py\n  pull: never\n"
        "metrics:\n  files: [metrics.json, added.json]\n"
    )
    git_repo.write("mlops-ci.yaml", config.format(mode="reproduce"))
    git_repo.git("add", "-A")
    git_repo.git("commit", "-q", "-m", "base")
    git_repo.git("checkout", "-q", "-b", "pr")
    git_repo.write("params.yaml", "quality: 0.75\n")
    git_repo.write("added.json", '{"new": 1}')
    git_repo.git("add", "-A")
    git_repo.git("commit", "-q", "-m", "better")

    outcome = run_report(root, run=True)
    rows = {
        (r["file"], r["key"]): r for r in json.loads(outcome.report_json.read_text())["metrics"]
    }
    assert rows[("metrics.json", "acc")]["base"] == 0.5
    assert rows[("metrics.json", "acc")]["head"] == 0.75
    assert rows[("metrics.json", "steps")]["status"] == "unchanged"
    assert rows[("added.json", "new")]["status"] == "added"  # committed in this change
    assert git_repo.git("worktree", "list").count("\n") <= 1  # the base worktree is gone

    git_repo.write("mlops-ci.yaml", config.format(mode="git"))
    outcome = run_report(root, run=False, output=tmp_path / "git")
    data = json.loads(outcome.report_json.read_text())
    assert {r["status"] for r in data["metrics"] if r["file"] == "metrics.json"} == {"no_base"}
