"""The reports' Mermaid charts drawn as text, for a terminal (which cannot draw Mermaid).

`replace_mermaid` swaps every ```mermaid block of a report for a fenced text block: a
bar chart becomes one row per label with a bar drawn from zero (left for a negative
value) and the value; a line chart becomes one sparkline per series with its first,
last, lowest and highest values. The blocks are read back from what `mermaid.py`
writes (the masked series included, see there); a block that cannot be read becomes
one line naming the chart, never its source.

Series are named by the colour the chart's title refers to: `█` blue, `▒` orange.

Pure: text in, text out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["XyChart", "draw_chart", "parse_chart", "replace_mermaid"]

_BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
_TITLE = re.compile(r'^\s*title "([^"]*)"', re.MULTILINE)
_CATEGORIES = re.compile(r"^\s*x-axis \[(.*)\]\s*$", re.MULTILINE)
_X_RANGE = re.compile(r'^\s*x-axis "([^"]*)" (\S+) --> (\S+)\s*$', re.MULTILINE)
_Y_RANGE = re.compile(r'^\s*y-axis "([^"]*)" (\S+) --> (\S+)\s*$', re.MULTILINE)
_SERIES = re.compile(r"^\s*(bar|line) \[(.*)\]\s*$", re.MULTILINE)
_MARKS = ("█", "▒")
_COLOURS = ("blue", "orange")
_SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class XyChart:
    title: str
    y_name: str
    y_low: float
    y_high: float
    labels: list[str] = field(default_factory=list)  # categories (bar charts)
    x_name: str = ""
    x_low: float = 0.0
    x_high: float = 0.0
    bars: list[list[float]] = field(default_factory=list)
    lines: list[list[float]] = field(default_factory=list)


def parse_chart(source: str) -> XyChart | None:
    """An xychart as `mermaid.py` writes it, or None when it is not one."""
    title = _TITLE.search(source)
    y_axis = _Y_RANGE.search(source)
    if title is None or y_axis is None or "xychart-beta" not in source:
        return None
    try:
        chart = XyChart(title.group(1), y_axis.group(1), float(y_axis[2]), float(y_axis[3]))
        for kind, values in _SERIES.findall(source):
            numbers = [float(v) for v in values.split(",") if v.strip()]
            (chart.bars if kind == "bar" else chart.lines).append(numbers)
    except ValueError:
        return None
    categories = _CATEGORIES.search(source)
    x_range = _X_RANGE.search(source)
    if categories is not None:
        chart.labels = re.findall(r'"([^"]*)"', categories.group(1))
    elif x_range is not None:
        chart.x_name, chart.x_low, chart.x_high = x_range[1], float(x_range[2]), float(x_range[3])
    series = chart.bars + chart.lines
    if chart.labels and any(len(s) != len(chart.labels) for s in series):
        return None
    return chart if series else None


def _num(value: float) -> str:
    return f"{value:.4g}"


def _row_values(chart: XyChart) -> list[tuple[float, int]]:
    """Each row's (value, series), undoing the mask of a chart with negative values."""
    masked = chart.y_low < 0 and len(chart.bars) >= 3
    coloured = chart.bars[:-1] if masked else chart.bars
    rows = []
    for i in range(len(chart.labels)):
        column = [s[i] for s in coloured]
        series = max(range(len(column)), key=lambda k: column[k])
        if masked and chart.bars[-1][i] < 0:
            # The member series reaches zero; the others stay at the axis minimum.
            series = next((k for k, v in enumerate(column) if v > chart.y_low), 0)
            rows.append((chart.bars[-1][i], series))
        else:
            rows.append((column[series], series))
    return rows


def _bar_lines(chart: XyChart, width: int) -> list[str]:
    low, high = min(chart.y_low, 0.0), max(chart.y_high, 0.0)
    span = (high - low) or 1.0

    def col(value: float) -> int:
        return round((min(max(value, low), high) - low) / span * width)

    zero = col(0.0)
    label_width = max((len(label) for label in chart.labels), default=0)
    out = []
    for i, (value, series) in enumerate(_row_values(chart)):
        cells = [" "] * (width + 1)
        cells[zero] = "│"
        # The bar leaves the zero line visible; any value but zero shows one cell at least.
        if value > 0:
            span_cells = range(zero + 1, max(col(value), zero + 1) + 1)
        else:
            span_cells = range(min(col(value), zero - 1), zero) if value < 0 else range(0)
        for c in span_cells:
            if 0 <= c <= width:
                cells[c] = _MARKS[min(series, 1)]
        refs = [line[i] for line in chart.lines]
        for ref in refs:
            cells[col(ref)] = "┃"
        extra = "".join(f"  (line {_num(r)})" for r in refs)
        out.append(f"{chart.labels[i]:<{label_width}} {''.join(cells)} {_num(value)}{extra}")
    series_used = {s for _, s in _row_values(chart)}
    if len(series_used) > 1 and "blue" in chart.title:
        out.append("  ".join(f"{_MARKS[s]} {_COLOURS[s]}" for s in sorted(series_used)))
    return out


def _spark_lines(chart: XyChart) -> list[str]:
    low, high = chart.y_low, chart.y_high
    span = (high - low) or 1.0
    out = []
    for index, ys in enumerate(chart.lines):
        finite = [y for y in ys if math.isfinite(y)]
        if not finite:
            continue
        marks = "".join(
            _SPARKS[min(len(_SPARKS) - 1, max(0, int((y - low) / span * len(_SPARKS))))]
            for y in finite
        )
        name = _COLOURS[index] if index < len(_COLOURS) else f"series {index + 1}"
        out.append(
            f"{name:<6} {marks}  {_num(finite[0])} → {_num(finite[-1])}"
            f" (min {_num(min(finite))}, max {_num(max(finite))})"
        )
    out.append(f"x: {chart.x_name} {_num(chart.x_low)} to {_num(chart.x_high)}")
    return out


def draw_chart(chart: XyChart, width: int = 36) -> str:
    """The chart as lines of text: its title, its y axis, then the bars or sparklines."""
    head = [chart.title, f"{chart.y_name}: {_num(chart.y_low)} to {_num(chart.y_high)}"]
    body = _bar_lines(chart, width) if chart.labels else _spark_lines(chart)
    return "\n".join(head + body)


def replace_mermaid(markdown: str, width: int = 36) -> str:
    """Every ```mermaid block of `markdown` as a fenced text chart."""

    def text(match: re.Match[str]) -> str:
        chart = parse_chart(match.group(1))
        if chart is None:
            title = _TITLE.search(match.group(1))
            drawn = f"(a chart not drawn in a terminal: {title.group(1) if title else 'untitled'})"
        else:
            drawn = draw_chart(chart, width)
        return f"```text\n{drawn}\n```"

    return _BLOCK.sub(text, markdown)
