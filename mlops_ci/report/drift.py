"""The monitoring report (`drift.md`), the model's drift issue and its closing comment.

The monitor hands over `DriftFindings` (plain data: the drift and quality reports of
`core`, where the data came from); everything here is text. Feature names, file names
and URLs come from the data and the configuration, so every one is escaped
(`md_code`, `plain`) before it reaches Markdown; what is marked safe (`Markup`) was
built here from escaped or sanitised parts.

Pure: no I/O except reading the packaged templates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from mlops_ci.core.drift import DriftReport, FeatureDrift
from mlops_ci.core.gates import GateResult
from mlops_ci.core.markers import drift_issue_marker
from mlops_ci.core.quality import QualityReport
from mlops_ci.report.escape import md_code, plain

#: Features in the report's main table; the rest are folded away.
TABLE_ROWS = 30
#: Drifted features listed in the issue.
ISSUE_ROWS = 20
#: Features in the chart.
CHART_BARS = 20


@dataclass(frozen=True)
class DataShown:
    """A data source as the report names it."""

    source: str
    rows: int
    #: The commit the data was read at (the reference, through DVC), if any.
    revision: str | None = None


@dataclass(frozen=True)
class ServedVersion:
    """A model version whose answers the current data (an inference log) holds."""

    version: str
    rows: int
    first: datetime | None = None
    last: datetime | None = None


@dataclass(frozen=True)
class DriftFindings:
    """What one monitoring run of one model found, as the report shows it."""

    model: str
    stage: str
    version: str | None
    commit: str | None
    drift: DriftReport
    quality: QualityReport | None
    quality_note: str | None
    reference: DataShown
    current: DataShown
    generated_at: str
    run_url: str | None = None
    #: The versions that answered the current data, when it is an inference log.
    served: tuple[ServedVersion, ...] = ()


def fmt(value: float | None, digits: int = 4) -> str:
    """A number for a table cell: short, with `–` for none and `∞`/`NaN` spelled out."""
    if value is None:
        return "–"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value != 0 and (abs(value) < 10 ** -(digits - 1) or abs(value) >= 10**6):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}".rstrip("0")


def pct(share: float) -> str:
    """A share (0..1) as a whole percentage."""
    return f"{share * 100:.0f}%"


def _render(name: str, context: Mapping[str, Any]) -> str:
    from mlops_ci.report.render import render_packaged

    def number(value: Any) -> str:
        return fmt(float(value)) if isinstance(value, float) else str(value)

    return render_packaged(name, context, text_limit=300, number=number)


_NOTES = {
    "constant": "one value on both sides",
    "all_missing": "no values on one side: not tested",
    "missing_in_reference": "absent from the reference: not tested",
    "missing_in_current": "absent from the current data: not tested",
    "type_mismatch": "types differ: not tested",
    "unsupported_test": "test needs numbers: not tested",
}


def _row(f: FeatureDrift) -> dict[str, Any]:
    notes = []
    if f.status in _NOTES:
        notes.append(_NOTES[f.status])
    if f.detail and f.status not in ("ok", "constant"):
        notes.append(f.detail)
    if f.unseen_current:
        notes.append(f"{pct(f.unseen_current)} unseen categories")
    if f.approximate:
        what = "D" if f.test == "ks" else "score"
        bound = f" ({what} ±{fmt(f.error_bound)})" if f.error_bound is not None else ""
        notes.append(f"approximate{bound}")
    icon = "🔴" if f.drifted else ("🟢" if f.tested else "⚪")
    direction = "p <" if f.test in ("ks", "chisquare") else ">"
    return {
        "name": Markup(md_code(f.name, 80)),  # noqa: S704 - escaped by md_code
        "test": f.test or "–",
        "score": fmt(f.score),
        "threshold": f"{direction} {fmt(f.threshold)}" if f.threshold is not None else "–",
        "icon": icon,
        "missing": f"{pct(f.missing_reference)} → {pct(f.missing_current)}",
        "note": "; ".join(notes),
    }


def drift_chart(report: DriftReport) -> tuple[str, str]:
    """A Mermaid chart of the most severe features: scores as bars, thresholds as a line.

    When every charted feature uses one distance test the raw scores are drawn;
    otherwise (mixed tests, or p-values, where smaller is worse) each score is drawn
    relative to its threshold (see `FeatureDrift.severity`), with the threshold at 1.
    """
    from mlops_ci.report.mermaid import BarPoint, bar_chart

    tested = [f for f in report.features if f.tested][:CHART_BARS]
    if not tested:
        return "", ""
    tests = {f.test for f in tested}
    raw = len(tests) == 1 and next(iter(tests)) not in ("ks", "chisquare")
    if raw:
        points = [
            BarPoint(f.name, _finite(f.score or 0.0), float(f.threshold or 0.0)) for f in tested
        ]
        title = f"{next(iter(tests))} score by feature, line = threshold"
        note = "Bars: drift score of each feature; line: its threshold. Above the line = drift."
    else:
        points = [BarPoint(f.name, _finite(f.severity), 1.0) for f in tested]
        title = "Drift severity by feature, line = threshold 1"
        note = (
            "Bars: score relative to its threshold (distances: score / threshold; p-values: "
            "log p / log threshold); line at 1 = threshold. Above the line = drift."
        )
    return bar_chart(title, points), note


def _finite(value: float, cap: float = 1e6) -> float:
    return cap if not math.isfinite(value) else min(value, cap)


def _verdict(findings: DriftFindings) -> tuple[str, str]:
    report = findings.drift
    if not report.tested:
        return "⚪", "No feature could be tested."
    if report.dataset_drift:
        return "🔴", "Dataset drift."
    if findings.quality is not None and findings.quality.degraded:
        return "🟠", "No dataset drift, but model quality degraded."
    if report.drifted:
        return "🟡", "No dataset drift."
    return "🟢", "No drift."


def _gate_cell(gate: GateResult | None) -> str:
    if gate is None:
        return "–"
    icon = "❌" if gate.failed else "✅" if gate.verdict == "pass" else "⏭️"
    return f"{icon} {gate.reason}"


def _quality_context(quality: QualityReport | None) -> dict[str, Any] | None:
    if quality is None:
        return None
    by_metric = {r.metric: r for r in quality.gates.results}
    rows = [
        {
            "metric": metric,
            "recorded": fmt(quality.recorded.get(metric)),
            "current": fmt(value),
            "gate": _gate_cell(by_metric.get(metric)),
        }
        for metric, value in quality.metrics.items()
    ]
    failed = quality.gates.failed
    return {
        "rows": quality.rows,
        "skipped_rows": quality.skipped_rows,
        "verdict": "degraded" if failed else "within its gates",
        "rows_table": rows,
        "degraded": bool(failed),
        "failures": "; ".join(r.reason for r in failed),
    }


def _source_context(source: DataShown) -> dict[str, Any]:
    return {
        "source": Markup(md_code(source.source, 200)),  # noqa: S704 - escaped by md_code
        "rows": source.rows,
        "revision": (source.revision or "")[:12],
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "?"


def served_line(served: Sequence[ServedVersion], holder: str | None = None) -> str:
    """`Served version: `v1.2.0` (1,234 logged rows, 2026-03-01 12:00 – 2026-03-02
    09:14 UTC)`, for every version an inference log holds; empty when there is none.
    Says so when the stage holder is not among them (drift is measured against the
    holder's training data)."""
    if not served:
        return ""
    parts = []
    for v in served:
        period = ""
        if v.first is not None or v.last is not None:
            period = f", {_when(v.first)} – {_when(v.last)} UTC"
        parts.append(f"{md_code(v.version, 80)} ({v.rows:,} logged rows{period})")
    label = "Served version" if len(served) == 1 else "Served versions"
    line = f"{label}: {'; '.join(parts)}"
    if holder and holder not in {v.version for v in served}:
        line += f"; the stage is now held by {md_code(holder, 80)}"
    return line


def _counts(findings: DriftFindings) -> dict[str, Any]:
    """The numbers the report and the issue both state."""
    report = findings.drift
    return {
        "model": findings.model,
        "stage": findings.stage,
        "version": findings.version or "",
        "n_drifted": len(report.drifted),
        "n_tested": len(report.tested),
        "share_pct": pct(report.share),
        "threshold_pct": pct(report.drift_share),
        "quality": _quality_context(findings.quality),
        "generated_at": findings.generated_at,
        "run_url": Markup(findings.run_url) if findings.run_url else "",  # noqa: S704
        # Version names are escaped by md_code in served_line.
        "served": Markup(served_line(findings.served, findings.version)),  # noqa: S704
    }


def _approximation(report: DriftReport) -> str:
    """What the report says when features were read from sketches, with the bounds."""
    approximate = report.approximate
    if not approximate:
        return ""
    ks = [f.error_bound for f in approximate if f.test == "ks" and f.error_bound is not None]
    other = [f for f in approximate if f.test != "ks" and f.error_bound is not None]
    bounds = []
    if ks:
        bounds.append(f"KS within ±{fmt(max(ks), 2)}")
    if other:
        worst = max(other, key=lambda f: f.error_bound or 0.0)
        bounds.append(f"{worst.test} within ±{fmt(worst.error_bound, 2)} (worst feature)")
    told = f"; {', '.join(bounds)}" if bounds else ""
    return f"{report.method}{told}"


def render_report(findings: DriftFindings) -> str:
    """drift.md: verdict, quality, per-feature table by severity, chart, sources."""
    from mlops_ci.report.budget import COMMENT_LIMIT, fit

    icon, verdict = _verdict(findings)
    rows = [_row(f) for f in findings.drift.features]
    chart, chart_note = drift_chart(findings.drift)
    marker = drift_issue_marker(findings.model).replace("mlops-ci:drift ", "mlops-ci:drift-report ")
    context = {
        **_counts(findings),
        "marker": Markup(marker),  # noqa: S704 - built from sanitised parts
        "icon": icon,
        "verdict": verdict,
        "commit": (findings.commit or "")[:12],
        "quality_note": findings.quality_note,
        "approximation": _approximation(findings.drift),
        "rows": rows[:TABLE_ROWS],
        "folded": rows[TABLE_ROWS:],
        "chart": Markup(chart),  # noqa: S704 - labels pass through mermaid_label
        "chart_note": chart_note,
        "reference": _source_context(findings.reference),
        "current": _source_context(findings.current),
    }
    body = _render("drift_report.md.j2", context)
    return fit(body.strip() + "\n", limit=COMMENT_LIMIT, marker=marker)


def render_issue(findings: DriftFindings, dispatched: str | None = None) -> tuple[str, str]:
    """(title, body) of the model's drift issue; `dispatched` names the retrain request."""
    icon, verdict = _verdict(findings)
    drifted = [_row(f) for f in findings.drift.drifted]
    context = {
        **_counts(findings),
        "marker": Markup(drift_issue_marker(findings.model)),  # noqa: S704 - sanitised
        "verdict": f"{icon} {verdict}",
        "rows": drifted[:ISSUE_ROWS],
        "more": max(len(drifted) - ISSUE_ROWS, 0),
        "current": Markup(md_code(findings.current.source, 200)),  # noqa: S704
        "reference": Markup(md_code(findings.reference.source, 200)),  # noqa: S704
        "dispatched": dispatched,
    }
    body = _render("drift_issue.md.j2", context)
    title = plain(f"Drift detected: {findings.model} ({findings.stage})", 200)
    return title, body.strip() + "\n"


def dispatch_note(workflow: str, ref: str) -> str:
    """How the issue names the retraining it requested."""
    return f"`{workflow}` on `{ref}`"


def cleared_comment(findings: DriftFindings) -> str:
    """The comment that closes the drift issue once the drift has cleared."""
    report = findings.drift
    return (
        f"Drift cleared: {len(report.drifted)} of {len(report.tested)} features drift now, "
        f"below the {pct(report.drift_share)} threshold ({findings.generated_at})."
    )
