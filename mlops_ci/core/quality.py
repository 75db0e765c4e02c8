"""Model quality on labelled current data, compared with what the version recorded.

Pure: labels and predictions in, metrics and gate verdicts out. Which metrics:

* classifiers (labels are text, or whole numbers with few distinct values):
  ``accuracy`` and ``f1`` — binary F1 of the positive class when there are two
  classes (the larger label, e.g. 1 of {0, 1}: scikit-learn's default), else the
  macro average over the classes seen;
* regressors: ``rmse`` and ``mae``.

Rows whose label or prediction is missing are left out (and counted). The current
metrics are compared with the metrics recorded for the version through the same
gates as a pull request (`core.gates`): base = recorded, head = current, so
``max_drop`` / ``max_drop_pct`` bound the degradation and ``min`` / ``max`` the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlops_ci.core.gates import GateLike, GateSummary, evaluate
from mlops_ci.core.metrics import diff

Task = Literal["classification", "regression"]
#: Whole-number labels with at most this many distinct values are classes.
MAX_CLASSES = 50
QUALITY_FILE = "quality"


@dataclass(frozen=True)
class QualityReport:
    """Current metrics, the recorded ones, and the gates' verdicts."""

    task: Task
    rows: int
    skipped_rows: int
    metrics: dict[str, float]
    recorded: dict[str, float] = field(default_factory=dict)
    gates: GateSummary = field(default_factory=GateSummary)

    @property
    def degraded(self) -> bool:
        return bool(self.gates.failed)


def _is_missing(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "O":
        # None, and NaN (the one value unequal to itself), element-wise in C.
        missing = np.equal(values, None) | np.not_equal(values, values)  # type: ignore[call-overload]
        return np.asarray(missing, dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def infer_task(labels: npt.NDArray[Any]) -> Task:
    """Classification for text labels and few whole numbers; regression otherwise."""
    if labels.dtype.kind in "OUSb":
        return "classification"
    values = labels.astype(np.float64)
    if np.all(values == np.round(values)) and np.unique(values).shape[0] <= MAX_CLASSES:
        return "classification"
    return "regression"


def classification_metrics(
    truth: npt.NDArray[Any], predicted: npt.NDArray[Any]
) -> dict[str, float]:
    """Accuracy and F1 (binary: the positive, larger label; else macro)."""
    truth = _comparable(truth)
    predicted = _comparable(predicted)
    accuracy = float(np.mean(truth == predicted)) if truth.size else float("nan")
    classes = np.unique(np.concatenate([truth, predicted]))
    if classes.shape[0] == 2:
        f1 = _f1(truth, predicted, classes[-1])
    else:
        f1 = float(np.mean([_f1(truth, predicted, c) for c in classes])) if classes.size else 0.0
    return {"accuracy": accuracy, "f1": f1}


def _comparable(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Labels as one comparable dtype: numbers as float64, anything else as text."""
    if values.dtype.kind in "iufb":
        return values.astype(np.float64)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray(values, dtype=str)


def _f1(truth: npt.NDArray[Any], predicted: npt.NDArray[Any], positive: Any) -> float:
    tp = int(np.count_nonzero((predicted == positive) & (truth == positive)))
    fp = int(np.count_nonzero((predicted == positive) & (truth != positive)))
    fn = int(np.count_nonzero((predicted != positive) & (truth == positive)))
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def regression_metrics(truth: npt.NDArray[Any], predicted: npt.NDArray[Any]) -> dict[str, float]:
    errors = predicted.astype(np.float64) - truth.astype(np.float64)
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
    }


def score(
    truth: npt.NDArray[Any], predicted: npt.NDArray[Any], task: Task | None = None
) -> tuple[Task, dict[str, float], int, int]:
    """(task, metrics, rows scored, rows skipped for a missing label or prediction)."""
    truth = np.asarray(truth)
    predicted = np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"{truth.shape[0]} labels but {predicted.shape[0]} predictions")
    keep = ~(_is_missing(truth) | _is_missing(predicted))
    truth, predicted = truth[keep], predicted[keep]
    task = task or infer_task(truth)
    metrics = (
        classification_metrics(truth, predicted)
        if task == "classification"
        else regression_metrics(truth, predicted)
    )
    return task, metrics, int(truth.shape[0]), int((~keep).sum())


def compare(
    task: Task,
    metrics: Mapping[str, float],
    recorded: Mapping[str, Any],
    gates: Mapping[str, GateLike],
    *,
    rows: int,
    skipped_rows: int = 0,
) -> QualityReport:
    """Check current metrics against the recorded ones with the gates that apply.

    ``recorded`` is flat (``accuracy`` or ``metrics.json:accuracy``); keys are
    matched by their last part. Gates on metrics this task does not produce are
    left out, so a model's own gates (e.g. on ``roc_auc``) can be passed as they are.
    """
    known: dict[str, float] = {}
    for key, value in recorded.items():
        short = key.rpartition(":")[2]
        if short in metrics and isinstance(value, int | float) and not isinstance(value, bool):
            known.setdefault(short, float(value))
    applicable = {
        name.rpartition(":")[2]: gate
        for name, gate in gates.items()
        if name.rpartition(":")[2] in metrics
    }
    result = diff({QUALITY_FILE: dict(known)}, {QUALITY_FILE: dict(metrics)})
    summary = evaluate(result, applicable)
    return QualityReport(task, rows, skipped_rows, dict(metrics), known, summary)
