"""Charts as Mermaid `xychart-beta` blocks, which GitHub renders natively.

Bars are for categories (metrics, features, parameter values); lines only for a
quantity along an x axis (a ROC curve, a metric over commits), resampled onto an even
x grid because an xychart line places its points at evenly spaced x positions. Bar
charts are horizontal: metric names are long and dotted, and as x-axis labels they
overlap.

Mermaid draws every bar from the axis minimum, never from zero, and draws series in
order, each over the one before. So a chart with a negative value (a drop, a margin
below zero) is drawn with a mask: the coloured series run from the axis minimum to the
value or to zero, whichever is larger, and a last series in the background colour
covers each bar from the axis minimum up to the value or zero, whichever is smaller.
What is left visible is exactly the bar from zero to the value, left or right. The mask
needs a known background, so every chart pins its panel colours (white, dark text) in
one fixed init directive; its palette is blue, orange, the mask's white, and orange
again for a line drawn after a mask.

Two bars of one label are never drawn in one place: `bar_rows` gives each bar its own
row. Labels are made distinct by `chart_labels` (Mermaid merges equal labels, and one of
the bars disappears).

Pure: data in, Mermaid text out. Every label passes through `mermaid_label`.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.report.escape import mermaid_label

__all__ = [
    "INIT",
    "Bar",
    "BarPoint",
    "bar_chart",
    "bar_rows",
    "chart_labels",
    "line_chart",
    "resample",
]

BACKGROUND = "#ffffff"
_INK = "#333333"
_THEME = {
    "backgroundColor": BACKGROUND,
    **{
        f"{part}Color": _INK
        for part in (
            "title",
            "dataLabel",
            "xAxisTitle",
            "xAxisLabel",
            "xAxisTick",
            "xAxisLine",
            "yAxisTitle",
            "yAxisLabel",
            "yAxisTick",
            "yAxisLine",
        )
    },
    # Series 0 blue, 1 orange, 2 the mask (the background), 3 orange (a line after a mask).
    "plotColorPalette": f"#4c78a8, #f58518, {BACKGROUND}, #f58518",
}
# A constant (never built from input).
INIT = "%%{init: " + json.dumps({"themeVariables": {"xyChart": _THEME}}) + "}%%"
LABEL_LIMIT = 24


@dataclass(frozen=True, slots=True)
class BarPoint:
    label: str
    head: float
    base: float | None


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a bar chart: its value, and its colour (0 blue, 1 orange)."""

    label: str
    value: float
    series: int = 0


def _num(value: float) -> str:
    if value == 0:
        return "0"
    text = f"{value:.6g}"
    if "e" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


def _axis_range(values: Sequence[float]) -> tuple[float, float]:
    # Bars are drawn from zero, so the axis always includes it (all-negative values too).
    low = min(0.0, *values)
    high = max(0.0, *values)
    if high == low:
        high = low + 1.0
    pad = (high - low) * 0.05
    return (low - pad if low < 0 else low), (high + pad if high > 0 else high)


def _cut(label: str, limit: int) -> str:
    """At most `limit` characters, keeping the start and the end (`precision_macro` and
    `precision_micro` differ at the end), joined by `_`."""
    if len(label) <= limit:
        return label
    tail = (limit - 1) // 2
    return label[: limit - 1 - tail] + "_" + label[len(label) - tail :]


def chart_labels(names: Sequence[str], limit: int = LABEL_LIMIT) -> list[str]:
    """Cleaned labels of at most `limit` characters, all distinct: Mermaid merges equal
    labels into one row. A label that clashes with an earlier one gets `_2`, `_3`..."""
    seen: set[str] = set()
    labels = []
    for name in names:
        label = _cut(mermaid_label(name, 10_000), limit)
        candidate, number = label, 2
        while candidate in seen:
            suffix = f"_{number}"
            candidate = _cut(label, limit - len(suffix)) + suffix
            number += 1
        seen.add(candidate)
        labels.append(candidate)
    return labels


def _head(title: str, labels: Sequence[str], axis: str, low: float, high: float) -> list[str]:
    quoted = ", ".join(f'"{label}"' for label in labels)
    return [
        "```mermaid",
        INIT,
        "xychart-beta horizontal",
        f'    title "{mermaid_label(title, 60)}"',
        f"    x-axis [{quoted}]",
        f'    y-axis "{mermaid_label(axis, 40)}" {_num(low)} --> {_num(high)}',
    ]


def _series(values: Sequence[float]) -> str:
    return "    bar [" + ", ".join(_num(v) for v in values) + "]"


