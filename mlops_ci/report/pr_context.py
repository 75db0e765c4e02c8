"""What the PR report template shows: the document's rows as escaped Markdown cells.

`build_context` orders the metrics (failed gates first, then gated, then the rest,
unchanged ones folded), cuts every list to `max_rows`, and escapes every string that
came from the pull request; the template only lays the cells out.

Pure: a `ReportDocument` in, a template context out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from mlops_ci.core.metric_history import history_from_json
from mlops_ci.core.metrics import format_delta, format_value, is_number
from mlops_ci.report import mermaid
from mlops_ci.report.baselines import base_header, baseline_cells, baseline_headers
from mlops_ci.report.document import GateRow, MetricRow, RenderOptions, ReportDocument
from mlops_ci.report.escape import md_code, md_text
from mlops_ci.report.history import render_history_markdown, trend_error_markdown
from mlops_ci.report.metric_charts import ChartMetric, metric_charts

__all__ = ["build_context", "verdict_line"]

_ICON = {"pass": "✅", "fail": "❌", "skip": "⏭️", "none": "ℹ️"}


def _cell(value: Any, precision: int) -> Markup:
    if is_number(value) or isinstance(value, bool) or value is None:
        return Markup(format_value(value, precision))  # noqa: S704 - a number we formatted
    if isinstance(value, str):
        return Markup(md_text(value, 80))  # noqa: S704 - escaped just now
    return Markup(md_text(format_value(value, precision), 80))  # noqa: S704


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)  # pragma: no cover


def verdict_line(doc: ReportDocument, precision: int = 4) -> str:
    """The first line a reviewer reads: all gates pass, or which failed and by how much."""
    failed = doc.failed_gates
    total = len(doc.gates)
    changed = sum(1 for m in doc.metrics if m.status != "unchanged")
    if failed:
        reasons = "; ".join(md_text(g.reason, 200) for g in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        noun = "gate" if total == 1 else "gates"
        return f"❌ **{len(failed)} of {total} {noun} failed**: {reasons}{more}"
    if total:
        skipped = sum(1 for g in doc.gates if g.verdict == "skip")
        noun = "gate passes" if total - skipped == 1 else "gates pass"
        extra = f" ({skipped} skipped)" if skipped else ""
        return f"✅ **All {total - skipped} {noun}**{extra} · {changed} metric(s) changed"
    return f"ℹ️ **No gates configured** · {changed} metric(s) changed"


def _row_name(row: MetricRow, qualify: bool) -> str:
    return f"{row.file}:{row.key}" if qualify else row.key


def _metric_cells(
    row: MetricRow, gates: Sequence[GateRow], qualify: bool, precision: int
) -> dict[str, Markup]:
    base: Any = row.base
    head: Any = row.head
    if row.status == "no_base":
        base_text = Markup("*no baseline*")
    elif row.status == "added":
        base_text = Markup("*new*")
    else:
        base_text = _cell(base, precision)
    head_text = Markup("*removed*") if row.status == "removed" else _cell(head, precision)
    gate_text = " ".join(_ICON[g.verdict] for g in gates)
    return {
        "name": Markup(md_text(_row_name(row, qualify), 120, name=True)),  # noqa: S704
        "base": base_text,
        "head": head_text,
        "delta": Markup(_delta(row, precision)),  # noqa: S704 - numbers and a fixed word
        "delta_pct": Markup(format_delta(row.delta_pct, 3, pct=True)),  # noqa: S704 - a number
        "gate": Markup(gate_text),  # noqa: S704 - icons only
    }


def _delta(row: MetricRow, precision: int) -> str:
    """`+0.013`, or with the bootstrap interval: `+0.013 [-0.004, +0.031] inconclusive`."""
    text = format_delta(row.delta, precision)
    if row.significance is None:
        return text
    if row.ci_low is None or row.ci_high is None:
        return f"{text} (interval undefined)"
    low, high = format_delta(row.ci_low, precision), format_delta(row.ci_high, precision)
    return f"{text} [{low}, {high}] {row.significance}"


def _chart_rows(doc: ReportDocument, limit: int = 24) -> list[MetricRow]:
    """Gated metrics, then the largest relative changes: what a chart should show."""
    gated = {(g.file, g.metric) for g in doc.gates}
    numeric = [
        m
        for m in doc.metrics
        if is_number(m.head) and not isinstance(m.head, bool) and math.isfinite(m.head)
    ]
    chosen = [m for m in numeric if (m.file, m.key) in gated]
    changed = [m for m in numeric if m.status == "changed" and (m.file, m.key) not in gated]
    if len(changed) > limit:
        import heapq

        def size(row: MetricRow) -> float:
            pct = row.delta_pct
            return abs(pct) if pct is not None and math.isfinite(pct) else 0.0

        changed = heapq.nlargest(limit, changed, key=size)
    return (chosen + changed)[:limit]


def _chart_metrics(doc: ReportDocument) -> list[ChartMetric]:
    """The chart rows as numbers; a key in two files is named `file/key` in both."""
    rows = _chart_rows(doc)
    keys = [m.key for m in rows]
    lookups = [{(m.file, m.key): m for m in c.metrics} for c in doc.baselines]

    def base_of(row: MetricRow | None) -> float | None:
        if row is None or row.status not in ("changed", "unchanged") or not is_number(row.base):
            return None
        return float(row.base)

    return [
        ChartMetric(
            f"{m.file}/{m.key}" if keys.count(m.key) > 1 else m.key,
            float(m.head),
            base_of(m),
            tuple(base_of(lookup.get((m.file, m.key))) for lookup in lookups),
        )
        for m in rows
    ]


def _charts(doc: ReportDocument, points: int) -> list[Markup]:
    names = [c.name for c in doc.baselines]
    charts = [
        Markup(c)  # noqa: S704 - labels escaped
        for c in metric_charts(_chart_metrics(doc), names)
    ]
    for plot in doc.plots[:4]:
        series = []
        if plot.head and plot.head.xs:
            series.append((plot.head.xs, plot.head.ys))
        if plot.base and plot.base.xs:
            series.append((plot.base.xs, plot.base.ys))
        title = plot.title or plot.id
        if len(series) == 2:
            title = f"{title} - head blue, base orange"
        chart = mermaid.line_chart(title, plot.x, plot.y, series, points)
        if chart:
            charts.append(Markup(chart))  # noqa: S704 - labels escaped
    return charts


def _gate_lookup(doc: ReportDocument) -> dict[tuple[str | None, str], list[GateRow]]:
    lookup: dict[tuple[str | None, str], list[GateRow]] = {}
    for gate in doc.gates:
        lookup.setdefault((gate.file, gate.metric), []).append(gate)
    return lookup


def _trend_section(doc: ReportDocument, precision: int) -> Markup:
    """The "trend on main" section from the document's history data (escaped there)."""
    if not doc.trend:
        return Markup("")
    if doc.trend.get("error"):
        branch = doc.trend.get("branch") or "the default branch"
        return Markup(trend_error_markdown(branch, doc.trend["error"]))  # noqa: S704
    try:
        history = history_from_json(doc.trend)
    except (KeyError, TypeError, ValueError):
        return Markup("")
    return Markup(render_history_markdown(history, precision=precision))  # noqa: S704


