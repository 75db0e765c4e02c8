"""Extra baselines of the PR report: the production holder and the base branch's tip,
each column equal to `dvc metrics diff` against its commit; gates with `vs:`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_helpers import Reported, dvc_oracle, run_report
from test_report_oracle import assert_matches_dvc

from mlops_ci.config import load_config
from mlops_ci.report.render import ReportDocument
from mlops_ci.services.post import TrustedBase, read_trusted_base, recompute
from mlops_ci.services.shared.promote import promote
from mlops_ci.services.shared.registry import register
from mlops_ci.services.shared.sample_project import CONFIG_YAML, SampleProject

PARAMS = """\
prepare:
  test_size: 0.25
  seed: 42
train:
  seed: 7
  model:
    n_estimators: {trees}
    max_depth: {depth}
    min_samples_leaf: 2
"""


def _run(root: Path, *args: str) -> str:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    cmd = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
    return subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def _retrain(root: Path, message: str, *, trees: int, depth: int) -> str:
    """Change the params, reproduce the pipeline for real and commit it."""
    (root / "params.yaml").write_text(PARAMS.format(trees=trees, depth=depth))
    _run(root, "dvc", "repro", "-q")
    _run(root, "git", "add", "-A")
    _run(root, "git", "commit", "-q", "-m", message)
    return _run(root, "git", "rev-parse", "HEAD").strip()


def _switch(root: Path, branch: str, *create: str) -> None:
    _run(root, "git", "checkout", "-q", *create, branch)
    _run(root, "dvc", "checkout", "-q")


@pytest.fixture(scope="module")
def released(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SampleProject, str, str]:
    """v1.0.0 (main's first commit) in production; main then merged the sample's PR
    (the merge base of `pr/next`) and moved on; `pr/next` retrained the model."""
    from mlops_ci.services.shared.sample_project import copy_sample

    sample = copy_sample(sample_project_template, tmp_path_factory.mktemp("baselines") / "s")
    root = sample.root
    register(root, sample.model, version="v1.0.0", ref=sample.main_sha)
    promote(root, sample.model, "staging")
    promote(root, sample.model, "production")
    _run(root, "git", "merge", "-q", "--ff-only", sample.pr_branch)
    _switch(root, "pr/next", "-b")
    head = _retrain(root, "Fewer, shallower trees", trees=15, depth=2)
    _switch(root, "main")
    tip = _retrain(root, "More trees on main", trees=60, depth=4)
    _run(root, "git", "push", "-q", "origin", "main")
    _switch(root, "pr/next")
    return sample, head, tip


def _configure(
    root: Path, extra_gate: str = "", baselines: str = "[production, branch-tip]"
) -> None:
    text = CONFIG_YAML.replace("metrics:\n  gates:\n", f"metrics:\n  gates:\n{extra_gate}", 1)
    (root / "mlops-ci.yaml").write_text(f"{text}report:\n  baselines: {baselines}\n")


def _column(data: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in data["baselines"] if c["name"] == name]
    assert len(found) == 1, [c["name"] for c in data["baselines"]]
    return found[0]


def test_production_and_branch_tip_columns_equal_dvc(released: Any) -> None:
    sample, head, tip = released
    root = sample.root
    _configure(root)
    outcome = run_report(root)
    data = json.loads(outcome.report_json.read_text())
    assert data["head"]["sha"] == head
    assert data["base"]["sha"] == sample.pr_sha  # the merge base: the merged sample PR
    # Merge base, production holder and branch tip: each equals DVC against that commit.
    assert assert_matches_dvc(data["metrics"], _dvc(root, sample.pr_sha)) >= 8
    production = _column(data, "production")
    assert production["revision"]["sha"] == sample.main_sha
    assert production["version"] == "v1.0.0"
    assert production["source"] == "tag"  # read from the register tag, nothing re-run
    assert assert_matches_dvc(production["metrics"], _dvc(root, sample.main_sha)) >= 8
    branch_tip = _column(data, "branch-tip")
    assert branch_tip["revision"]["sha"] == tip
    assert branch_tip["source"] == "commit"
    assert assert_matches_dvc(branch_tip["metrics"], _dvc(root, tip)) >= 8
    # The three baselines differ, so the columns are no copies of one another.
    sides = [data["metrics"], production["metrics"], branch_tip["metrics"]]
    assert len({tuple(sorted((r["key"], r["base"]) for r in rows)) for rows in sides}) == 3
    # Each column is labelled with its version, commit and age.
    markdown = outcome.markdown
    age = r"(\d+ (minute|hour|day|month|year)s? ago|just now)"
    production_label = rf"\| production v1\.0\.0 \({sample.main_sha[:7]}, {age}\) \| Δ \|"
    assert re.search(production_label, markdown)
    assert re.search(rf"\| branch-tip \({tip[:7]}, {age}\) \| Δ \|", markdown)
    assert re.search(
        rf"\| metric \| merge base \({sample.pr_sha[:7]}, {age}\) \| head \|", markdown
    )


def _dvc(root: Path, rev: str) -> dict[str, Any]:
    """`dvc metrics diff --json --all REV`: the oracle of one column."""
    return dvc_oracle(root, rev, "metrics", ["metrics.json"])


def _value(rows: list[dict[str, Any]], key: str, side: str = "base") -> Any:
    return next(r[side] for r in rows if r["key"] == key and r["file"] == "metrics.json")


def _vs_gate(drop: float, direction: str) -> str:
    return (
        f"    metrics.json:accuracy:\n      vs: production\n      direction: {direction}\n"
        f"      max_drop: {drop!r}\n"
    )


def test_gate_vs_production_judges_against_the_holder(released: Any) -> None:
    sample, _head, _tip = released
    root = sample.root
    prod = _dvc(root, sample.main_sha)["metrics.json"]
    change = prod["accuracy"]["diff"]
    assert change != 0
    # The direction makes the change a regression of |change| against production.
    direction = "lower" if change > 0 else "higher"
    for drop, verdict in ((abs(change) / 2, "fail"), (abs(change) * 2, "pass")):
        _configure(root, _vs_gate(drop, direction), baselines="[]")
        data = json.loads(run_report(root).report_json.read_text())
        gate = next(g for g in data["gates"] if g["gate"] == "metrics.json:accuracy")
        assert gate["vs"] == "production"
        assert gate["verdict"] == verdict, gate
        assert gate["base"] == prod["accuracy"]["old"]
        # A gate names its baseline: the column is there even with `baselines: []`.
        assert [c["name"] for c in data["baselines"]] == ["production"]
        assert data["verdict"] == verdict
        merge_base_gate = next(g for g in data["gates"] if g["gate"] == "accuracy")
        assert merge_base_gate["vs"] is None
        assert merge_base_gate["base"] == _value(data["metrics"], "accuracy")
    markdown = run_report(root).markdown
    assert "metrics.json:accuracy (vs production)" in markdown


def test_poster_reads_production_from_the_trusted_checkout(released: Any) -> None:
    """A fork's bundle cannot bring its own production column: `post` reads it here."""
    sample, _head, _tip = released
    root = sample.root
    _configure(root, baselines="[production]")
    data = json.loads(run_report(root).report_json.read_text())
    forged = ReportDocument.model_validate(data)
    fake = forged.baselines[0].model_copy(update={"version": "v9.9.9", "metrics": []})
    forged = forged.model_copy(update={"baselines": [fake]})
    loaded = load_config(root)
    base = read_trusted_base(root, loaded, "main", sample.pr_sha)
    trusted = recompute(forged, base, loaded, root=root)
    assert [c.version for c in trusted.baselines] == ["v1.0.0"]
    oracle = _dvc(root, sample.main_sha)
    rows = [r.model_dump() for r in trusted.baselines[0].metrics]
    assert assert_matches_dvc(rows, oracle) >= 8
    # Without the trusted checkout there is no production column at all.
    alone = recompute(forged, TrustedBase("main", None, base.metrics, base.params), loaded)
    assert alone.baselines == []


def test_no_holder_no_column(reported_sample: Reported) -> None:
    """The default `[production]` is silent while no version holds the stage."""
    data = json.loads(reported_sample.outcome.report_json.read_text())
    assert data["baselines"] == []
    assert not any("Baseline" in n for n in data["notes"])
    assert "| metric | base | head | Δ | Δ% | gate |" in reported_sample.outcome.markdown


def test_gate_vs_absent_holder_is_skipped_with_a_note(sample_project: SampleProject) -> None:
    root = sample_project.root
    _configure(root, _vs_gate(0.01, "higher"), baselines="[staging]")
    data = json.loads(run_report(root).report_json.read_text())
    gate = next(g for g in data["gates"] if g["gate"] == "metrics.json:accuracy")
    assert gate["vs"] == "production"
    assert gate["verdict"] == "skip"
    assert "regression not checked" in gate["reason"]
    assert data["baselines"] == []
    notes = [n for n in data["notes"] if n.startswith("Baseline")]
    assert any("staging" in n and "no version of cancer-classifier" in n for n in notes)
    assert any("production" in n for n in notes)


def test_age_text() -> None:
    from mlops_ci.report.baselines import age_text

    cases = {0: "just now", 59: "just now", 60: "1 minute ago", 7200: "2 hours ago"}
    cases |= {86400: "1 day ago", 3 * 86400: "3 days ago", 400 * 86400: "1 year ago"}
    assert {s: age_text(s) for s in cases} == cases
    assert age_text(None) is None
