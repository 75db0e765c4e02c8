"""The PR report: its data (`report.json`, schema version 1) and its Markdown.

`ReportDocument` is the whole report as data. The service builds it from the
diff and the gates; `mlops-ci post` validates one from a fork's bundle. Either
way the Markdown is rendered here from the data, in a sandboxed Jinja2
environment whose every `{{ }}` output is escaped unless it was produced by our
own escaping (so a user template that prints a raw metric name is still safe).

Pure: no I/O except reading the packaged template (or the text of a user's).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlops_ci.core.gates import GateResult, GateSummary
from mlops_ci.core.metrics import MetricDelta, format_delta, format_value, is_number
from mlops_ci.errors import ConfigError
from mlops_ci.report import mermaid
from mlops_ci.report.budget import COMMENT_LIMIT, fit
from mlops_ci.report.escape import md_code, md_text, plain

SCHEMA_VERSION: Literal[1] = 1
DEFAULT_TEMPLATE = "pr_report.md.j2"

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _revive(value: Any) -> Any:
    """JSON has no NaN/inf: we write them as strings and read them back as floats."""
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")


class MetricRow(_Model):
    """One metric or param at base and head."""

    file: str = Field(max_length=1000)
    key: str = Field(max_length=1000)
    base: Any = None
    head: Any = None
    status: Literal["changed", "unchanged", "added", "removed", "no_base"]
    delta: float | None = None
    delta_pct: float | None = None

    _revive_values = field_validator("base", "head", mode="before")(
        lambda v: _revive(v)  # noqa: PLW0108 - pydantic needs a plain callable
    )

    @classmethod
    def from_delta(cls, row: MetricDelta) -> MetricRow:
        # Our own diff's rows need no validation (10,000 of them cost 0.1 s otherwise).
        return cls.model_construct(
            file=row.file,
            key=row.key,
            base=row.base,
            head=row.head,
            status=row.status,
            delta=row.delta,
            delta_pct=row.delta_pct,
        )

    def to_delta(self) -> MetricDelta:
        return MetricDelta(
            self.file, self.key, self.base, self.head, self.status, self.delta, self.delta_pct
        )


class GateRow(_Model):
    gate: str = Field(max_length=1000)
    metric: str = Field(max_length=1000)
    file: str | None = Field(None, max_length=1000)
    verdict: Literal["pass", "fail", "skip"]
    reason: str = Field(max_length=4000)
    base: Any = None
    head: Any = None

    _revive_values = field_validator("base", "head", mode="before")(
        lambda v: _revive(v)  # noqa: PLW0108
    )

    @classmethod
    def from_result(cls, result: GateResult) -> GateRow:
        return cls(
            gate=result.gate,
            metric=result.metric,
            file=result.file,
            verdict=result.verdict,
            reason=result.reason,
            base=result.base,
            head=result.head,
        )


class DataEntry(_Model):
    path: str = Field(max_length=4000)
    status: Literal["added", "modified", "deleted", "renamed", "not in cache"]
    size_base: int | None = None
    size_head: int | None = None


class DataDiff(_Model):
    available: bool = False
    note: str | None = Field(None, max_length=2000)
    entries: list[DataEntry] = Field(default_factory=list)


class PlotSeries(_Model):
    xs: list[float] = Field(default_factory=list, max_length=100_000)
    ys: list[float] = Field(default_factory=list, max_length=100_000)


class PlotRow(_Model):
    id: str = Field(max_length=1000)
    title: str = Field("", max_length=1000)
    x: str = Field("x", max_length=200)
    y: str = Field("y", max_length=200)
    head: PlotSeries | None = None
    base: PlotSeries | None = None


class Revision(_Model):
    ref: str | None = Field(None, max_length=1000)
    sha: str | None = Field(None, max_length=64)


class Reproducibility(_Model):
    run_seconds: float | None = None
    pipeline: str | None = Field(None, max_length=2000)
    stages: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)


class ReportDocument(_Model):
    """`report.json`: everything the PR report shows, as data (schema version 1)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    generator: str = Field("mlops-ci", max_length=200)
    repository: str | None = Field(None, max_length=200)
    pr_number: int | None = None
    run_url: str | None = Field(None, max_length=2000)
    base: Revision = Field(default_factory=Revision)  # type: ignore[arg-type, unused-ignore]
    head: Revision = Field(default_factory=Revision)  # type: ignore[arg-type, unused-ignore]
    baseline: str = Field("dvc", max_length=50)
    verdict: Literal["pass", "fail", "none"] = "none"
    metrics: list[MetricRow] = Field(default_factory=list)
    params: list[MetricRow] = Field(default_factory=list)
    gates: list[GateRow] = Field(default_factory=list)
    metrics_no_base: dict[str, str] = Field(default_factory=dict)
    params_no_base: dict[str, str] = Field(default_factory=dict)
    data: DataDiff = Field(default_factory=DataDiff)  # type: ignore[arg-type, unused-ignore]
    plots: list[PlotRow] = Field(default_factory=list)
    reproducibility: Reproducibility = Field(default_factory=Reproducibility)  # type: ignore[arg-type, unused-ignore]
    notes: list[str] = Field(default_factory=list)
    # `report.trend`: metric history of the base branch, as data (see core/metric_history.py).
    trend: dict[str, Any] | None = None

    @property
    def failed_gates(self) -> list[GateRow]:
        return [g for g in self.gates if g.verdict == "fail"]

    def with_lock_problem(self, reason: str) -> ReportDocument:
        """A stale `dvc.lock` under `pipeline.lock: check` fails the report like a gate."""
        row = GateRow(gate="dvc.lock", metric="dvc.lock", verdict="fail", reason=reason[:4000])
        return self.model_copy(update={"gates": [*self.gates, row], "verdict": "fail"})

    def with_gates(self, summary: GateSummary) -> ReportDocument:
        return self.model_copy(
            update={
                "gates": [GateRow.from_result(r) for r in summary.results],
                "verdict": summary.verdict,
            }
        )


