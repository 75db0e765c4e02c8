"""What the monitor is asked, what it found and did, and `drift.json` (the outcome as data)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.core.drift import DriftReport, FeatureDrift
from mlops_ci.core.quality import QualityReport
from mlops_ci.report.drift import DataShown, DriftFindings, ServedVersion

if TYPE_CHECKING:
    from mlops_ci.adapters.tables import ReadProgress
    from mlops_ci.services.shared.job import Job

SCHEMA = "mlops-ci/drift"
SCHEMA_VERSION = 1
DEFAULT_OUTPUT = ".mlops-ci"
Publish = Literal["auto", "github", "local", "none"]


@dataclass
class MonitorRequest:
    """What `mlops-ci monitor` was asked to do, and the job it runs in."""

    root: Path
    model: str | None = None
    stage: str | None = None
    reference: str | None = None
    current: str | None = None
    model_path: str | None = None
    publish: Publish = "auto"
    output: Path | None = None
    #: Where it runs and how progress shows, built once by the command layer.
    job: Job = field(kw_only=True)

    def reading(self, source: str) -> ReadProgress:
        """Progress of reading `source`, reported to the job (in bytes: the only unit
        whose total is known before reading)."""
        progress = self.job.progress

        def advance(done: int, total: int | None) -> None:
            progress.advance(source, done, total)

        return advance


@dataclass
class DataSource:
    """Where data came from: as given, how many rows, which files, at which commit."""

    source: str
    rows: int
    files: list[str]
    revision: str | None = None

    def shown(self) -> DataShown:
        return DataShown(self.source, self.rows, self.revision)


@dataclass
class GitHubOutcome:
    """What the run did on GitHub: the model's drift issue and the retrain dispatch."""

    issue_number: int | None = None
    issue_url: str | None = None
    issue_action: str | None = None
    dispatched: bool = False
    dispatch_skipped: str | None = None


@dataclass
class MonitorOutcome:
    """Everything a run found and did; `as_json()` is drift.json."""

    model: str
    stage: str
    version: str | None
    commit: str | None
    drift: DriftReport
    quality: QualityReport | None
    quality_note: str | None
    reference: DataSource
    current: DataSource
    generated_at: str
    markdown: str = ""
    files: list[str] = field(default_factory=list)
    github: GitHubOutcome | None = None
    run_url: str | None = None
    #: The versions that answered the current data, when it is an inference log.
    served: tuple[ServedVersion, ...] = ()

    @property
    def attention(self) -> bool:
        """Dataset drift, or model quality worse than its gates allow."""
        return self.drift.dataset_drift or bool(self.quality and self.quality.degraded)

    def findings(self) -> DriftFindings:
        """What the report and the issue show."""
        return DriftFindings(
            model=self.model,
            stage=self.stage,
            version=self.version,
            commit=self.commit,
            drift=self.drift,
            quality=self.quality,
            quality_note=self.quality_note,
            reference=self.reference.shown(),
            current=self.current.shown(),
            generated_at=self.generated_at,
            run_url=self.run_url,
            served=self.served,
        )

    def as_json(self) -> dict[str, Any]:
        return drift_json(self)


# --- drift.json ------------------------------------------------------------------------


def _json_number(value: float | None) -> float | str | None:
    """Non-finite numbers as the strings "Infinity", "-Infinity", "NaN" (JSON has none)."""
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def feature_json(f: FeatureDrift) -> dict[str, Any]:
    """One feature's entry in drift.json."""
    return {
        "name": f.name,
        "status": f.status,
        "kind": f.kind,
        "test": f.test,
        "score": _json_number(f.score),
        "threshold": f.threshold,
        "drifted": f.drifted,
        "severity": _json_number(f.severity) if f.tested else None,
        "statistic": _json_number(f.statistic),
        "n_reference": f.n_reference,
        "n_current": f.n_current,
        "missing_reference": f.missing_reference,
        "missing_current": f.missing_current,
        "unseen_current": f.unseen_current,
        "detail": f.detail,
        "approximate": f.approximate,
        "error_bound": _json_number(f.error_bound),
    }


def _quality_json(q: QualityReport | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {
        "task": q.task,
        "rows": q.rows,
        "skipped_rows": q.skipped_rows,
        "metrics": {k: _json_number(v) for k, v in q.metrics.items()},
        "recorded": {k: _json_number(v) for k, v in q.recorded.items()},
        "degraded": q.degraded,
        "gates": [
            {"metric": r.metric, "verdict": r.verdict, "reason": r.reason} for r in q.gates.results
        ],
    }


def _github_json(g: GitHubOutcome | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        "issue": g.issue_number,
        "issue_url": g.issue_url,
        "issue_action": g.issue_action,
        "dispatched": g.dispatched,
        "dispatch_skipped": g.dispatch_skipped,
    }


def _source_json(source: DataSource) -> dict[str, Any]:
    return {
        "source": source.source,
        "rows": source.rows,
        "files": source.files,
        "revision": source.revision,
    }


def _served_json(served: tuple[ServedVersion, ...]) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "rows": v.rows,
            "first": v.first.isoformat() if v.first else None,
            "last": v.last.isoformat() if v.last else None,
        }
        for v in served
    ]


def drift_json(outcome: MonitorOutcome) -> dict[str, Any]:
    """The documented, versioned drift.json (see docs/monitoring.md)."""
    report = outcome.drift
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "generated_at": outcome.generated_at,
        "model": outcome.model,
        "stage": outcome.stage,
        "model_version": outcome.version,
        "commit": outcome.commit,
        "reference": _source_json(outcome.reference),
        "current": _source_json(outcome.current),
        "served_versions": _served_json(outcome.served),
        "method": report.method,
        "dataset_drift": report.dataset_drift,
        "drift_share": report.drift_share,
        "drifted_share": report.share,
        "n_features": len(report.features),
        "n_tested": len(report.tested),
        "n_drifted": len(report.drifted),
        "features": [feature_json(f) for f in report.features],
        "quality": _quality_json(outcome.quality),
        "quality_note": outcome.quality_note,
        "attention": outcome.attention,
        "github": _github_json(outcome.github),
    }
