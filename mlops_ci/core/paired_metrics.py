"""Model metrics over weighted examples, for many resamples at once.

A bootstrap resample of n examples is a row of weights: how often each example was
drawn (they sum to n). With a matrix `w` of such rows (one per resample, shape
``(resamples, n)``), every metric here is a few matrix-vector products, so thousands
of resamples cost about as much as a handful of passes over the data. A row of ones
gives the metric on the data as it is.

Definitions follow scikit-learn's defaults: precision, recall and F1 of the positive
class (the larger label) when there are two classes, else their macro average over
the classes seen at base or head; a ratio with a zero denominator is 0. ROC AUC
counts tied scores half (Mann-Whitney); log loss clips probabilities to
``[eps, 1 - eps]`` (float64's machine epsilon). R² is ``1 - SS_res / SS_tot`` (NaN
when the labels of a resample are all equal).

Pure; imported only when per-example rows exist (numpy is not on the report's
start-up path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

#: Which way each metric is better.
HIGHER_IS_BETTER = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}
#: Needs a predicted label; needs a score (probability of the positive class); regression.
LABEL_METRICS = ("accuracy", "precision", "recall", "f1")
SCORE_METRICS = ("roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")


@dataclass(frozen=True)
class Side:
    """One side's predictions for the shared examples (labels are the same on both)."""

    prediction: npt.NDArray[Any] | None = None
    score: Floats | None = None


def _ratio(top: Floats, bottom: Floats) -> Floats:
    out = np.zeros_like(top)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def _confusion(
    truth: npt.NDArray[Any], predicted: npt.NDArray[Any], classes: npt.NDArray[Any], w: Floats
) -> tuple[Floats, Floats, Floats]:
    """(tp, fp, fn), each ``(resamples, classes)``."""
    actual = (truth[:, None] == classes[None, :]).astype(np.float64)
    said = (predicted[:, None] == classes[None, :]).astype(np.float64)
    return w @ (actual * said), w @ ((1.0 - actual) * said), w @ (actual * (1.0 - said))


def _label_metric(
    name: str,
    truth: npt.NDArray[Any],
    predicted: npt.NDArray[Any],
    classes: Any,
    w: Floats,
    *,
    memo: dict[int, tuple[Floats, Floats, Floats]],
) -> Floats:
    if name == "accuracy":
        right = w @ (truth == predicted).astype(np.float64)
        return np.asarray(right / truth.shape[0], dtype=np.float64)
    if id(predicted) not in memo:  # precision, recall and F1 share one count
        memo[id(predicted)] = _confusion(truth, predicted, classes, w)
    tp, fp, fn = memo[id(predicted)]
    if name == "precision":
        per_class = _ratio(tp, tp + fp)
    elif name == "recall":
        per_class = _ratio(tp, tp + fn)
    else:
        per_class = _ratio(2.0 * tp, 2.0 * tp + fp + fn)
    return np.asarray(per_class.mean(axis=1), dtype=np.float64)


def roc_auc(positive: npt.NDArray[np.bool_], score: Floats, w: Floats) -> Floats:
    """Weighted Mann-Whitney AUC: P(score of a positive > score of a negative), ties half.

    For each positive, the weight of the negatives scored below it plus half of those
    tied with it is ``(below + up_to) / 2``, both read off the negatives' cumulative
    weights in score order.
    """
    negatives = np.flatnonzero(~positive)
    negatives = negatives[np.argsort(score[negatives], kind="stable")]
    positives = np.flatnonzero(positive)
    lo = np.searchsorted(score[negatives], score[positives], side="left")
    hi = np.searchsorted(score[negatives], score[positives], side="right")
    cumulative = np.zeros((w.shape[0], negatives.shape[0] + 1))
    np.cumsum(w[:, negatives], axis=1, out=cumulative[:, 1:])
    w_pos = w[:, positives]
    pairs = 0.5 * np.einsum("ij,ij->i", w_pos, cumulative[:, lo] + cumulative[:, hi])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(pairs / (w_pos.sum(axis=1) * cumulative[:, -1]), dtype=np.float64)


def log_loss(positive: npt.NDArray[np.bool_], score: Floats, w: Floats) -> Floats:
    eps = np.finfo(np.float64).eps
    p = np.clip(score, eps, 1.0 - eps)
    losses = -np.where(positive, np.log(p), np.log1p(-p))
    return np.asarray((w @ losses) / score.shape[0], dtype=np.float64)


def _regression_metric(name: str, truth: Floats, predicted: Floats, w: Floats) -> Floats:
    n = truth.shape[0]
    errors = predicted - truth
    if name == "mae":
        return np.asarray((w @ np.abs(errors)) / n, dtype=np.float64)
    squared = w @ errors**2
    if name == "rmse":
        return np.asarray(np.sqrt(squared / n), dtype=np.float64)
    centred = truth - truth.mean()  # shifted for accuracy; the shift cancels
    total = w @ centred**2 - (w @ centred) ** 2 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(total > 0, 1.0 - squared / total, np.nan), dtype=np.float64)


def _present(values: npt.NDArray[Any] | None, metric: str) -> npt.NDArray[Any]:
    if values is None:
        raise ValueError(f"{metric} needs a column that is not declared")
    return values