# --- rendering --------------------------------------------------------------------


@dataclass(frozen=True)
class RenderOptions:
    """How to render: from `report:` in mlops-ci.yaml, plus the marker."""

    marker: str
    fold_unchanged: bool = True
    max_rows: int = 200
    precision: int = 4
    template_text: str | None = None
    template_name: str = DEFAULT_TEMPLATE
    limit: int = COMMENT_LIMIT
    full_report_url: str | None = None
    plot_points: int = 50


_MARKER_SAFE = re.compile(r"[^A-Za-z0-9_.\-/ ]")


def marker_text(kind: str = "pr-report", workflow: str | None = None) -> str:
    """The hidden HTML comment that identifies our sticky comment (one per workflow)."""
    name = _MARKER_SAFE.sub("_", kind)[:100] or "pr-report"
    suffix = f" workflow={_MARKER_SAFE.sub('_', workflow)[:100]}" if workflow else ""
    return f"<!-- mlops-ci:{name}{suffix} -->"


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
        "name": Markup(md_text(_row_name(row, qualify), 120)),  # noqa: S704
        "base": base_text,
        "head": head_text,
        "delta": Markup(format_delta(row.delta, precision)),  # noqa: S704 - a number
        "delta_pct": Markup(format_delta(row.delta_pct, 3, pct=True)),  # noqa: S704 - a number
        "gate": Markup(gate_text),  # noqa: S704 - icons only
    }


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


def _charts(doc: ReportDocument, points: int) -> list[Markup]:
    charts: list[Markup] = []
    bars = [
        mermaid.BarPoint(
            m.key,
            float(m.head),
            float(m.base) if is_number(m.base) and m.status in ("changed", "unchanged") else None,
        )
        for m in _chart_rows(doc)
    ]
    if bars:
        charts.extend(Markup(c) for c in mermaid.bar_charts(bars))  # noqa: S704 - labels escaped
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
    from mlops_ci.core.metric_history import history_from_json
    from mlops_ci.report.history import render_history_markdown

    if doc.trend.get("error"):
        branch = md_text(doc.trend.get("branch") or "the default branch", 100)
        reason = md_text(doc.trend["error"], 300)
        return Markup(f"### Trend on {branch}\n\nNo trend: {reason}\n")  # noqa: S704
    try:
        history = history_from_json(doc.trend)
    except (KeyError, TypeError, ValueError):
        return Markup("")
    return Markup(render_history_markdown(history, precision=precision))  # noqa: S704


