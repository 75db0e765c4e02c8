"""Per-feature verdicts, the default rule, overrides, and every edge case as a status."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlops_ci.core.drift import (
    Column,
    FeatureRule,
    default_test,
    detect_drift,
    feature_drift,
)


def table(rng: np.random.Generator, n: int, shifted: set[int], shift: float) -> dict[str, Column]:
    return {
        f"f{i:02d}": Column.numeric(rng.normal(shift if i in shifted else 0.0, 1.0, n))
        for i in range(20)
    }


@pytest.mark.parametrize("n", [800, 50_000])
def test_five_shifted_of_twenty_are_exactly_the_drifted_ones(n: int) -> None:
    rng = np.random.default_rng(42)
    shifted = {1, 4, 9, 13, 17}
    reference = table(rng, n, set(), 0.0)
    current = table(rng, n, shifted, 0.5)
    # At p < 0.05 each of the 15 unmoved columns has a 5% chance of a false alarm on
    # small samples; a stricter threshold keeps this test about the five that moved.
    rules = {name: FeatureRule(threshold=0.001) for name in reference} if n <= 1000 else {}
    report = detect_drift(reference, current, drift_share=0.5, tests=rules)
    assert {f.name for f in report.drifted} == {f"f{i:02d}" for i in shifted}
    assert report.share == pytest.approx(5 / 20)
    assert report.dataset_drift is False
    expected_test = "ks" if n <= 1000 else "wasserstein"
    assert {f.test for f in report.features} == {expected_test}
    # Sorted by severity: the five drifted first.
    assert all(f.drifted for f in report.features[:5])
    assert report.features[0].severity >= report.features[4].severity > 1.0
    assert detect_drift(reference, current, drift_share=0.25, tests=rules).dataset_drift is True


def test_default_rule() -> None:
    assert default_test("numeric", 1000) == "ks"
    assert default_test("numeric", 1001) == "wasserstein"
    assert default_test("categorical", 10) == "chisquare"
    assert default_test("categorical", 100_000) == "jensenshannon"


def test_few_unique_numeric_values_are_treated_as_categories() -> None:
    rng = np.random.default_rng(3)
    ref = Column.numeric(rng.integers(0, 3, 5000).astype(float))
    cur = Column.numeric(rng.integers(0, 3, 5000).astype(float))
    result = feature_drift("x", ref, cur)
    assert result.kind == "categorical"
    assert result.test == "jensenshannon"
    assert result.drifted is False


def test_override_test_and_threshold() -> None:
    rng = np.random.default_rng(5)
    ref = Column.numeric(rng.normal(size=3000))
    cur = Column.numeric(rng.normal(0.15, size=3000))
    default = feature_drift("x", ref, cur)
    assert default.test == "wasserstein"
    assert default.drifted is True
    lenient = feature_drift("x", ref, cur, FeatureRule(threshold=0.5))
    assert lenient.drifted is False
    psi = feature_drift("x", ref, cur, FeatureRule(test="psi", threshold=0.2))
    assert psi.test == "psi"
    assert psi.threshold == 0.2
    assert psi.drifted is False


def test_nan_shares_are_reported_and_values_still_tested() -> None:
    rng = np.random.default_rng(9)
    ref_values = rng.normal(size=2000)
    ref_values[:200] = np.nan
    cur_values = rng.normal(size=2000)
    cur_values[:1000] = np.nan
    result = feature_drift("x", Column.numeric(ref_values), Column.numeric(cur_values))
    assert result.status == "ok"
    assert result.missing_reference == pytest.approx(0.1)
    assert result.missing_current == pytest.approx(0.5)
    assert (result.n_reference, result.n_current) == (1800, 1000)
    assert result.drifted is False


def test_constant_columns() -> None:
    same = feature_drift("c", Column.numeric(np.full(100, 3.0)), Column.numeric(np.full(50, 3.0)))
    assert same.status == "constant"
    assert same.drifted is False
    moved = feature_drift("c", Column.numeric(np.full(100, 3.0)), Column.numeric(np.full(50, 4.0)))
    assert moved.status == "ok"
    assert moved.drifted is True
    # Forced onto Wasserstein: a constant reference has no scale, any move is infinite.
    forced = feature_drift(
        "c",
        Column.numeric(np.full(100, 3.0)),
        Column.numeric(np.full(50, 4.0)),
        FeatureRule(test="wasserstein"),
    )
    assert forced.score == math.inf
    assert forced.drifted is True


def test_all_missing_one_sided_and_mismatched_columns_are_statuses() -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(size=100)
    reference = {
        "empty": Column.numeric(np.full(100, np.nan)),
        "only_ref": Column.numeric(values),
        "mismatch": Column.numeric(values),
        "fine": Column.numeric(values),
    }
    current = {
        "empty": Column.numeric(values),
        "only_cur": Column.numeric(values),
        "mismatch": Column.categorical(["a", "b"] * 50),
        "fine": Column.numeric(values),
    }
    report = detect_drift(reference, current)
    status = {f.name: f.status for f in report.features}
    assert status == {
        "empty": "all_missing",
        "only_ref": "missing_in_current",
        "only_cur": "missing_in_reference",
        "mismatch": "type_mismatch",
        "fine": "ok",
    }
    assert [f.name for f in report.tested] == ["fine"]
    assert {f.name for f in report.problems} == {"empty", "only_ref", "only_cur", "mismatch"}
    assert report.dataset_drift is False


def test_unseen_categories_are_counted_and_do_not_break_the_tests() -> None:
    ref = Column.categorical(["a", "b", "c"] * 200)
    cur = Column.categorical(["a", "b", "c"] * 190 + ["zebra"] * 30)
    for test in ("chisquare", "jensenshannon", "psi"):
        result = feature_drift("cat", ref, cur, FeatureRule(test=test))  # type: ignore[arg-type]
        assert result.status == "ok"
        assert result.unseen_current == pytest.approx(30 / 600)
        assert result.score is not None
        assert math.isfinite(result.score)
    assert feature_drift("cat", ref, cur, FeatureRule(test="chisquare")).drifted is True


def test_categories_are_aligned_by_label_not_by_code() -> None:
    ref = Column.categorical(["x", "y"] * 300)
    # Same distribution, but the current side's category list is in another order.
    cur = Column("categorical", np.array([0, 1] * 300), ("y", "x"))
    result = feature_drift("cat", ref, cur)
    assert result.score == pytest.approx(1.0)
    assert result.drifted is False


def test_numeric_only_test_on_text_is_unsupported() -> None:
    ref = Column.categorical(["a", "b"] * 10)
    result = feature_drift("cat", ref, ref, FeatureRule(test="ks"))
    assert result.status == "unsupported_test"
    assert result.drifted is None


def test_all_tests_fills_every_applicable_score() -> None:
    rng = np.random.default_rng(2)
    num = feature_drift(
        "n",
        Column.numeric(rng.normal(size=2000)),
        Column.numeric(rng.normal(size=2000)),
        all_tests=True,
    )
    assert set(num.scores) == {"psi", "ks", "wasserstein", "chisquare", "jensenshannon"}
    cat = feature_drift(
        "c", Column.categorical(["a", "b"] * 9), Column.categorical(["a"] * 18), all_tests=True
    )
    assert set(cat.scores) == {"psi", "chisquare", "jensenshannon"}


def test_threads_give_the_same_report() -> None:
    rng = np.random.default_rng(8)
    reference = table(rng, 3000, set(), 0.0)
    current = table(rng, 3000, {0, 1}, 1.0)
    assert detect_drift(reference, current, workers=2) == detect_drift(reference, current)
