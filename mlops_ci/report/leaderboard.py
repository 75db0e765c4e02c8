"""A sweep's leaderboard: its data (`leaderboard.json`, schema version 1) and its Markdown.

The sweep service builds a `Leaderboard` from the runs' records (untrusted: they come
from matrix jobs' artifacts); everything a run reported is escaped here before it
reaches the sandboxed template, and `Markup` marks only text we escaped or built from
numbers and checked ids.

Pure: no I/O except reading the packaged template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from mlops_ci.core import experiments as core_exp
from mlops_ci.core import metrics as core_metrics
from mlops_ci.report import mermaid
from mlops_ci.report.budget import COMMENT_LIMIT, fit
from mlops_ci.report.escape import md_code, md_text
from mlops_ci.report.render import GateRow, MetricRow, Revision, render_packaged

TEMPLATE = "sweep_report.md.j2"
_ICON = {"pass": "✅", "fail": "❌", "skip": "⏭️", "none": "—"}


class LeaderboardRow(BaseModel):
    """One run on the leaderboard."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    id: str
    rank: int | None = None
    best: bool = False
    status: Literal["ok", "failed", "no_metric"]
    error: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    primary: float | None = None
    primary_base: float | None = None
    primary_delta: float | None = None
    verdict: Literal["pass", "fail", "none"] = "none"
    gates: list[GateRow] = Field(default_factory=list)
    metrics: list[MetricRow] = Field(default_factory=list)
    code_sha: str | None = None
    run_seconds: float | None = None
    data: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    source: str | None = None


class Leaderboard(BaseModel):
    """`leaderboard.json`: the merged sweep, as data (schema version 1)."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    schema_version: Literal[1] = 1
    metric: str
    direction: Literal["higher", "lower"]
    keys: list[str] = Field(default_factory=list)
    base: Revision = Field(default_factory=Revision)  # type: ignore[arg-type, unused-ignore]
    base_missing: dict[str, str] = Field(default_factory=dict)
    rows: list[LeaderboardRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def best(self) -> list[LeaderboardRow]:
        return [r for r in self.rows if r.best]

    @property
    def failed(self) -> list[LeaderboardRow]:
        return [r for r in self.rows if r.status == "failed"]


def render_leaderboard(
    board: Leaderboard,
    *,
    marker: str,
    precision: int = 4,
    limit: int | None = None,
    full_report_url: str | None = None,
) -> str:
    """The leaderboard as Markdown (sandboxed template, cut to `limit` characters)."""
    body = render_packaged(TEMPLATE, leaderboard_context(board, marker, precision))
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return fit(
        body,
        limit=limit if limit is not None else COMMENT_LIMIT,
        full_report_url=full_report_url,
        marker=marker,
    )


def leaderboard_context(board: Leaderboard, marker: str, precision: int) -> dict[str, Any]:
    """Everything the leaderboard template prints, escaped (Markup marks what is safe)."""
    keys = board.keys
    metric = md_text(board.metric, 80)
    charts, worst = _effect_charts(board, keys)
    return {
        "marker": Markup(marker),  # noqa: S704 - built from sanitised parts
        "headline": Markup(_headline(board, metric, precision)),  # noqa: S704 - escaped parts
        "counts": Markup(_counts(board)),  # noqa: S704 - numbers only
        "metric": Markup(metric),  # noqa: S704
        "direction": board.direction,
        "headers": [Markup(md_text(_short_key(k, keys), 60)) for k in keys],  # noqa: S704
        "rows": [_table_row(row, board, precision) for row in board.rows],
        "charts": charts,
        "chart_note": Markup(_chart_note(board, worst, precision)),  # noqa: S704 - escaped parts
        "details": [_details(row, keys, precision) for row in board.rows],
        "base": _base_label(board),
        "base_missing": [
            Markup(f"{md_code(f, 160)}: {md_text(w, 200)}")  # noqa: S704
            for f, w in list(board.base_missing.items())[:20]
        ],
        "notes": [Markup(md_text(n, 300)) for n in board.notes[:20]],  # noqa: S704
    }


# --- the table of runs ------------------------------------------------------------------


def _fmt(value: Any, precision: int) -> str:
    """A param or metric value as a table cell: numbers formatted, anything else escaped."""
    if core_metrics.is_number(value) or isinstance(value, bool) or value is None:
        return core_metrics.format_value(value, precision)
    return md_text(core_metrics.format_value(value, precision), 80)


def _short_key(key: str, keys: Sequence[str]) -> str:
    """The last segment of a dotted key when it names only one swept key."""
    last = key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    clashes = sum(1 for k in keys if k.rsplit(".", 1)[-1].rsplit(":", 1)[-1] == last)
    return last if clashes == 1 else key


def _setting(row: LeaderboardRow, keys: Sequence[str]) -> str:
    """`key=value ...` of a run's swept values (not escaped: callers put it in code)."""
    return " ".join(
        f"{_short_key(k, keys)}={core_exp.format_value(row.set[k])}" for k in keys if k in row.set
    )