@dataclass(frozen=True)
class Examples:
    """Labels and both sides' predictions, paired by position; what can be computed."""

    task: str
    truth: npt.NDArray[Any]
    base: Side
    head: Side
    metrics: tuple[str, ...]

    @property
    def size(self) -> int:
        return int(self.truth.shape[0])

    def classes(self) -> npt.NDArray[Any]:
        """The classes precision, recall and F1 average over: the positive one of two."""
        seen = [self.truth]
        seen += [s.prediction for s in (self.base, self.head) if s.prediction is not None]
        classes = np.unique(np.concatenate(seen))
        return classes[-1:] if classes.shape[0] == 2 else classes

    def statistic(self) -> Callable[[Floats], dict[str, tuple[Floats, Floats]]]:
        """Weights → each metric's (base, head) values, one per resample."""
        classes = self.classes() if self.task == "classification" else None
        positive = (
            self.truth == np.unique(self.truth)[-1] if self.task == "classification" else None
        )

        def one(name: str, side: Side, w: Floats, memo: dict[int, Any]) -> Floats:
            if name in SCORE_METRICS:
                score = _present(side.score, name)
                scored = roc_auc if name == "roc_auc" else log_loss
                return scored(_present(positive, name), score, w)
            prediction = _present(side.prediction, name)
            if name in LABEL_METRICS:
                return _label_metric(name, self.truth, prediction, classes, w, memo=memo)
            return _regression_metric(name, self.truth, prediction, w)

        def compute(w: Floats) -> dict[str, tuple[Floats, Floats]]:
            memo: dict[int, Any] = {}
            return {
                m: (one(m, self.base, w, memo), one(m, self.head, w, memo)) for m in self.metrics
            }

        return compute


def _missing(values: list[Any]) -> bool:
    return any(v is None or v == "" or (isinstance(v, float) and math.isnan(v)) for v in values)


def _labels(values: list[Any]) -> npt.NDArray[Any]:
    """Labels as one comparable dtype: all numbers as float64, else text."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    return np.asarray([str(v) for v in values], dtype=str)


def _numbers(values: list[Any], what: str) -> Floats:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} column holds values that are not numbers") from None
    if not np.isfinite(array).all():
        raise ValueError(f"the {what} column holds a value that is not finite")
    return array


def _choose(
    task: str, truth: npt.NDArray[Any], has_prediction: bool, has_score: bool
) -> tuple[str, ...]:
    """The metrics the columns allow for this task."""
    if task == "regression":
        if truth.dtype.kind != "f":
            raise ValueError("regression needs numeric labels")
        return REGRESSION_METRICS if has_prediction else ()
    chosen: tuple[str, ...] = LABEL_METRICS if has_prediction else ()
    if has_score and np.unique(truth).shape[0] == 2:
        chosen += SCORE_METRICS
    return chosen


def _column(rows: list[Any], name: str) -> list[Any]:
    values = [row.get(name) for row in rows]
    if _missing(values):
        raise ValueError(f"the {name!r} column has empty cells")
    return values


def build_examples(
    base_rows: list[Any],
    head_rows: list[Any],
    columns: Any,
    *,
    task: str = "auto",
    metrics: Sequence[str] = (),
) -> Examples:
    """Rows in the same order at base and head → `Examples` (a `ValueError` says why not).

    `columns` has `label`, `prediction` and `score` (column names or None).
    """
    from mlops_ci.core.quality import infer_task

    raw_truth = _column(head_rows, columns.label)
    if _column(base_rows, columns.label) != raw_truth:
        raise ValueError(f"the {columns.label!r} column differs between base and head")
    raw_predictions = [
        _column(rows, columns.prediction) if columns.prediction else None
        for rows in (base_rows, head_rows)
    ]
    chosen_task = infer_task(_labels(raw_truth)) if task == "auto" else task
    if chosen_task == "regression":
        truth = _numbers(raw_truth, columns.label)
        predictions = [
            None if p is None else _numbers(p, columns.prediction) for p in raw_predictions
        ]
    else:
        # Labels and predictions in one dtype: numbers if all are, else text.
        n = len(raw_truth)
        base_said, head_said = (p or [] for p in raw_predictions)
        together = _labels(raw_truth + base_said + head_said)
        truth = together[:n]
        predictions = (
            [together[n : 2 * n], together[2 * n :]] if columns.prediction else [None, None]
        )
    sides = []
    for rows, prediction in zip((base_rows, head_rows), predictions, strict=True):
        score = None
        if columns.score is not None:
            score = _numbers(_column(rows, columns.score), columns.score)
            if ((score < 0) | (score > 1)).any():
                raise ValueError(f"the {columns.score!r} column holds values outside [0, 1]")
        sides.append(Side(prediction, score))
    available = _choose(
        chosen_task, truth, columns.prediction is not None, columns.score is not None
    )
    wanted = tuple(m for m in metrics if m in available) if metrics else available
    if not wanted:
        raise ValueError(f"no metric can be computed from these columns for {chosen_task}")
    return Examples(chosen_task, truth, sides[0], sides[1], wanted)