def build_context(doc: ReportDocument, options: RenderOptions) -> dict[str, Any]:
    """Everything the template shows, escaped; plus the raw document as `doc`."""
    precision = options.precision
    limit = options.max_rows
    no_base_notes = [
        Markup(f"{md_code(f, 160)}: {md_text(why, 200)}")  # noqa: S704
        for f, why in list(doc.metrics_no_base.items())[:20]
    ]
    return {
        "marker": Markup(options.marker),  # noqa: S704 - built by core.markers
        "verdict_line": Markup(verdict_line(doc, precision)),  # noqa: S704 - escaped inside
        "verdict": doc.verdict,
        "doc": doc,
        "gates": _gate_rows(doc.gates[:limit]),
        **_metric_context(doc, options),
        "max_rows": limit,
        **_param_context(doc.params, precision, limit),
        **_data_context(doc, limit),
        "charts": _charts(doc, options.plot_points),
        "no_base_notes": no_base_notes,
        "notes": [Markup(md_text(n, 300)) for n in doc.notes[:20]],  # noqa: S704
        **_revision_context(doc),
        **_reproducibility_context(doc),
        "run_url": doc.run_url,
        "trend": _trend_section(doc, precision),
    }


def _metric_context(doc: ReportDocument, options: RenderOptions) -> dict[str, Any]:
    """The metric tables: failed gates first, then other gated metrics, then the rest;
    unchanged metrics folded apart (unless `fold_unchanged` is off)."""
    qualify = len({m.file for m in doc.metrics}) > 1
    gate_lookup = _gate_lookup(doc)

    def gates_of(row: MetricRow) -> list[GateRow]:
        return gate_lookup.get((row.file, row.key), [])

    changed = [m for m in doc.metrics if m.status != "unchanged"]
    unchanged = [m for m in doc.metrics if m.status == "unchanged"]
    if not options.fold_unchanged:
        changed, unchanged = list(doc.metrics), []

    def priority(row: MetricRow) -> int:
        verdicts = {g.verdict for g in gates_of(row)}
        if "fail" in verdicts:
            return 0
        return 1 if verdicts else 2

    changed.sort(key=priority)  # stable: file order within each group
    # Gated metrics that did not change still belong at the top.
    gated_unchanged = [m for m in unchanged if gates_of(m)]
    unchanged = [m for m in unchanged if not gates_of(m)]
    shown = changed + gated_unchanged

    extra = baseline_cells(doc, options.precision)

    def rows(items: list[MetricRow]) -> list[dict[str, Any]]:
        return [
            {**_metric_cells(r, gates_of(r), qualify, options.precision), "extra": extra(r)}
            for r in items[: options.max_rows]
        ]

    return {
        "metrics_changed": rows(shown),
        "metrics_changed_total": len(shown),
        "metrics_unchanged": rows(unchanged),
        "metrics_unchanged_total": len(unchanged),
        "metrics_total": len(doc.metrics),
        "base_header": base_header(doc),
        "baseline_headers": baseline_headers(doc),
    }


