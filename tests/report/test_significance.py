"""Noise-aware deltas: paired bootstrap intervals from per-example evaluation rows.

`scipy.stats.bootstrap` (paired, percentile, same seed and resamples) is the oracle of
every interval; its statistic here is a plain textbook formula per resample (ROC AUC
by counting every positive-negative pair), not our weighted, vectorised metrics. The
report is then run on real git repositories whose base and head commit per-example
rows: an improvement inside noise is "inconclusive" and fails a `significance:
required` gain gate, a significant regression fails, and without rows the report
says that the noise of its deltas is unknown.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_helpers import local_env
from scipy import stats

from mlops_ci.config import parse_config
from mlops_ci.core.gates import evaluate
from mlops_ci.core.metrics import diff
from mlops_ci.core.significance import (
    Columns,
    DeltaInterval,
    NotPaired,
    bootstrap_deltas,
    describe,
    pair_examples,
    verdict,
)
from mlops_ci.errors import ConfigError
from mlops_ci.services.report import ReportOutcome, ReportRequest, generate_report
from mlops_ci.services.report.evaluation import UNKNOWN_NOISE
from mlops_ci.services.shared.job import Job, SinkProgress

Array = Any
EPS = np.finfo(np.float64).eps


# --- textbook metrics, one resample at a time (the oracle's statistic) ----------------


def _accuracy(y: Array, p: Array) -> float:
    return float(np.mean(y == p))


def _per_class(y: Array, p: Array, kind: str) -> float:
    classes = np.unique(np.concatenate([Y_ALL, P_ALL]))
    chosen = classes[-1:] if classes.size == 2 else classes
    values = []
    for c in chosen:
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        top, bottom = {
            "precision": (tp, tp + fp),
            "recall": (tp, tp + fn),
            "f1": (2 * tp, 2 * tp + fp + fn),
        }[kind]
        values.append(top / bottom if bottom else 0.0)
    return float(np.mean(values))


def _roc_auc(y: Array, s: Array) -> float:
    pos, neg = s[y == 1], s[y == 0]
    wins = np.sum(pos[:, None] > neg[None, :]) + 0.5 * np.sum(pos[:, None] == neg[None, :])
    return float(wins / (pos.size * neg.size))


def _log_loss(y: Array, s: Array) -> float:
    s = np.clip(s, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)))


def _rmse(y: Array, p: Array) -> float:
    return float(np.sqrt(np.mean((p - y) ** 2)))


def _mae(y: Array, p: Array) -> float:
    return float(np.mean(np.abs(p - y)))


def _r2(y: Array, p: Array) -> float:
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


# Labels and predictions of the classification data, for the classes F1 averages over.
Y_ALL: Array = np.array([])
P_ALL: Array = np.array([])


def _classification(n: int, classes: int, seed: int) -> tuple[Array, Array, Array, Array, Array]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    base_score = np.clip(0.35 * (y == classes - 1) + 0.65 * rng.random(n), 0, 1)
    head_score = np.clip(0.4 * (y == classes - 1) + 0.6 * rng.random(n), 0, 1)
    base_pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, classes, n))
    head_pred = np.where(rng.random(n) < 0.75, y, rng.integers(0, classes, n))
    if classes == 2:
        base_pred, head_pred = (base_score >= 0.5).astype(int), (head_score >= 0.5).astype(int)
    return y, base_pred, head_pred, base_score, head_score


def _rows(y: Array, pred: Array | None, score: Array | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(y.size):
        row: dict[str, Any] = {"label": y[i].item()}
        if pred is not None:
            row["prediction"] = pred[i].item()
        if score is not None:
            row["score"] = float(score[i])
        rows.append(row)
    return rows


CASES: dict[str, tuple[str, Callable[..., float], int]] = {
    # metric: (data, textbook formula, number of classes)
    "accuracy": ("label", _accuracy, 2),
    "precision": ("label", lambda y, p: _per_class(y, p, "precision"), 2),
    "recall": ("label", lambda y, p: _per_class(y, p, "recall"), 2),
    "f1": ("label", lambda y, p: _per_class(y, p, "f1"), 2),
    "macro f1": ("label", lambda y, p: _per_class(y, p, "f1"), 4),
    "roc_auc": ("score", _roc_auc, 2),
    "tied roc_auc": ("tied score", _roc_auc, 2),
    "log_loss": ("score", _log_loss, 2),
    "rmse": ("regression", _rmse, 0),
    "mae": ("regression", _mae, 0),
    "r2": ("regression", _r2, 0),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("seed", [0, 12345])
def test_intervals_match_scipy_bootstrap(case: str, seed: int) -> None:
    global Y_ALL, P_ALL
    kind, formula, classes = CASES[case]
    metric = case.rsplit(maxsplit=1)[-1]
    resamples, n = 1999, 120
    if kind == "regression":
        rng = np.random.default_rng(seed + 1)
        y = rng.normal(10.0, 3.0, n)
        base_side, head_side = y + rng.normal(0, 1.0, n), y + rng.normal(0.1, 0.9, n)
        rows = (_rows(y, base_side, None), _rows(y, head_side, None))
        columns = Columns("label", prediction="prediction")
    else:
        y, base_pred, head_pred, base_score, head_score = _classification(n, classes, seed)
        if kind == "tied score":  # scores on a coarse grid: many ties, counted half
            base_score, head_score = np.round(base_score, 1), np.round(head_score, 1)
        Y_ALL, P_ALL = y, np.concatenate([base_pred, head_pred])
        rows = (_rows(y, base_pred, base_score), _rows(y, head_pred, head_score))
        columns = Columns("label", "prediction", "score")
        base_side, head_side = (
            (base_score, head_score) if "score" in kind else (base_pred, head_pred)
        )
    examples = pair_examples(*rows, columns, metrics=[metric])
    ours = bootstrap_deltas(examples, resamples=resamples, confidence=0.95, seed=seed)[metric]

    oracle = stats.bootstrap(
        (y, base_side, head_side),
        lambda truth, b, h: formula(truth, h) - formula(truth, b),
        paired=True,
        vectorized=False,
        n_resamples=resamples,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    assert ours.low == pytest.approx(oracle.confidence_interval.low, abs=1e-6)
    assert ours.high == pytest.approx(oracle.confidence_interval.high, abs=1e-6)
    assert ours.base == pytest.approx(formula(y, base_side), abs=1e-12)
    assert ours.head == pytest.approx(formula(y, head_side), abs=1e-12)
    assert ours.low < ours.delta < ours.high  # the point delta lies inside its interval


def test_a_large_sample_is_resampled_in_batches_with_the_same_stream() -> None:
    """Over `MAX_CELLS` weights the resamples are drawn in batches; scipy draws them in
    one go: the generator's stream, hence the interval, is the same."""
    n, resamples = 5000, 1000  # 5,000,000 cells: two batches
    rng = np.random.default_rng(3)
    y = rng.normal(0, 1, n)
    base, head = y + rng.normal(0, 1, n), y + rng.normal(0, 0.98, n)
    examples = pair_examples(
        _rows(y, base, None), _rows(y, head, None), Columns("label", "prediction"), metrics=["mae"]
    )
    ours = bootstrap_deltas(examples, resamples=resamples, confidence=0.9, seed=9)["mae"]
    oracle = stats.bootstrap(
        (y, base, head),
        lambda t, b, h, axis: np.mean(np.abs(h - t), axis=axis) - np.mean(np.abs(b - t), axis=axis),
        paired=True,
        n_resamples=resamples,
        confidence_level=0.9,
        method="percentile",
        rng=np.random.default_rng(9),
    ).confidence_interval
    assert (ours.low, ours.high) == pytest.approx((oracle.low, oracle.high), abs=1e-6)


