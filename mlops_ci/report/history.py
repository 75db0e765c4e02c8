"""Metric history as Markdown: a Mermaid line chart per metric and a folded table.

Used by `mlops-ci metrics history --markdown` and by the PR report's "trend on main"
section. Commit subjects and branch and metric names come from whoever pushed them:
every string is escaped.

Pure: data in, Markdown out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from mlops_ci.core.metric_history import MetricHistory
from mlops_ci.core.metrics import format_value
from mlops_ci.report import mermaid
from mlops_ci.report.escape import ZWJ, md_code, md_text, plain

__all__ = ["render_history_markdown", "trend_error_markdown"]

# How many metrics the folded table shows, and how many "missing" notes follow it.
_TABLE_METRICS = 8
_MISSING_NOTES = 10


def render_history_markdown(
    history: MetricHistory,
    *,
    precision: int = 4,
    heading: str | None = None,
    max_charts: int = 4,
    max_rows: int = 30,
    directions: Mapping[str, str] | None = None,
) -> str:
    """A Markdown section: a Mermaid line chart per metric (up to `max_charts`) and a
    folded table of the values per commit (newest first). Every string is escaped."""
    title = heading if heading is not None else f"Trend on {history.branch}"
    lines = [f"### {md_text(title, 100)}", ""]
    if not history.commits:
        lines.append("No commits to show.")
        return "\n".join(lines) + "\n"
    charts = _charts(history, precision, max_charts, directions or {})
    for chart in charts:
        lines += [chart, ""]
    if not charts:
        lines += ["Too few commits with numeric values to draw a trend.", ""]
    lines += _table(history, precision, max_rows)
    for name, why in list(history.missing.items())[:_MISSING_NOTES]:
        lines += ["", f"> {md_code(name, 100)}: {md_text(why, 200)}"]
    return "\n".join(lines).rstrip() + "\n"


def trend_error_markdown(branch: object, reason: object) -> str:
    """The trend section when there is no history to show, saying why (both escaped:
    they may come from a fork's report.json)."""
    return f"### Trend on {md_text(branch, 100)}\n\nNo trend: {md_text(reason, 300)}\n"


def _charts(
    history: MetricHistory, precision: int, max_charts: int, directions: Mapping[str, str]
) -> list[str]:
    charts: list[str] = []
    for metric in history.metrics:
        if len(charts) >= max_charts:
            break
        series = history.series(metric)
        if len(series) < 2:
            continue
        xs = [float(i) for i in range(1, len(series) + 1)]
        # The chart's axis starts at zero, which would flatten 0.95 → 0.97 into a flat
        # line: draw the change since the oldest commit shown instead.
        first_commit, first = series[0]
        ys = [value - first for _, value in series]
        better = directions.get(metric)
        suffix = f", {better} is better" if better else ""
        chart = mermaid.line_chart(
            f"{metric} over the last {len(series)} commits{suffix}",
            "commit, oldest to newest",
            f"change since {first_commit.sha[:8]}, was {format_value(first, precision)}",
            [(xs, ys)],
            points=min(len(xs), 50),
        )
        if chart:
            charts.append(chart)
    return charts


def _table(history: MetricHistory, precision: int, max_rows: int) -> list[str]:
    """The values per commit, newest first, folded in a <details> block."""
    shown = history.metrics[:_TABLE_METRICS]
    newest = list(reversed(history.commits))[:max_rows]
    header = "| commit | date | " + " | ".join(md_text(m, 60) for m in shown) + " |"
    rule = "|---|---|" + "--:|" * len(shown)
    # Inside the <details> HTML block Markdown is not parsed: a code span would show its
    # content as raw HTML, so the (untrusted) branch name is HTML-escaped here instead.
    branch = html.escape(plain(history.branch, 80), quote=True).replace("@", "@" + ZWJ)
    lines = [
        f"<details><summary>{len(history.commits)} commit(s) of <code>{branch}</code></summary>",
        "",
        header,
        rule,
    ]
    for commit in newest:
        cells = []
        for metric in shown:
            value = commit.values.get(metric)
            text = format_value(value, precision) if metric in commit.values else "—"
            cells.append(md_text(text, 40))
        lines.append(
            f"| {md_code(commit.sha[:8], 12)} {md_text(commit.subject, 60)} "
            f"| {md_text(commit.time[:10], 12)} | " + " | ".join(cells) + " |"
        )
    lines += ["", "</details>"]
    return lines