def _status(row: LeaderboardRow, metric: str) -> str:
    if row.status == "failed":
        return "❌ failed: " + md_text(row.error or "unknown error", 160)
    if row.status == "no_metric":
        return f"⚠️ no {md_text(metric, 60)}"
    return "ok"


def _table_row(row: LeaderboardRow, board: Leaderboard, precision: int) -> dict[str, Any]:
    place = "—" if row.rank is None else str(row.rank)
    run_id = md_text(row.id, 64)
    primary = _fmt(row.primary, precision) if row.primary is not None else "—"
    if row.best:
        place, run_id, primary = f"🏆 **{place}**", f"**{run_id}**", f"**{primary}**"
    return {
        "rank": Markup(place),  # noqa: S704 - escaped above
        "id": Markup(run_id),  # noqa: S704
        "cells": [
            Markup(_fmt(row.set[k], precision) if k in row.set else "—")  # noqa: S704
            for k in board.keys
        ],
        "primary": Markup(primary),  # noqa: S704
        "delta": Markup(  # noqa: S704 - a number
            core_metrics.format_delta(row.primary_delta, precision)
        ),
        "gates": Markup(" ".join(_ICON[g.verdict] for g in row.gates) or "—"),  # noqa: S704
        "status": Markup(_status(row, board.metric)),  # noqa: S704
    }


def _headline(board: Leaderboard, metric: str, precision: int) -> str:
    """The best run and its values, or why there is none (`metric` already escaped)."""
    best = board.best
    if not best:
        return f"⚠️ **No run to rank** by {metric}"
    top = best[0]
    delta = ""
    if top.primary_delta is not None:
        delta = f" ({core_metrics.format_delta(top.primary_delta, precision)} vs base)"
    setting = md_code(_setting(top, board.keys) or "-", 300)
    return (
        f"🏆 **Best: {md_text(top.id, 64)}** · {metric} "
        f"**{_fmt(top.primary, precision)}**{delta} with {setting}"
    )


def _counts(board: Leaderboard) -> str:
    total = len(board.rows)
    failed = board.failed
    return (
        f"{total} run" + ("" if total == 1 else "s") + (f", {len(failed)} failed" if failed else "")
    )


def _base_label(board: Leaderboard) -> Markup | None:
    if not board.base.sha:
        return None
    return Markup(  # noqa: S704
        f"{md_code(board.base.ref or 'base', 100)} at {md_code(board.base.sha[:12], 20)}"
    )


# --- charts --------------------------------------------------------------------------