def test_verdicts_follow_the_metric_direction() -> None:
    assert verdict(0.001, 0.02, higher_is_better=True) == "improved"
    assert verdict(0.001, 0.02, higher_is_better=False) == "regressed"
    assert verdict(-0.02, -0.001, higher_is_better=True) == "regressed"
    assert verdict(-0.02, -0.001, higher_is_better=False) == "improved"
    assert verdict(-0.004, 0.031, higher_is_better=True) == "inconclusive"
    interval = DeltaInterval("accuracy", 0.9, 0.913, -0.004, 0.031, 0.95, 999, True)
    assert describe(interval) == "Δ +0.013 [-0.004, +0.031] inconclusive"


def test_rows_that_cannot_be_paired_say_why() -> None:
    base = [{"id": i, "label": i % 2, "prediction": 1} for i in range(10)]
    head = [{"id": i, "label": i % 2, "prediction": 0} for i in range(9)]
    with pytest.raises(NotPaired, match="10 rows at the base, 9 at the head"):
        pair_examples(base, head, Columns("label", "prediction"))
    with pytest.raises(NotPaired, match="1 only at the base, 0 only at the head"):
        pair_examples(base, head, Columns("label", "prediction", id="id"))
    flipped = [{**row, "label": 1 - row["label"]} for row in base]
    with pytest.raises(ValueError, match="'label' column differs between base and head"):
        pair_examples(base, flipped, Columns("label", "prediction"))
    # Joined on the id, head rows in another order pair with the right base rows.
    shuffled = list(reversed(base))
    examples = pair_examples(base, shuffled, Columns("label", "prediction", id="id"))
    assert examples.base.prediction is not None
    assert examples.base.prediction.tolist() == [1.0] * 10


