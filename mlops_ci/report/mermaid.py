"""Charts as Mermaid `xychart-beta` blocks, which GitHub renders natively.

Two bar series in one xychart are drawn on top of each other, so base versus
head is drawn as head bars with the base as a line. Line plots (e.g. a ROC
curve from a DVC plots file) are resampled onto an even x grid, because an
xychart line places its points at evenly spaced x positions.

Every chart starts with the same fixed init directive: the default palette draws the
first series in a pale blue that all but vanishes as a line, so series get two
distinct colours (blue, then orange). Bar charts are horizontal: metric names are
long and dotted, and as x-axis labels they overlap.

Pure: data in, Mermaid text out. Every label passes through `mermaid_label`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.report.escape import mermaid_label

__all__ = ["BarPoint", "bar_chart", "bar_charts", "line_chart", "resample"]

# A constant (never built from input): first series blue, second orange.
INIT = '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#4c78a8, #f58518"}}}}%%'


@dataclass(frozen=True, slots=True)
class BarPoint:
    label: str
    head: float
    base: float | None


def _num(value: float) -> str:
    if value == 0:
        return "0"
    text = f"{value:.6g}"
    if "e" in text:
        text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text


def _axis_range(values: Sequence[float]) -> tuple[float, float]:
    # Bars start at zero, so the axis always includes it (all-negative values too).
    low = min(0.0, *values)
    high = max(0.0, *values)
    if high == low:
        high = low + 1.0
    pad = (high - low) * 0.05
    return (low - pad if low < 0 else low), high + pad


def bar_chart(title: str, points: Sequence[BarPoint]) -> str:
    """Head values as bars, base values as a line (when every point has a base)."""
    values = [p.head for p in points] + [p.base for p in points if p.base is not None]
    low, high = _axis_range(values)
    labels = ", ".join(f'"{mermaid_label(p.label, 24)}"' for p in points)
    lines = [
        "```mermaid",
        INIT,
        "xychart-beta horizontal",
        f'    title "{mermaid_label(title, 60)}"',
        f"    x-axis [{labels}]",
        f'    y-axis "value" {_num(low)} --> {_num(high)}',
        "    bar [" + ", ".join(_num(p.head) for p in points) + "]",
    ]
    if all(p.base is not None for p in points):
        lines.append("    line [" + ", ".join(_num(float(p.base or 0)) for p in points) + "]")
    lines.append("```")
    return "\n".join(lines)


def _magnitude(point: BarPoint) -> int:
    biggest = max(abs(point.head), abs(point.base or 0.0))
    return -99 if biggest == 0 else math.floor(math.log10(biggest))


def bar_charts(points: Sequence[BarPoint], max_bars: int = 12, max_charts: int = 3) -> list[str]:
    """Group points of similar magnitude (so 0.9 and 1200 are not on one axis)."""
    usable = [
        p for p in points if math.isfinite(p.head) and (p.base is None or math.isfinite(p.base))
    ]
    groups: dict[int, list[BarPoint]] = {}
    for point in usable:
        bucket = _magnitude(point)
        # Values within one order of magnitude of each other share a chart.
        key = next((k for k in groups if abs(k - bucket) <= 1), bucket)
        groups.setdefault(key, []).append(point)
    ordered = sorted(groups.values(), key=len, reverse=True)[:max_charts]
    charts = []
    for group in ordered:
        chunk = group[:max_bars]
        title = "Metrics - head as blue bars, base as orange line"
        if not all(p.base is not None for p in chunk):
            title = "Metrics at head"
        charts.append(bar_chart(title, chunk))
    return charts


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