def _param_context(params: Sequence[MetricRow], precision: int, limit: int) -> dict[str, Any]:
    changed = [p for p in params if p.status != "unchanged"]
    qualify = len({p.file for p in params}) > 1
    rows = [
        {
            "name": Markup(md_text(_row_name(p, qualify), 120, name=True)),  # noqa: S704
            "base": Markup("*new*")
            if p.status == "added"
            else Markup("*no baseline*")
            if p.status == "no_base"
            else _cell(p.base, precision),
            "head": Markup("*removed*") if p.status == "removed" else _cell(p.head, precision),
        }
        for p in changed[:limit]
    ]
    return {
        "params_changed": rows,
        "params_changed_total": len(changed),
        "params_total": len(params),
    }


def _data_context(doc: ReportDocument, limit: int) -> dict[str, Any]:
    rows = [
        {
            "path": Markup(md_code(e.path, 160)),  # noqa: S704
            "status": Markup(md_text(e.status)),  # noqa: S704
            "size_base": Markup(_size(e.size_base)),  # noqa: S704
            "size_head": Markup(_size(e.size_head)),  # noqa: S704
        }
        for e in doc.data.entries[:limit]
    ]
    note = doc.data.note
    return {
        "data_available": doc.data.available,
        "data_note": Markup(md_text(note, 300)) if note else None,  # noqa: S704
        "data_rows": rows,
        "data_total": len(doc.data.entries),
    }


def _gate_rows(gates: Sequence[GateRow]) -> list[dict[str, Markup]]:
    return [
        {
            "icon": Markup(_ICON[g.verdict]),  # noqa: S704
            "gate": Markup(  # noqa: S704
                md_text(g.gate, 120, name=True) + (f" (vs {md_text(g.vs, 100)})" if g.vs else "")
            ),
            "reason": Markup(md_text(g.reason, 300)),  # noqa: S704
        }
        for g in gates
    ]


def _revision_context(doc: ReportDocument) -> dict[str, Markup | None]:
    base_ref = doc.base.ref or ""
    head_ref = doc.head.ref or ""
    return {
        "base_ref": Markup(md_code(base_ref, 100)) if base_ref else None,  # noqa: S704
        "head_ref": Markup(md_code(head_ref, 100)) if head_ref else None,  # noqa: S704
        "base_sha": Markup(md_code(doc.base.sha or "unknown", 64)),  # noqa: S704
        "head_sha": Markup(md_code(doc.head.sha or "workspace", 64)),  # noqa: S704
        "baseline": Markup(md_text(doc.baseline, 20)),  # noqa: S704
        "comparing": Markup(_comparing(doc)) if base_ref or head_ref else None,  # noqa: S704
    }


def _comparing(doc: ReportDocument) -> str:
    """The "Comparing" sentence: prose, not a table cell, so `|` in a ref stays as it is."""

    def side(ref: str | None, sha: str | None, missing: str) -> str:
        code = md_code(sha or missing, 64, table=False)
        return f"{md_code(ref, 100, table=False)} ({code})" if ref else f"{code} ({code})"

    return (
        f"{side(doc.head.ref, doc.head.sha, 'workspace')} with "
        f"{side(doc.base.ref, doc.base.sha, 'unknown')}, baseline: {md_text(doc.baseline, 20)}"
    )


def _reproducibility_context(doc: ReportDocument) -> dict[str, Any]:
    repro = doc.reproducibility
    return {
        "run_time": Markup(f"{repro.run_seconds:.1f} s")  # noqa: S704
        if repro.run_seconds is not None
        else None,
        "pipeline": Markup(md_code(repro.pipeline, 200)) if repro.pipeline else None,  # noqa: S704
        "stages": [
            {"name": Markup(md_code(k, 100)), "hash": Markup(md_code(v, 64))}  # noqa: S704
            for k, v in list(repro.stages.items())[:50]
        ],
        # Escaped once here, so Markup (the template would escape a plain str again).
        "versions": Markup(  # noqa: S704
            ", ".join(f"{md_text(k, 40)} {md_text(v, 40)}" for k, v in repro.versions.items())
        ),
        "ran_stages": Markup(  # noqa: S704
            ", ".join(
                f"{md_code(k, 100)} ({_duration(v)})"
                for k, v in list(repro.stage_seconds.items())[:50]
            )
        ),
        "restored": Markup(  # noqa: S704
            ", ".join(
                md_code(k, 100) + (f" (≈ {_duration(v)} saved)" if v is not None else "")
                for k, v in list(repro.restored.items())[:50]
            )
        ),
    }


def _duration(seconds: float) -> str:
    """`1.2 s` under a minute, `3.4 min` from there."""
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min"