# --- gates --------------------------------------------------------------------------


class _Gate:
    def __init__(self, **fields: Any) -> None:
        self.direction = fields.get("direction", "higher")
        self.min = self.max = self.max_drop_pct = None
        self.max_drop = fields.get("max_drop")
        self.min_gain = fields.get("min_gain")
        self.significance = fields.get("significance", "off")
        self.required = True


def _judge(gate: _Gate, base: float, head: float, low: float | None, high: float | None) -> Any:
    result = diff({"eval.csv": {"accuracy": base}}, {"eval.csv": {"accuracy": head}})
    intervals = {}
    if low is not None and high is not None:
        intervals[("eval.csv", "accuracy")] = DeltaInterval(
            "accuracy", base, head, low, high, 0.95, 999, True
        )
    return evaluate(result, {"accuracy": gate}, intervals=intervals).results[0]


def test_gates_with_significance_required() -> None:
    gain = _Gate(min_gain=0.0, significance="required")
    inside = _judge(gain, 0.90, 0.913, -0.004, 0.031)
    assert inside.verdict == "fail"
    assert "inside noise (Δ +0.013 [-0.004, +0.031] inconclusive)" in inside.reason
    assert _judge(gain, 0.90, 0.93, 0.01, 0.05).verdict == "pass"
    unknown = _judge(gain, 0.90, 0.93, None, None)
    assert unknown.verdict == "fail"
    assert "noise unknown" in unknown.reason
    # Without `significance`, the same gain passes a plain `min_gain`.
    assert _judge(_Gate(min_gain=0.0), 0.90, 0.913, -0.004, 0.031).verdict == "pass"
    assert _judge(_Gate(min_gain=0.02), 0.90, 0.913, 0.001, 0.03).verdict == "fail"

    drop = _Gate(max_drop=0.005, significance="required")
    noisy = _judge(drop, 0.90, 0.89, -0.03, 0.008)
    assert noisy.verdict == "pass"
    assert "beyond the allowance but inside noise" in noisy.reason
    real = _judge(drop, 0.90, 0.86, -0.07, -0.01)
    assert real.verdict == "fail"
    assert "regressed" in real.reason
    assert _judge(drop, 0.90, 0.89, None, None).verdict == "fail"  # noise unknown
    assert _judge(_Gate(max_drop=0.005), 0.90, 0.89, -0.03, 0.008).verdict == "fail"


# --- the report on real repositories ------------------------------------------------


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _csv(labels: list[int], predictions: list[int]) -> str:
    lines = ["id,label,prediction"]
    lines += [f"{i},{y},{p}" for i, (y, p) in enumerate(zip(labels, predictions, strict=True))]
    return "\n".join(lines) + "\n"


CONFIG = """\
baseline: git
metrics:
  files: [metrics.json]
  gates:
{gates}
evaluation:
  file: eval/predictions.csv
  label: label
  prediction: prediction
  id: id
  resamples: 999
  seed: 1
"""


def _repo(tmp_path: Path, gates: str, base: list[int], head: list[int], labels: list[int]) -> Path:
    root = tmp_path / "repo"
    (root / "eval").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    (root / "mlops-ci.yaml").write_text(CONFIG.format(gates=gates))
    for predictions, message in ((base, "base"), (head, "head")):
        accuracy = float(np.mean(np.array(labels) == np.array(predictions)))
        (root / "metrics.json").write_text(f'{{"accuracy": {accuracy}}}\n')
        (root / "eval" / "predictions.csv").write_text(_csv(labels, predictions))
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", message)
    return root


def _report(root: Path) -> ReportOutcome:
    job = Job.from_environ(local_env(), progress=SinkProgress(sink=lambda _line: None))
    return generate_report(ReportRequest(root=root, run=False, publish="local", base="HEAD~1"), job)


LABELS = [i % 2 for i in range(200)]
# 180 of 200 right at the base.
BASE = [y if i % 10 else 1 - y for i, y in enumerate(LABELS)]


