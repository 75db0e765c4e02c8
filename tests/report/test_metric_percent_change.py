"""The Δ% of a metric, for negative and zero-crossing values: a change in percent of |base|.

A move of a negative metric (sklearn's `neg_*` scores, R² below 0) keeps the sign of the
change: from -0.5 to -0.6 is -0.1, which is -20% of the base's size, shown as `-20.0%`.
Expected values are the decimal arithmetic, worked out exactly with fractions.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from mlops_ci.core.formats import parse_metrics
from mlops_ci.core.metrics import MetricDelta, diff, format_delta


def row(base: object, head: object) -> MetricDelta:
    rows = diff({"m.json": {"x": base}}, {"m.json": {"x": head}}).rows
    assert len(rows) == 1
    return rows[0]


def exact_pct(base: str, head: str) -> float:
    b, h = Fraction(base), Fraction(head)
    return float((h - b) / abs(b) * 100)


# (base, head, Δ% as shown): decimal text, as a metrics file holds it.
CASES = [
    ("-0.5", "-0.6", "-20.0%"),  # neg_log_loss got worse
    ("-0.5", "-0.4", "+20.0%"),  # ... and better
    ("-0.1", "0.2", "+300%"),  # R² crossed zero upwards
    ("0.1", "-0.2", "-300%"),  # ... and downwards
    ("-2", "-1", "+50.0%"),  # integers
    ("-0.25", "-0.2525", "-1.0%"),
    ("-400", "-401", "-0.25%"),
]


@pytest.mark.parametrize(("base", "head", "shown"), CASES)
def test_percent_change_of_negative_and_zero_crossing_metrics(
    base: str, head: str, shown: str
) -> None:
    parsed_base = parse_metrics(f'{{"x": {base}}}', "m.json")["x"]
    parsed_head = parse_metrics(f'{{"x": {head}}}', "m.json")["x"]
    delta = row(parsed_base, parsed_head)
    assert delta.delta == pytest.approx(float(Fraction(head) - Fraction(base)), rel=1e-12)
    assert delta.delta_pct == pytest.approx(exact_pct(base, head), rel=1e-12)
    # The sign of Δ% is the sign of Δ, whatever the sign of the base.
    assert (delta.delta_pct or 0) * (delta.delta or 0) > 0
    assert format_delta(delta.delta_pct, 3, pct=True) == shown


def test_percent_change_from_zero_is_undefined_and_shown_as_a_dash() -> None:
    delta = row(0.0, -0.2)
    assert delta.delta == -0.2
    assert delta.delta_pct is None
    assert format_delta(delta.delta_pct, 3, pct=True) == "—"
    assert row(0, 0).delta_pct == 0.0