def build_context(doc: ReportDocument, options: RenderOptions) -> dict[str, Any]:
    """Everything the template shows, escaped; plus the raw document as `doc`."""
    precision = options.precision
    files = {m.file for m in doc.metrics}
    qualify = len(files) > 1
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
    limit = options.max_rows

    def rows(items: list[MetricRow]) -> list[dict[str, Markup]]:
        return [_metric_cells(r, gates_of(r), qualify, precision) for r in items[:limit]]

    params_changed = [p for p in doc.params if p.status != "unchanged"]
    params_qualify = len({p.file for p in doc.params}) > 1
    param_rows = [
        {
            "name": Markup(md_text(_row_name(p, params_qualify), 120)),  # noqa: S704
            "base": Markup("*new*")
            if p.status == "added"
            else Markup("*no baseline*")
            if p.status == "no_base"
            else _cell(p.base, precision),
            "head": Markup("*removed*") if p.status == "removed" else _cell(p.head, precision),
        }
        for p in params_changed[:limit]
    ]
    data_rows = [
        {
            "path": Markup(md_code(e.path, 160)),  # noqa: S704
            "status": Markup(md_text(e.status)),  # noqa: S704
            "size_base": Markup(_size(e.size_base)),  # noqa: S704
            "size_head": Markup(_size(e.size_head)),  # noqa: S704
        }
        for e in doc.data.entries[:limit]
    ]
    gate_rows = [
        {
            "icon": Markup(_ICON[g.verdict]),  # noqa: S704
            "gate": Markup(md_text(g.gate, 120)),  # noqa: S704
            "reason": Markup(md_text(g.reason, 300)),  # noqa: S704
        }
        for g in doc.gates[:limit]
    ]
    base_ref = doc.base.ref or ""
    head_ref = doc.head.ref or ""
    repro = doc.reproducibility
    no_base_notes = [
        Markup(f"{md_code(f, 160)}: {md_text(why, 200)}")  # noqa: S704
        for f, why in list(doc.metrics_no_base.items())[:20]
    ]
    return {
        "marker": Markup(options.marker),  # noqa: S704 - sanitised by marker_text
        "verdict_line": Markup(verdict_line(doc, precision)),  # noqa: S704 - escaped inside
        "verdict": doc.verdict,
        "doc": doc,
        "gates": gate_rows,
        "metrics_changed": rows(shown),
        "metrics_changed_total": len(shown),
        "metrics_unchanged": rows(unchanged),
        "metrics_unchanged_total": len(unchanged),
        "metrics_total": len(doc.metrics),
        "max_rows": limit,
        "params_changed": param_rows,
        "params_changed_total": len(params_changed),
        "params_total": len(doc.params),
        "data_available": doc.data.available,
        "data_note": Markup(md_text(doc.data.note, 300)) if doc.data.note else None,  # noqa: S704
        "data_rows": data_rows,
        "data_total": len(doc.data.entries),
        "charts": _charts(doc, options.plot_points),
        "no_base_notes": no_base_notes,
        "notes": [Markup(md_text(n, 300)) for n in doc.notes[:20]],  # noqa: S704
        "base_ref": Markup(md_code(base_ref, 100)) if base_ref else None,  # noqa: S704
        "head_ref": Markup(md_code(head_ref, 100)) if head_ref else None,  # noqa: S704
        "base_sha": Markup(md_code(doc.base.sha or "unknown", 64)),  # noqa: S704
        "head_sha": Markup(md_code(doc.head.sha or "workspace", 64)),  # noqa: S704
        "baseline": Markup(md_text(doc.baseline, 20)),  # noqa: S704
        "run_time": Markup(f"{repro.run_seconds:.1f} s")  # noqa: S704
        if repro.run_seconds is not None
        else None,
        "pipeline": Markup(md_code(repro.pipeline, 200)) if repro.pipeline else None,  # noqa: S704
        "stages": [
            {"name": Markup(md_code(k, 100)), "hash": Markup(md_code(v, 64))}  # noqa: S704
            for k, v in list(repro.stages.items())[:50]
        ],
        "versions": ", ".join(
            f"{md_text(k, 40)} {md_text(v, 40)}" for k, v in repro.versions.items()
        ),
        "run_url": doc.run_url,
        "trend": _trend_section(doc, precision),
    }