def test_an_improvement_inside_noise_is_inconclusive_and_fails_a_required_gain(
    tmp_path: Path,
) -> None:
    head = list(BASE)
    for i in (0, 10, 20, 30):  # four more right, two more wrong: +0.01
        head[i] = LABELS[i]
    for i in (1, 2):
        head[i] = 1 - LABELS[i]
    gate = "    eval/predictions.csv:accuracy: {min_gain: 0, significance: required}"
    outcome = _report(_repo(tmp_path, gate, BASE, head, LABELS))
    row = next(
        m
        for m in outcome.document.metrics
        if m.file == "eval/predictions.csv" and m.key == "accuracy"
    )
    assert row.significance == "inconclusive"
    assert row.ci_low is not None
    assert row.ci_high is not None
    assert row.ci_low < 0 < row.ci_high
    assert outcome.document.verdict == "fail"
    (gate_row,) = outcome.document.gates
    assert "inside noise" in gate_row.reason
    assert "| eval/predictions.csv:accuracy | 0.9 | 0.91 | +0.01 [" in outcome.markdown
    assert "] inconclusive |" in outcome.markdown
    assert any("95% paired bootstrap over 200 examples" in n for n in outcome.document.notes)


def test_a_significant_regression_fails_a_required_gate(tmp_path: Path) -> None:
    head = list(BASE)
    for i in range(1, 200, 5):  # 40 right answers turned wrong: -0.2
        head[i] = 1 - LABELS[i]
    gate = "    eval/predictions.csv:accuracy: {max_drop: 0.01, significance: required}"
    outcome = _report(_repo(tmp_path, gate, BASE, head, LABELS))
    row = next(
        m
        for m in outcome.document.metrics
        if m.file == "eval/predictions.csv" and m.key == "accuracy"
    )
    assert row.significance == "regressed"
    assert row.ci_high is not None
    assert row.ci_high < 0
    (gate_row,) = outcome.document.gates
    assert gate_row.verdict == "fail"
    assert "regressed" in gate_row.reason


def test_without_per_example_rows_the_noise_is_unknown(tmp_path: Path) -> None:
    head = [1 - BASE[0], *BASE[1:]]
    root = _repo(tmp_path, "    accuracy: {min: 0.5}", BASE, head, LABELS)
    config = (root / "mlops-ci.yaml").read_text().split("evaluation:")[0]
    (root / "mlops-ci.yaml").write_text(config)
    outcome = _report(root)
    assert UNKNOWN_NOISE in outcome.document.notes
    assert all(m.significance is None for m in outcome.document.metrics)
    assert "noise of these deltas is unknown" in outcome.markdown


def test_rows_that_do_not_pair_are_a_note_not_an_interval(tmp_path: Path) -> None:
    head = list(BASE)
    head[0] = LABELS[0]
    root = _repo(tmp_path, "    accuracy: {min: 0.5}", BASE, head, [*LABELS[:-1], 1 - LABELS[-1]])
    (root / "eval" / "predictions.csv").write_text(_csv(LABELS, head))  # labels changed at head
    outcome = _report(root)
    assert any(
        "Noise of the deltas unknown" in n and "'label' column differs" in n
        for n in outcome.document.notes
    ), outcome.document.notes
    assert all(m.file != "eval/predictions.csv" for m in outcome.document.metrics)


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("evaluation: {file: eval.csv}", "evaluation needs a `prediction` or a `score` column"),
        ("evaluation: {file: ../eval.csv, prediction: p}", "escapes the repository"),
        ("evaluation: {file: e.csv, prediction: p, confidence: 1.5}", "evaluation.confidence"),
        ("evaluation: {file: e.csv, prediction: p, metrics: [auc]}", "evaluation.metrics"),
        ("metrics: {gates: {accuracy: {significance: maybe}}}", "significance"),
    ],
)
def test_bad_evaluation_config_is_one_line(yaml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml + "\n")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_malformed_evaluation_file_is_a_note(tmp_path: Path) -> None:
    root = _repo(tmp_path, "    accuracy: {min: 0.5}", BASE, [1 - BASE[0], *BASE[1:]], LABELS)
    (root / "eval" / "predictions.csv").write_text("id,label,prediction\n1,0\n")
    outcome = _report(root)
    assert any(
        "eval/predictions.csv:2: row has 2 cells, the header has 3" in n
        for n in outcome.document.notes
    ), outcome.document.notes
    assert outcome.document.verdict == "pass"