def _effect_charts(board: Leaderboard, keys: Sequence[str]) -> tuple[list[str], float | None]:
    """The primary metric per value of each swept param: best run as bars, mean as a line.

    Drawn as the margin over the worst run (so the longest bar is the best value, and
    the worst run is zero): an axis from zero would flatten 0.95 against 0.97 into one
    length, and a bar chart cannot show negative changes honestly. Returns the charts
    and the worst run's value they are measured from.
    """
    runs = [(row.set, float(row.primary)) for row in board.rows if row.primary is not None]
    if not runs:
        return [], None
    higher = board.direction == "higher"
    worst = min(v for _, v in runs) if higher else max(v for _, v in runs)
    effects = core_exp.param_effects(
        [(params, (v - worst) if higher else (worst - v)) for params, v in runs],
        keys,
        "higher",
    )
    charts: list[str] = []
    for effect in effects[:6]:
        title = f"{board.metric} over the worst run, by {_short_key(effect.key, keys)}"
        points = [
            mermaid.BarPoint(label, best, mean)
            for label, best, mean in zip(effect.labels, effect.best, effect.mean, strict=True)
        ]
        charts.append(Markup(mermaid.bar_chart(title, points)))  # noqa: S704 - labels escaped
    return charts, worst


def _chart_note(board: Leaderboard, worst: float | None, precision: int) -> str:
    if worst is None:
        return ""
    better = "higher" if board.direction == "higher" else "lower"
    return (
        f"How much better than the worst run ({md_text(board.metric, 80)} "
        f"{core_metrics.format_value(worst, precision)}, {better} is better) each value "
        "of a parameter does: bars for its best run, the line for the mean of its runs."
    )


# --- one run's details ---------------------------------------------------------------


def _metric_rows(row: LeaderboardRow, precision: int) -> list[dict[str, Markup]]:
    def base(m: MetricRow) -> str:
        if m.status == "no_base":
            return "*no baseline*"
        if m.status == "added":
            return "*new*"
        return _fmt(m.base, precision)

    return [
        {
            "name": Markup(md_text(m.key, 120)),  # noqa: S704
            "base": Markup(base(m)),  # noqa: S704
            "head": Markup(_fmt(m.head, precision)),  # noqa: S704
            "delta": Markup(core_metrics.format_delta(m.delta, precision)),  # noqa: S704
            "delta_pct": Markup(  # noqa: S704
                core_metrics.format_delta(m.delta_pct, 3, pct=True)
            ),
        }
        for m in row.metrics[:200]
    ]


def _gate_rows(row: LeaderboardRow) -> list[dict[str, Markup]]:
    return [
        {
            "icon": Markup(_ICON[g.verdict]),  # noqa: S704
            "gate": Markup(md_text(g.gate, 120)),  # noqa: S704
            "reason": Markup(md_text(g.reason, 300)),  # noqa: S704
        }
        for g in row.gates[:50]
    ]


def _summary(row: LeaderboardRow, precision: int) -> Markup:
    # Inside <summary> Markdown escapes show as typed: only the run id (checked to be
    # plain letters, digits and . _ -) and a number go there.
    verdict_icon = "❌" if row.status == "failed" else _ICON[row.verdict]
    value = ""
    if row.primary is not None:
        value = f" · {core_metrics.format_value(row.primary, precision)}"
    return Markup(f"{verdict_icon} {row.id}{value}")  # noqa: S704 - a checked id and a number


def _details(row: LeaderboardRow, keys: Sequence[str], precision: int) -> dict[str, Any]:
    versions = ", ".join(
        f"{md_text(k, 40)} {md_text(v, 40)}" for k, v in list(row.environment.items())[:8]
    )
    return {
        "summary": _summary(row, precision),
        "setting": Markup(md_code(_setting(row, keys) or "-", 300)),  # noqa: S704
        "failed": row.status == "failed",
        "error": Markup(md_text(row.error or "", 1000)),  # noqa: S704
        "gates": _gate_rows(row),
        "metrics": _metric_rows(row, precision),
        "code_sha": Markup(md_code(row.code_sha or "unknown", 64)),  # noqa: S704
        "run_time": Markup(  # noqa: S704 - a number
            f"{row.run_seconds:.1f} s" if row.run_seconds is not None else "—"
        ),
        "data": [
            {"path": Markup(md_code(p, 160)), "md5": Markup(md_code(h[:12], 20))}  # noqa: S704
            for p, h in list(row.data.items())[:20]
        ],
        "versions": Markup(versions),  # noqa: S704 - escaped above
    }