def template_environment(
    *, text_limit: int = 500, number: Callable[[Any], str] = format_value
) -> Any:
    """The one sandboxed Jinja2 environment of every template we render.

    Everything a template prints is escaped as Markdown text unless it is `Markup` we
    built ourselves; numbers go through `number`. Filters: `md` (escaped text), `code`
    (an inline code span) and `plain` (escaped, formatting stripped).
    """
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number(value)
        return md_text(value, text_limit)

    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    md: Callable[[Any], Markup] = lambda v: Markup(md_text(v, text_limit))  # noqa: E731, S704
    code: Callable[[Any], Markup] = lambda v: Markup(md_code(v, 500))  # noqa: E731, S704
    env.filters["md"] = md
    env.filters["code"] = code
    env.filters["plain"] = lambda v: Markup(md_text(plain(v), text_limit))  # noqa: S704
    return env


def render_packaged(name: str, context: Mapping[str, Any], **options: Any) -> str:
    """Render one of the templates shipped in `mlops_ci/report/templates/`."""
    env = template_environment(**options)
    return str(env.from_string(packaged_template(name)).render(**context))


@functools.lru_cache(maxsize=8)
def _compiled(source: str) -> Any:
    return template_environment().from_string(source)


def packaged_template(name: str = DEFAULT_TEMPLATE) -> str:
    return resources.files("mlops_ci.report").joinpath("templates", name).read_text("utf-8")


def render_markdown(doc: ReportDocument, options: RenderOptions) -> str:
    """The report as Markdown, fitted to GitHub's comment size limit.

    A user template (`options.template_text`) must print `{{ marker }}`; without
    it the sticky comment could never be found again, so that is an error.
    """
    from jinja2 import TemplateError

    source = options.template_text
    if source is None:
        source = packaged_template(options.template_name)
    elif "marker" not in source:
        raise ConfigError(
            f"{options.template_name}: the report template must contain {{{{ marker }}}}",
            hint="add `{{ marker }}` on the first line of the template",
            file=options.template_name,
        )
    context = build_context(doc, options)
    try:
        template = _compiled(source)
        body = template.render(**context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(
            f"{options.template_name}: cannot render the report template: {exc.message or exc}",
            file=options.template_name,
            line=line,
        ) from None
    except (ArithmeticError, TypeError, ValueError, RecursionError, MemoryError) as exc:
        # A user template can still fail at run time: the sandbox's range limit, an
        # `include` with no loader, `1 + "a"`, a string too large to build.
        if options.template_text is None:
            raise
        reason = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
        raise ConfigError(
            f"{options.template_name}: cannot render the report template: {reason}"[:500],
            file=options.template_name,
        ) from None
    if options.marker not in body:
        raise ConfigError(
            f"{options.template_name}: the rendered report lacks the marker {{{{ marker }}}}",
            hint="print `{{ marker }}` unconditionally in the template",
            file=options.template_name,
        )
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return fit(
        body, limit=options.limit, full_report_url=options.full_report_url, marker=options.marker
    )


def summary_line(doc: ReportDocument) -> str:
    """A one-line plain-text verdict (for the check run title and the terminal)."""
    failed = doc.failed_gates
    if failed:
        return f"{len(failed)} of {len(doc.gates)} gate(s) failed"
    if doc.gates:
        return f"all {sum(1 for g in doc.gates if g.verdict == 'pass')} gate(s) pass"
    return "no gates configured"