def _masked_bars(columns: Sequence[Sequence[float | None]], low: float) -> list[str]:
    """Bar series drawn from zero (see the module's docstring): one per column (None: no
    bar in that row), then the mask when the axis goes below zero."""
    if low >= 0:
        return [_series([0.0 if v is None else v for v in column]) for column in columns]
    lines = [_series([low if v is None else max(v, 0.0) for v in column]) for column in columns]
    lines += [_series([low] * len(columns[0]))] * (2 - len(columns))
    rows = list(zip(*columns, strict=True))
    lines.append(_series([min(0.0, *(v for v in row if v is not None)) for row in rows]))
    return lines


def bar_rows(title: str, bars: Sequence[Bar], axis: str = "value") -> str:
    """One bar per row, from zero, blue or orange by its series."""
    low, high = _axis_range([b.value for b in bars])
    columns = [[b.value if b.series == s else None for b in bars] for s in (0, 1)]
    if not any(v is not None for v in columns[1]):
        columns = columns[:1]
    lines = _head(title, chart_labels([b.label for b in bars]), axis, low, high)
    return "\n".join([*lines, *_masked_bars(columns, low), "```"])


def bar_chart(title: str, points: Sequence[BarPoint]) -> str:
    """Head values as bars from zero, base values as a line (when every point has one):
    a line through a reference value per category (a threshold, a mean)."""
    values = [p.head for p in points] + [p.base for p in points if p.base is not None]
    low, high = _axis_range(values)
    lines = _head(title, chart_labels([p.label for p in points]), "value", low, high)
    lines += _masked_bars([[p.head for p in points]], low)
    if all(p.base is not None for p in points):
        lines.append("    line [" + ", ".join(_num(float(p.base or 0)) for p in points) + "]")
    lines.append("```")
    return "\n".join(lines)


def resample(
    xs: Sequence[float], ys: Sequence[float], count: int
) -> tuple[list[float], list[float]]:
    """Linear interpolation of (x, y) onto `count` evenly spaced x values."""
    pairs = sorted(
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=False)
        if math.isfinite(x) and math.isfinite(y)
    )
    if not pairs:
        return [], []
    sx = [p[0] for p in pairs]
    sy = [p[1] for p in pairs]
    low, high = sx[0], sx[-1]
    if count < 2 or high == low:
        return [low], [sy[-1]]
    grid = [low + (high - low) * i / (count - 1) for i in range(count)]
    out = []
    for x in grid:
        # The last point at or before x, and the first after it.
        j = bisect.bisect_right(sx, x)
        if j == 0:
            out.append(sy[0])
        elif j >= len(sx):
            out.append(sy[-1])
        else:
            x0, y0, x1, y1 = sx[j - 1], sy[j - 1], sx[j], sy[j]
            out.append(y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return grid, out


def line_chart(
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[tuple[Sequence[float], Sequence[float]]],
    points: int = 50,
) -> str | None:
    """Up to a few series of (xs, ys) as lines on a shared, evenly resampled x axis."""
    cleaned = [
        (
            [x for x, y in zip(xs, ys, strict=False) if math.isfinite(x) and math.isfinite(y)],
            [y for x, y in zip(xs, ys, strict=False) if math.isfinite(x) and math.isfinite(y)],
        )
        for xs, ys in series
    ]
    cleaned = [(xs, ys) for xs, ys in cleaned if xs]
    if not cleaned:
        return None
    low = min(min(xs) for xs, _ in cleaned)
    high = max(max(xs) for xs, _ in cleaned)
    if high == low:
        return None
    lines = []
    all_y: list[float] = []
    for xs, ys in cleaned:
        # Extend each series to the shared x range so that positions line up.
        pairs = sorted(zip(xs, ys, strict=False))
        ext_x = [low, *[p[0] for p in pairs], high]
        ext_y = [pairs[0][1], *[p[1] for p in pairs], pairs[-1][1]]
        _, resampled = resample(ext_x, ext_y, points)
        all_y.extend(resampled)
        lines.append("    line [" + ", ".join(_num(round(y, 6)) for y in resampled) + "]")
    y_low, y_high = min(0.0, *all_y), max(all_y)
    if y_high == y_low:
        y_high = y_low + 1.0
    return "\n".join(
        [
            "```mermaid",
            INIT,
            "xychart-beta",
            f'    title "{mermaid_label(title, 60)}"',
            f'    x-axis "{mermaid_label(x_label)}" {_num(low)} --> {_num(high)}',
            f'    y-axis "{mermaid_label(y_label)}" {_num(y_low)} --> {_num(y_high)}',
            *lines,
            "```",
        ]
    )
