"""Model quality metrics equal scikit-learn's, and degradation is judged by gates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from mlops_ci.config import Gate
from mlops_ci.core.quality import compare, infer_task, score


def test_binary_classification_equals_sklearn() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 500)
    predicted = np.where(rng.random(500) < 0.8, truth, 1 - truth)
    task, got, rows, skipped = score(truth, predicted)
    assert (task, rows, skipped) == ("classification", 500, 0)
    assert math.isclose(got["accuracy"], skm.accuracy_score(truth, predicted))
    assert math.isclose(got["f1"], skm.f1_score(truth, predicted))


def test_multiclass_text_labels_use_macro_f1() -> None:
    rng = np.random.default_rng(1)
    labels = np.array(["cat", "dog", "eel"], dtype=object)
    truth = labels[rng.integers(0, 3, 300)]
    predicted = labels[rng.integers(0, 3, 300)]
    _, got, _, _ = score(truth, predicted)
    assert math.isclose(got["f1"], skm.f1_score(truth, predicted, average="macro"))


def test_regression_and_missing_rows() -> None:
    truth = np.array([1.5, 2.0, np.nan, 4.25, 10.1])
    predicted = np.array([1.0, 2.5, 3.0, np.nan, 9.1])
    task, got, rows, skipped = score(truth, predicted)
    assert (task, rows, skipped) == ("regression", 3, 2)
    kept_t, kept_p = np.array([1.5, 2.0, 10.1]), np.array([1.0, 2.5, 9.1])
    assert math.isclose(got["rmse"], math.sqrt(skm.mean_squared_error(kept_t, kept_p)))
    assert math.isclose(got["mae"], skm.mean_absolute_error(kept_t, kept_p))
    assert infer_task(np.array([0.0, 1.0, 2.0])) == "classification"


def test_degradation_through_gates() -> None:
    gates = {
        "metrics.json:accuracy": Gate(min=0.85, max_drop=0.02),  # type: ignore[call-arg]
        "roc_auc": Gate(min=0.9),  # type: ignore[call-arg]  # not produced here: ignored
    }
    recorded = {"metrics.json:accuracy": 0.95, "metrics.json:f1": 0.96}
    fine = compare("classification", {"accuracy": 0.94, "f1": 0.95}, recorded, gates, rows=10)
    assert not fine.degraded
    assert fine.recorded == {"accuracy": 0.95, "f1": 0.96}
    worse = compare("classification", {"accuracy": 0.90, "f1": 0.9}, recorded, gates, rows=10)
    assert worse.degraded
    assert "accuracy fell 0.05, allowed 0.02" in worse.gates.failed[0].reason


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        score(np.array([1, 2, 3]), np.array([1, 2]))
