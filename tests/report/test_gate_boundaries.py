"""Gates at their exact boundaries: a value at a bound, a regression of exactly the allowance
(under float noise), negative and zero-crossing baselines, and `direction: lower`.

Every expected verdict is worked out by hand from the documented rule (docs/report.md,
Gates): bounds are inclusive; a regression is `base - head` (`higher`) or `head - base`
(`lower`), in percent of `|base|`; comparisons forgive float noise of 1e-12 relative to
the size of the numbers compared (never less than 1e-12).
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_ci.config import Gate
from mlops_ci.core.formats import parse_metrics
from mlops_ci.core.gates import GateResult, evaluate
from mlops_ci.core.metrics import diff


def judge(base: Any, head: Any, **fields: Any) -> GateResult:
    """The one result of a gate on metric `m`, moved from `base` to `head`."""
    result = diff({"metrics.json": {"m": base}}, {"metrics.json": {"m": head}})
    summary = evaluate(result, {"m": Gate(**fields)})
    assert len(summary.results) == 1
    return summary.results[0]


def tolerance(*sizes: float) -> float:
    """The documented float tolerance for numbers of these sizes."""
    return 1e-12 * max(1.0, *(abs(size) for size in sizes))


# Bound values of every sign and size: near 1, zero, negative (sklearn's `neg_log_loss`,
# R² below 0), and large enough (≥ 2**14) that 1e-12 is below half an ulp.
BOUNDS = [0.9, 0.0, -0.35, -2.5, 20000.0, 123456.7, 1e6]


@pytest.mark.parametrize("direction", ["higher", "lower"])
@pytest.mark.parametrize("bound", BOUNDS)
def test_a_head_exactly_at_min_or_max_passes(bound: float, direction: str) -> None:
    for field in ("min", "max"):
        verdict = judge(bound - 1.0, bound, direction=direction, **{field: bound})
        assert verdict.verdict == "pass", (field, verdict.reason)
    both = judge(bound, bound, direction=direction, min=bound, max=bound)
    assert both.verdict == "pass", both.reason


@pytest.mark.parametrize("bound", BOUNDS)
def test_the_float_tolerance_at_a_bound_is_inclusive_and_no_wider(bound: float) -> None:
    slack = tolerance(bound)
    # Short of the bound by exactly the tolerance: still at the bound.
    assert judge(None, bound - slack, min=bound).verdict == "pass"
    assert judge(None, bound + slack, max=bound).verdict == "pass"
    # Twice the tolerance is past it.
    below = judge(None, bound - 2 * slack, min=bound)
    assert below.verdict == "fail"
    assert "below the minimum" in below.reason
    above = judge(None, bound + 2 * slack, max=bound)
    assert above.verdict == "fail"
    assert "above the maximum" in above.reason


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_bounds_are_absolute_whatever_the_direction(direction: str) -> None:
    gate = {"direction": direction, "min": 0.05, "max": 0.5}
    assert judge(0.3, 0.05, **gate).verdict == "pass"
    assert judge(0.3, 0.5, **gate).verdict == "pass"
    low = judge(0.3, 0.0499, **gate)
    assert (low.verdict, low.reason) == ("fail", "m is 0.0499, below the minimum 0.05")
    high = judge(0.3, 0.5001, **gate)
    assert (high.verdict, high.reason) == ("fail", "m is 0.5001, above the maximum 0.5")


# (direction, base, head, allowance): the drop is the allowance in decimal, and its float
# difference lands *above* the allowance (checked below, so the case keeps its point).
EXACT_DROPS = [
    ("higher", 0.93, 0.92, 0.01),
    ("higher", 0.81, 0.8, 0.01),
    ("higher", -0.35, -0.36, 0.01),  # neg_log_loss
    ("higher", -0.3, -0.4, 0.1),
    ("lower", 123456.7, 123456.8, 0.1),  # an RMSE in currency units
    ("lower", 99999.9, 100000.1, 0.2),
]


@pytest.mark.parametrize(("direction", "base", "head", "allowance"), EXACT_DROPS)
def test_a_drop_of_exactly_the_allowance_passes_under_float_noise(
    direction: str, base: float, head: float, allowance: float
) -> None:
    drop = base - head if direction == "higher" else head - base
    assert drop > allowance  # float noise: the precondition of this test
    verdict = judge(base, head, direction=direction, max_drop=allowance)
    assert verdict.verdict == "pass", verdict.reason
    worse = "fell" if direction == "higher" else "rose"
    assert f"{worse} {allowance:g}, within the allowance" in verdict.reason
    # One step past the allowance, in the metric's last digit, fails.
    past = head - 0.01 * allowance if direction == "higher" else head + 0.01 * allowance
    failed = judge(base, past, direction=direction, max_drop=allowance)
    assert failed.verdict == "fail"
    assert failed.reason.startswith(f"m {worse} ")


def test_exactly_the_allowance_read_from_json_passes() -> None:
    base = parse_metrics('{"rmse": 123456.7}', "metrics.json")
    head = parse_metrics('{"rmse": 123456.8}', "metrics.json")
    result = diff({"metrics.json": base}, {"metrics.json": head})
    summary = evaluate(result, {"rmse": Gate(direction="lower", max_drop=0.1)})
    assert summary.verdict == "pass", summary.results[0].reason


# (direction, base, head): a 10% regression in decimal whose float percent is above 10.
EXACT_PCT_DROPS = [
    ("higher", 0.8, 0.72),
    ("higher", -0.5, -0.55),
    ("lower", 0.3, 0.33),
    ("lower", -1.1, -0.99),
]


@pytest.mark.parametrize(("direction", "base", "head"), EXACT_PCT_DROPS)
def test_a_percent_drop_of_exactly_the_allowance_passes(
    direction: str, base: float, head: float
) -> None:
    drop = base - head if direction == "higher" else head - base
    assert drop / abs(base) * 100 > 10  # float noise: the precondition
    verdict = judge(base, head, direction=direction, max_drop_pct=10)
    assert verdict.verdict == "pass", verdict.reason


# (direction, base, head, percent regression worked out by hand): negative and
# zero-crossing baselines regress in percent of |base|.
NEGATIVE_BASES = [
    ("higher", -0.5, -0.6, "20"),  # neg_log_loss fell by a fifth of its size
    ("higher", -0.1, -0.4, "300"),  # R² below 0 got worse
    ("higher", 0.2, -0.1, "150"),  # R² crossed zero downwards
    ("lower", -2.0, -1.0, "50"),  # a lower-is-better score rose towards 0
    ("lower", -0.2, 0.1, "150"),  # ... and crossed it
    ("lower", -1.1, -0.88, "20"),
]


@pytest.mark.parametrize(("direction", "base", "head", "pct"), NEGATIVE_BASES)
def test_percent_regression_from_a_negative_or_zero_crossing_base(
    direction: str, base: float, head: float, pct: str
) -> None:
    failed = judge(base, head, direction=direction, max_drop_pct=10)
    worse = "fell" if direction == "higher" else "rose"
    assert (failed.verdict, failed.reason) == ("fail", f"m {worse} {pct}%, allowed 10%")
    assert judge(base, head, direction=direction, max_drop_pct=float(pct) + 1).verdict == "pass"
    # The same move the other way is an improvement, never a percent regression.
    assert judge(head, base, direction=direction, max_drop_pct=0).verdict == "pass"


def test_any_regression_from_a_zero_base_is_infinite_percent() -> None:
    failed = judge(0.0, -0.01, max_drop_pct=1000)
    assert (failed.verdict, failed.reason) == ("fail", "m fell inf%, allowed 1e+03%")
    assert judge(0.0, 0.01, max_drop_pct=0).verdict == "pass"
    assert judge(0, 0, max_drop_pct=0).verdict == "pass"


@pytest.mark.parametrize(
    ("gate", "base", "head", "verdict", "reason"),
    [
        ({"min": 0.05}, 0.3, 0.05, "pass", "m is 0.05 (≥ 0.05)"),
        ({"max": 0.5}, 0.3, 0.5, "pass", "m is 0.5 (≤ 0.5)"),
        ({"max_drop": 0.01}, 0.92, 0.93, "pass", "m is 0.93 (rose 0.01, within the allowance)"),
        ({"max_drop": 0.01}, 0.92, 0.9301, "fail", "m rose 0.0101, allowed 0.01"),
        ({"max_drop": 0.05}, 0.3, 0.2, "pass", "m is 0.2 (fell 0.1)"),
        ({"max_drop_pct": 10}, 0.3, 0.33, "pass", "m is 0.33 (rose 0.03, within the allowance)"),
        ({"max_drop_pct": 10}, 0.3, 0.3303, "fail", "m rose 10.1%, allowed 10%"),
        ({"max_drop_pct": 10}, -1.1, -0.99, "pass", "m is -0.99 (rose 0.11, within the allowance)"),
        ({"max_drop_pct": 10}, -1.1, -1.2, "pass", "m is -1.2 (fell 0.1)"),
        ({"max_drop": 0.0}, 0.3, 0.3, "pass", "m is 0.3 (unchanged)"),
    ],
)
def test_direction_lower_with_every_bound(
    gate: dict[str, Any], base: float, head: float, verdict: str, reason: str
) -> None:
    result = judge(base, head, direction="lower", **gate)
    assert (result.verdict, result.reason) == (verdict, reason)


def test_direction_lower_with_all_bounds_at_once() -> None:
    gate = {"direction": "lower", "min": 0.1, "max": 0.5, "max_drop": 0.1, "max_drop_pct": 50}
    # At the maximum, and risen by exactly both allowances (0.1 on 0.2 is +50%).
    result = judge(0.4, 0.5, **gate)
    assert result.verdict == "pass", result.reason
    result = judge(0.2, 0.3, **gate)
    assert result.verdict == "pass", result.reason
    assert result.reason == "m is 0.3 (≥ 0.1, ≤ 0.5, rose 0.1, within the allowance)"
    result = judge(0.2, 0.51, **gate)
    assert result.verdict == "fail"
    assert result.reason == (
        "m is 0.51, above the maximum 0.5; m rose 0.31, allowed 0.1; m rose 155%, allowed 50%"
    )
