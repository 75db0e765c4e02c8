"""The PR report as data: `report.json`, schema version 1, and how to render it.

`ReportDocument` is the whole report. The service builds it from the diff and the
gates; `mlops-ci post` validates one from a fork's bundle, so every field has a size
limit and unknown fields are refused. `RenderOptions` says how `report.render`
turns it into Markdown.

Pure: data only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlops_ci.core.gates import GateResult, GateSummary
from mlops_ci.core.metrics import MetricDelta
from mlops_ci.core.significance import DeltaInterval
from mlops_ci.report.budget import COMMENT_LIMIT

__all__ = [
    "DEFAULT_TEMPLATE",
    "SCHEMA_VERSION",
    "BaselineColumn",
    "DataDiff",
    "DataEntry",
    "GateRow",
    "MetricRow",
    "PlotRow",
    "PlotSeries",
    "RenderOptions",
    "ReportDocument",
    "Reproducibility",
    "Revision",
]

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
    # The delta's paired bootstrap interval, when per-example rows gave one.
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = Field(None, gt=0, lt=1)
    significance: Literal["improved", "regressed", "inconclusive"] | None = None

    _revive_values = field_validator("base", "head", mode="before")(
        lambda v: _revive(v)  # noqa: PLW0108 - pydantic needs a plain callable
    )

    def with_interval(self, interval: DeltaInterval) -> MetricRow:
        """This row with its delta's interval (none when it is undefined)."""
        if math.isnan(interval.low):
            return self.model_copy(update={"significance": "inconclusive"})
        return self.model_copy(
            update={
                "ci_low": interval.low,
                "ci_high": interval.high,
                "confidence": interval.confidence,
                "significance": interval.verdict,
            }
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
    # The baseline the gate was judged against (`vs:`); None = the merge base.
    vs: str | None = Field(None, max_length=100)

    _revive_values = field_validator("base", "head", mode="before")(
        lambda v: _revive(v)  # noqa: PLW0108
    )

    @classmethod
    def from_result(cls, result: GateResult, vs: str | None = None) -> GateRow:
        return cls(
            gate=result.gate,
            metric=result.metric,
            file=result.file,
            verdict=result.verdict,
            reason=result.reason,
            base=result.base,
            head=result.head,
            vs=vs,
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
    # Seconds from the commit's date to when the report was made.
    age_seconds: int | None = None


class BaselineColumn(_Model):
    """A baseline besides the merge base (`report.baselines`): a registry stage's
    holder or the base branch's tip, with the metrics diffed against it."""

    name: str = Field(max_length=100)
    revision: Revision = Field(default_factory=Revision)  # type: ignore[arg-type, unused-ignore]
    version: str | None = Field(None, max_length=200)
    # Where its values come from: its register tag's message, or its commit's files.
    source: Literal["tag", "commit"] = "commit"
    metrics: list[MetricRow] = Field(default_factory=list)
    no_base: dict[str, str] = Field(default_factory=dict)


class Reproducibility(_Model):
    run_seconds: float | None = None
    pipeline: str | None = Field(None, max_length=2000)
    stages: dict[str, str] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    # Stages restored from DVC's run-cache -> seconds saved (None: never measured).
    restored: dict[str, float | None] = Field(default_factory=dict, max_length=200)
    # Stages that ran -> the seconds they took, as DVC's output showed.
    stage_seconds: dict[str, float] = Field(default_factory=dict, max_length=200)


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
    # Extra metric columns: `report.baselines` (see services/shared/baselines.py).
    baselines: list[BaselineColumn] = Field(default_factory=list, max_length=10)

    @property
    def failed_gates(self) -> list[GateRow]:
        return [g for g in self.gates if g.verdict == "fail"]

    def with_lock_problem(self, reason: str) -> ReportDocument:
        """A stale `dvc.lock` under `pipeline.lock: check` fails the report like a gate."""
        row = GateRow(gate="dvc.lock", metric="dvc.lock", verdict="fail", reason=reason[:4000])
        return self.model_copy(update={"gates": [*self.gates, row], "verdict": "fail"})

    def with_gates(
        self, summary: GateSummary, against: Sequence[tuple[str, GateSummary]] = ()
    ) -> ReportDocument:
        """The gate rows and verdict; `against` holds the results of `vs:` gates by baseline."""
        rows = [GateRow.from_result(r) for r in summary.results]
        rows += [GateRow.from_result(r, vs) for vs, other in against for r in other.results]
        verdicts = {row.verdict for row in rows}
        verdict = "fail" if "fail" in verdicts else "pass" if rows else "none"
        return self.model_copy(update={"gates": rows, "verdict": verdict})


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
