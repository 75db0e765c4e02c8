"""The PR report's metric charts: what changed (head minus base) and where it stands.

Metrics are grouped by scale, so that one axis never holds 0.91 and 1200: metrics
whose values (at head, base and every baseline) are below 10 in size, and not all
tiny, share one group (scores in [0, 1], losses, correlations); every other metric
joins the group of values within one order of magnitude of its largest. Each group gets

- a change chart per baseline: head minus the merge base (and minus each extra
  baseline of `report.baselines`), one bar per changed metric, drawn from zero (blue
  up, orange down), so a small change to a large value is still visible;
- a value chart: head (blue) and base (orange) of each metric as two adjacent bars.

Bars only: no line joins unrelated metrics. The charts come in that order, change
charts first, and their count is capped.

Pure: numbers in, Mermaid text out (see `mermaid.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.report.mermaid import Bar, bar_rows

__all__ = ["ChartMetric", "metric_charts", "scale_groups"]


@dataclass(frozen=True, slots=True)
class ChartMetric:
    """A metric to chart: its (distinct) name, head, base, and each extra baseline's value."""

    name: str
    head: float
    base: float | None
    baselines: tuple[float | None, ...] = ()

    @property
    def values(self) -> list[float]:
        return [v for v in (self.head, self.base, *self.baselines) if v is not None]


def _magnitude(metric: ChartMetric) -> int:
    biggest = max(abs(v) for v in metric.values)
    return 0 if biggest == 0 else math.floor(math.log10(biggest))


def scale_groups(metrics: Sequence[ChartMetric]) -> list[tuple[str, list[ChartMetric]]]:
    """(scale description, metrics) groups, the largest first. Every value of a metric
    (head, base, baselines) below 10 in size and its largest at least 0.01: the common
    group (scores, losses, correlations); any other metric joins a group of values
    within one order of magnitude of its own."""
    groups: dict[int, list[ChartMetric]] = {}
    for metric in metrics:
        if not all(math.isfinite(v) for v in metric.values):
            continue
        bucket = _magnitude(metric)
        if -2 <= bucket <= 0:
            key = 0
        else:
            key = next((k for k in groups if k != 0 and abs(k - bucket) <= 1), bucket)
        groups.setdefault(key, []).append(metric)
    return sorted(
        ((_scale_name(key, group), group) for key, group in groups.items()),
        key=lambda item: len(item[1]),
        reverse=True,
    )


def _scale_name(key: int, group: Sequence[ChartMetric]) -> str:
    if key != 0:
        return f"values near 1e{key}"
    values = [v for m in group for v in m.values]
    if all(0 <= v <= 1 for v in values):
        return "scores 0 to 1"
    return f"values {min(values):.3g} to {max(values):.3g}"


def _delta_chart(
    group: Sequence[ChartMetric], scale: str, against: str, index: int | None, max_bars: int
) -> str | None:
    """Head minus the base (index None) or minus extra baseline `index`, changed only."""
    bars = []
    for metric in group:
        if index is None:
            other = metric.base
        else:
            other = metric.baselines[index] if index < len(metric.baselines) else None
        if other is None or other == metric.head:
            continue
        delta = metric.head - other
        bars.append(Bar(metric.name, delta, 0 if delta > 0 else 1))
    if not bars:
        return None
    bars.sort(key=lambda b: abs(b.value), reverse=True)
    title = f"Change, head minus {against} - {scale}"
    return bar_rows(title, bars[:max_bars], axis="head minus " + against)


def _value_chart(group: Sequence[ChartMetric], scale: str, max_metrics: int) -> str:
    bars = []
    for metric in group[:max_metrics]:
        bars.append(Bar(metric.name, metric.head, 0))
        if metric.base is not None:
            bars.append(Bar(f"{metric.name} base", metric.base, 1))
    with_base = any(m.base is not None for m in group[:max_metrics])
    title = f"Values - {scale}" + (", head blue, base orange" if with_base else ", at head")
    return bar_rows(title, bars)


def metric_charts(
    metrics: Sequence[ChartMetric],
    baseline_names: Sequence[str] = (),
    *,
    max_groups: int = 3,
    max_change_charts: int = 4,
    max_bars: int = 12,
) -> list[str]:
    """Change charts (per scale group, per baseline), then value charts (per group)."""
    groups = scale_groups(metrics)[:max_groups]
    against: list[tuple[str, int | None]] = [("base", None)]
    against += [(name, i) for i, name in enumerate(baseline_names)]
    changes = [
        chart
        for name, index in against
        for scale, group in groups
        if (chart := _delta_chart(group, scale, name, index, max_bars)) is not None
    ]
    values = [_value_chart(group, scale, max_bars // 2) for scale, group in groups]
    return changes[:max_change_charts] + values
