"""The monitoring journey: current data against the data the stage's model was trained on.

Steps: find who holds the stage (registry) → read the reference and the current
data (`adapters.tables`; the reference through DVC at the holder's commit) →
per-feature drift (`core.drift`) and, where labels exist, model quality
(`core.quality`) → `drift.md` and `drift.json` → publish: action output `drift`,
the job summary, and on GitHub one issue per model (opened or reopened on drift,
updated on every run, closed with a comment when the drift clears) and an
optional retrain dispatch, at most once while a retrain pull request is open.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mlops_ci.core.drift import DriftReport, FeatureDrift, FeatureRule, detect_drift
from mlops_ci.core.quality import QualityReport
from mlops_ci.errors import InputError, MlopsCIError

SCHEMA = "mlops-ci/drift"
SCHEMA_VERSION = 1
DEFAULT_OUTPUT = ".mlops-ci"
RETRAIN_BRANCH_PREFIX = "mlops-ci/retrain"
TABLE_ROWS = 30
ISSUE_ROWS = 20
CHART_BARS = 20
Publish = Literal["auto", "github", "local", "none"]
_DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".parq", ".csv.gz")


@dataclass
class MonitorRequest:
    """What `mlops-ci monitor` was asked to do."""

    root: Path
    model: str | None = None
    stage: str | None = None
    reference: str | None = None
    current: str | None = None
    model_path: str | None = None
    publish: Publish = "auto"
    output: Path | None = None
    progress: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class DataSource:
    source: str
    rows: int
    files: list[str]
    revision: str | None = None


@dataclass
class GitHubOutcome:
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

    @property
    def attention(self) -> bool:
        """Dataset drift, or model quality worse than its gates allow."""
        return self.drift.dataset_drift or bool(self.quality and self.quality.degraded)

    def as_json(self) -> dict[str, Any]:
        return drift_json(self)


# --- numbers for JSON and Markdown -----------------------------------------------------


def _json_number(value: float | None) -> float | str | None:
    """Non-finite numbers as the strings "Infinity", "-Infinity", "NaN" (JSON has none)."""
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "–"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value != 0 and (abs(value) < 10 ** -(digits - 1) or abs(value) >= 10**6):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}f}".rstrip("0")


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def feature_json(f: FeatureDrift) -> dict[str, Any]:
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
    }


def drift_json(outcome: MonitorOutcome) -> dict[str, Any]:
    """The documented, versioned drift.json (see docs/monitoring.md)."""
    report = outcome.drift
    quality: dict[str, Any] | None = None
    if outcome.quality is not None:
        q = outcome.quality
        quality = {
            "task": q.task,
            "rows": q.rows,
            "skipped_rows": q.skipped_rows,
            "metrics": {k: _json_number(v) for k, v in q.metrics.items()},
            "recorded": {k: _json_number(v) for k, v in q.recorded.items()},
            "degraded": q.degraded,
            "gates": [
                {"metric": r.metric, "verdict": r.verdict, "reason": r.reason}
                for r in q.gates.results
            ],
        }
    github = None
    if outcome.github is not None:
        g = outcome.github
        github = {
            "issue": g.issue_number,
            "issue_url": g.issue_url,
            "issue_action": g.issue_action,
            "dispatched": g.dispatched,
            "dispatch_skipped": g.dispatch_skipped,
        }
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
        "dataset_drift": report.dataset_drift,
        "drift_share": report.drift_share,
        "drifted_share": report.share,
        "n_features": len(report.features),
        "n_tested": len(report.tested),
        "n_drifted": len(report.drifted),
        "features": [feature_json(f) for f in report.features],
        "quality": quality,
        "quality_note": outcome.quality_note,
        "attention": outcome.attention,
        "github": github,
    }


def _source_json(source: DataSource) -> dict[str, Any]:
    return {
        "source": source.source,
        "rows": source.rows,
        "files": source.files,
        "revision": source.revision,
    }


# --- rendering -------------------------------------------------------------------------


def issue_marker(model: str) -> str:
    """The hidden marker that finds a model's drift issue again."""
    safe = re.sub(r"[^A-Za-z0-9_.\-/]", "_", model)[:100] or "model"
    return f"<!-- mlops-ci:drift model={safe} -->"


def _render(name: str, context: Mapping[str, Any]) -> str:
    from mlops_ci.report.render import render_packaged

    def number(value: Any) -> str:
        return _fmt(float(value)) if isinstance(value, float) else str(value)

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
    from markupsafe import Markup

    from mlops_ci.report.escape import md_code

    notes = []
    if f.status in _NOTES:
        notes.append(_NOTES[f.status])
    if f.detail and f.status not in ("ok", "constant"):
        notes.append(f.detail)
    if f.unseen_current:
        notes.append(f"{_pct(f.unseen_current)} unseen categories")
    icon = "🔴" if f.drifted else ("🟢" if f.tested else "⚪")
    direction = "p <" if f.test in ("ks", "chisquare") else ">"
    return {
        "name": Markup(md_code(f.name, 80)),  # noqa: S704 - escaped by md_code
        "test": f.test or "–",
        "score": _fmt(f.score),
        "threshold": f"{direction} {_fmt(f.threshold)}" if f.threshold is not None else "–",
        "icon": icon,
        "missing": f"{_pct(f.missing_reference)} → {_pct(f.missing_current)}",
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


def _verdict(outcome: MonitorOutcome) -> tuple[str, str]:
    report = outcome.drift
    if not report.tested:
        return "⚪", "No feature could be tested."
    if report.dataset_drift:
        return "🔴", "Dataset drift."
    if outcome.quality is not None and outcome.quality.degraded:
        return "🟠", "No dataset drift, but model quality degraded."
    if report.drifted:
        return "🟡", "No dataset drift."
    return "🟢", "No drift."


def _quality_context(quality: QualityReport | None) -> dict[str, Any] | None:
    if quality is None:
        return None
    by_metric = {r.metric: r for r in quality.gates.results}
    rows = []
    for metric, value in quality.metrics.items():
        gate = by_metric.get(metric)
        rows.append(
            {
                "metric": metric,
                "recorded": _fmt(quality.recorded.get(metric)),
                "current": _fmt(value),
                "gate": (
                    f"{'❌' if gate.failed else '✅' if gate.verdict == 'pass' else '⏭️'} "
                    f"{gate.reason}"
                    if gate
                    else "–"
                ),
            }
        )
    failed = quality.gates.failed
    return {
        "rows": quality.rows,
        "skipped_rows": quality.skipped_rows,
        "verdict": "degraded" if failed else "within its gates",
        "rows_table": rows,
        "degraded": bool(failed),
        "failures": "; ".join(r.reason for r in failed),
    }


def render_report(outcome: MonitorOutcome) -> str:
    """drift.md: verdict, quality, per-feature table by severity, chart, sources."""
    from markupsafe import Markup

    from mlops_ci.report.budget import COMMENT_LIMIT, fit

    report = outcome.drift
    icon, verdict = _verdict(outcome)
    rows = [_row(f) for f in report.features]
    chart, chart_note = drift_chart(report)
    marker = issue_marker(outcome.model).replace("mlops-ci:drift ", "mlops-ci:drift-report ")
    context = {
        "marker": Markup(marker),  # noqa: S704 - built from sanitised parts
        "icon": icon,
        "verdict": verdict,
        "model": outcome.model,
        "stage": outcome.stage,
        "version": outcome.version or "",
        "commit": (outcome.commit or "")[:12],
        "n_drifted": len(report.drifted),
        "n_tested": len(report.tested),
        "share_pct": _pct(report.share),
        "threshold_pct": _pct(report.drift_share),
        "quality": _quality_context(outcome.quality),
        "quality_note": outcome.quality_note,
        "rows": rows[:TABLE_ROWS],
        "folded": rows[TABLE_ROWS:],
        "chart": Markup(chart),  # noqa: S704 - labels pass through mermaid_label
        "chart_note": chart_note,
        "reference": _source_context(outcome.reference),
        "current": _source_context(outcome.current),
        "generated_at": outcome.generated_at,
        "run_url": Markup(outcome.run_url) if outcome.run_url else "",  # noqa: S704
    }
    body = _render("drift_report.md.j2", context)
    return fit(body.strip() + "\n", limit=COMMENT_LIMIT, marker=marker)


def _source_context(source: DataSource) -> dict[str, Any]:
    from markupsafe import Markup

    from mlops_ci.report.escape import md_code

    return {
        "source": Markup(md_code(source.source, 200)),  # noqa: S704 - escaped by md_code
        "rows": source.rows,
        "revision": (source.revision or "")[:12],
    }


def render_issue(outcome: MonitorOutcome, dispatched: str | None = None) -> tuple[str, str]:
    """(title, body) of the model's drift issue."""
    from markupsafe import Markup

    from mlops_ci.report.escape import md_code, plain

    report = outcome.drift
    icon, verdict = _verdict(outcome)
    drifted = [_row(f) for f in report.drifted]
    marker = issue_marker(outcome.model)
    context = {
        "marker": Markup(marker),  # noqa: S704 - built from sanitised parts
        "verdict": f"{icon} {verdict}",
        "model": outcome.model,
        "stage": outcome.stage,
        "version": outcome.version or "",
        "n_drifted": len(report.drifted),
        "n_tested": len(report.tested),
        "share_pct": _pct(report.share),
        "threshold_pct": _pct(report.drift_share),
        "quality": _quality_context(outcome.quality),
        "rows": drifted[:ISSUE_ROWS],
        "more": max(len(drifted) - ISSUE_ROWS, 0),
        "generated_at": outcome.generated_at,
        "run_url": Markup(outcome.run_url) if outcome.run_url else "",  # noqa: S704
        "current": Markup(md_code(outcome.current.source, 200)),  # noqa: S704
        "reference": Markup(md_code(outcome.reference.source, 200)),  # noqa: S704
        "dispatched": dispatched,
    }
    body = _render("drift_issue.md.j2", context)
    title = plain(f"Drift detected: {outcome.model} ({outcome.stage})", 200)
    return title, body.strip() + "\n"


# --- writing files ---------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and `os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(outcome: MonitorOutcome, directory: Path) -> list[str]:
    md = directory / "drift.md"
    js = directory / "drift.json"
    write_atomic(md, outcome.markdown)
    text = json.dumps(drift_json(outcome), indent=2, sort_keys=False, allow_nan=False)
    write_atomic(js, text + "\n")
    return [str(md), str(js)]


# --- resolving the model, the stage holder and the data -------------------------------


@dataclass
class Holder:
    version: str
    commit: str


def models_to_monitor(config: Any, requested: str | None, registry: Any) -> list[str]:
    """--model, else every model of mlops-ci.yaml, else the registry's only artifact."""
    if requested:
        return [requested]
    names = [str(n) for n in config.models]
    if names:
        return names
    if registry is not None and len(registry.state.artifacts) == 1:
        return [str(next(iter(registry.state.artifacts)))]
    return ["model"]


def _relative(files: list[str], root: Path) -> list[str]:
    shown = []
    for name in files:
        try:
            shown.append(Path(name).relative_to(root).as_posix())
        except ValueError:
            shown.append(name)
    return shown


def _open_registry(root: Path) -> Any:
    from mlops_ci.services.shared.registry import open_registry

    try:
        return open_registry(root)
    except MlopsCIError:
        return None


def _holder(registry: Any, model: str, stage: str) -> Holder | None:
    if registry is None:
        return None
    artifact = registry.artifact(model)
    if artifact is None:
        return None
    assignment = artifact.holder(stage)
    if assignment is None:
        return None
    return Holder(str(assignment.version), str(assignment.commit))


def _dvc_fs(root: Path, rev: str) -> Any:
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    from dvc.api import DVCFileSystem

    return DVCFileSystem(str(root), rev=rev)


def training_data_paths(lock_text: str, model_path: str | None) -> list[str]:
    """Data deps of the stage that writes the model, from `dvc.lock` text.

    The training stage is the one whose outs contain the model path (or, without a
    model path, a stage named `train`). Its deps that are not code are the training
    data; a directory dep is expanded by the caller.
    """
    import yaml

    lock = yaml.safe_load(lock_text) or {}
    stages = lock.get("stages", {}) if isinstance(lock, dict) else {}
    chosen: Mapping[str, Any] | None = None
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        outs = [o.get("path") for o in stage.get("outs", []) if isinstance(o, dict)]
        if (model_path and model_path in outs) or (not model_path and name == "train"):
            chosen = stage
            break
    if chosen is None:
        return []
    code = (".py", ".sh", ".ipynb", ".r", ".R", ".jl", ".yaml", ".yml", ".json", ".toml")
    paths = []
    for dep in chosen.get("deps", []):
        path = dep.get("path") if isinstance(dep, dict) else None
        if path and not str(path).endswith(code):
            paths.append(str(path))
    return paths


@contextmanager
def _dvc_errors(what: str) -> Iterator[None]:
    """DVC's own exceptions (missing cache, unreachable remote) as one line."""
    try:
        yield
    except MlopsCIError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("dvc", "dvc_data", "dvc_objects", "fsspec")):
            raise
        from mlops_ci.errors import DvcError

        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DvcError(
            f"{what}: cannot read through DVC: {reason[:300]}",
            hint="run `dvc pull` or check the DVC remote",
        ) from None


def _auto_reference(
    root: Path, holder: Holder | None, model: str, config: Any, stage: str
) -> tuple[Any, list[str], str, str]:
    """(DVC filesystem at the holder's commit, training data files, label, commit)."""
    from mlops_ci.adapters.git import Git

    if holder is None:
        raise InputError(
            f"reference `auto`: no version of {model!r} holds the stage {stage!r}",
            hint="promote a version first, or pass --reference PATH",
        )
    raw = Git(root).show_file(holder.commit, "dvc.lock")
    if raw is None:
        raise InputError(
            f"reference `auto`: dvc.lock is absent at {holder.commit[:12]} "
            f"({model} {holder.version})",
            hint="pass --reference PATH",
        )
    model_path = config.model(model).path
    deps = training_data_paths(raw.decode("utf-8", "replace"), model_path)
    if not deps:
        raise InputError(
            f"reference `auto`: dvc.lock at {holder.commit[:12]} has no stage that writes "
            f"{model_path or 'the model'} with data deps",
            hint="set models.<name>.path, or pass --reference PATH",
        )
    fs = _dvc_fs(root, holder.commit)
    files: list[str] = []
    for dep in deps:
        if fs.isdir(dep):
            inside = sorted(str(p) for p in fs.find(dep) if str(p).endswith(_DATA_SUFFIXES))
            # A split directory (train/test): the training part is the reference.
            training = [p for p in inside if "train" in PurePosixPath(p).name.lower()]
            files.extend(training or inside)
        elif dep.endswith(_DATA_SUFFIXES):
            files.append(dep)
    if not files:
        raise InputError(
            f"reference `auto`: no CSV or Parquet file among {', '.join(deps)} "
            f"at {holder.commit[:12]}",
            hint="pass --reference PATH",
        )
    return fs, files, ", ".join(files), holder.commit


def _read_reference(
    request: MonitorRequest,
    source: str,
    *,
    holder: Holder | None,
    model: str,
    config: Any,
    stage: str,
) -> tuple[Any, DataSource]:
    from mlops_ci.adapters.tables import (
        is_url,
        read_files,
        read_table,
        storage_options_from_env,
    )

    root = request.root
    if source == "auto":
        with _dvc_errors("reference `auto`"):
            fs, files, label, rev = _auto_reference(root, holder, model, config, stage)
            table = read_files(
                fs, files, source=label, root=root, progress=request.progress, revision=rev
            )
        return table, DataSource(label, table.rows, list(files), rev)
    if is_url(source) or Path(source).is_absolute() or holder is None:
        options = storage_options_from_env(source, request.env)
        table = read_table(source, root=root, storage_options=options, progress=request.progress)
        return table, DataSource(source, table.rows, _relative(table.files, root))
    # A path in the repository: the version the stage holder was trained with.
    with _dvc_errors(f"{source}@{holder.commit[:12]}"):
        return _read_at_commit(request, source, holder, model=model, stage=stage)


def _read_at_commit(
    request: MonitorRequest, source: str, holder: Holder, *, model: str, stage: str
) -> tuple[Any, DataSource]:
    from mlops_ci.adapters.tables import read_files

    root = request.root
    fs = _dvc_fs(root, holder.commit)
    try:
        if any(c in source for c in "*?["):
            files = sorted(str(p) for p in fs.glob(source))
        elif fs.isdir(source):
            files = sorted(str(p) for p in fs.find(source) if str(p).endswith(_DATA_SUFFIXES))
        elif fs.exists(source):
            files = [source]
        else:
            files = []
    except (OSError, ValueError) as exc:
        raise InputError(f"{source}@{holder.commit[:12]}: cannot list: {exc}") from None
    if not files:
        raise InputError(
            f"{source}: not in the repository at {holder.commit[:12]} "
            f"({model} {holder.version} holds {stage})",
            hint="pass --reference with a path that existed at that commit",
        )
    table = read_files(
        fs, files, source=source, root=root, progress=request.progress, revision=holder.commit
    )
    return table, DataSource(source, table.rows, files, holder.commit)


# --- model quality --------------------------------------------------------------------


def _load_model(
    root: Path, request: MonitorRequest, holder: Holder | None, path: str | None
) -> Any:
    """The model object: --model-path, else the model file at the holder's commit.

    Unpickling runs code from the file: only the project's own model file is loaded.
    """
    import pickle

    if request.model_path:
        candidate = Path(request.model_path)
        candidate = candidate if candidate.is_absolute() else root / candidate
        try:
            data = candidate.read_bytes()
        except OSError as exc:
            raise InputError(
                f"{request.model_path}: cannot read the model: {exc.strerror}"
            ) from None
    elif path is None:
        return None
    elif holder is not None:
        from mlops_ci.adapters.dvc import Dvc

        data = Dvc(root).read_at_rev(path, holder.commit)
    else:
        file = root / path
        if not file.is_file():
            return None
        data = file.read_bytes()
    try:
        import joblib

        return joblib.load(io.BytesIO(data))
    except ImportError:  # pragma: no cover - scikit-learn brings joblib
        return pickle.loads(data)  # noqa: S301 - the project's own model file
    except Exception as exc:
        shown = request.model_path or path
        raise InputError(f"{shown}: not a loadable pickle/joblib model: {exc}") from None


def _quality(
    request: MonitorRequest,
    config: Any,
    *,
    model: str,
    holder: Holder | None,
    registry: Any,
    reference: Any,
    current: Any,
) -> tuple[QualityReport | None, str | None]:
    import numpy as np

    from mlops_ci.core import quality as core

    monitor = config.monitor
    target = monitor.target
    if not target:
        return None, None
    if target not in current.columns:
        return None, f"no `{target}` column in the current data"
    truth = current.labels(target)
    if monitor.prediction and monitor.prediction in current.columns:
        predicted = current.labels(monitor.prediction)
    else:
        from mlops_ci.errors import DvcError

        try:
            loaded = _load_model(request.root, request, holder, config.model(model).path)
        except DvcError as exc:  # the model file is not reachable: drift still counts
            return None, exc.message
        if loaded is None:
            return None, "no model file to score (set models.<name>.path or --model-path)"
        names = getattr(loaded, "feature_names_in_", None)
        features = (
            [str(n) for n in names]
            if names is not None
            else [n for n in reference.columns if n not in (target, monitor.prediction)]
        )
        missing = [n for n in features if n not in current.columns]
        if missing:
            return None, f"the current data lacks model features: {', '.join(missing[:5])}"
        if any(current.columns[n].kind != "numeric" for n in features):
            return None, "the model's features include text columns; add a prediction column"
        matrix = np.column_stack([current.columns[n].values for n in features])
        usable = ~np.isnan(matrix).any(axis=1)
        predicted = np.full(matrix.shape[0], np.nan, dtype=object)
        try:
            predicted[usable] = loaded.predict(matrix[usable])
        except Exception as exc:
            return None, f"the model could not score the current data: {exc}".splitlines()[0]
    recorded: dict[str, Any] = {}
    if registry is not None and holder is not None:
        from mlops_ci.services.shared.registry import flat_metrics, read_metrics_at

        try:
            recorded = flat_metrics(read_metrics_at(registry, model, holder.commit))
        except MlopsCIError:
            recorded = {}
    gates = dict(monitor.quality_gates) or dict(config.gates_for_model(model))
    try:
        task, metrics, rows, skipped = core.score(np.asarray(truth), np.asarray(predicted))
    except ValueError as exc:
        return None, str(exc)
    return core.compare(task, metrics, recorded, gates, rows=rows, skipped_rows=skipped), None


# --- the journey -----------------------------------------------------------------------


def run_monitor(request: MonitorRequest) -> list[MonitorOutcome]:
    """Monitor the requested model (or every configured one); return what happened.

    With several models each one's files go to ``<output>/<model>/``. On a runner
    the action output ``drift`` is true when any model's data drifted, and every
    report is appended to the job summary.
    """
    from mlops_ci.config import load_config

    root = request.root.resolve()
    request.root = root
    config = load_config(root).config
    registry = _open_registry(root)
    models = models_to_monitor(config, request.model, registry)
    base = request.output or root / DEFAULT_OUTPUT
    outcomes = []
    for model in models:
        directory = base / _safe_dir(model) if len(models) > 1 else base
        outcomes.append(monitor_model(request, config, registry, model, directory))
    if request.publish != "none":
        from mlops_ci.adapters.actions import ActionsRuntime

        runtime = ActionsRuntime.from_environ(request.env)
        if runtime.on_runner:
            drifted = any(o.drift.dataset_drift for o in outcomes)
            runtime.set_output("drift", "true" if drifted else "false")
            paths = [o.files[0] for o in outcomes if o.files]
            runtime.set_output("report-path", paths[0] if len(paths) == 1 else str(base))
            for outcome in outcomes:
                runtime.append_summary(outcome.markdown)
    return outcomes


def _safe_dir(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model.replace("/", "__")) or "model"


def monitor_model(
    request: MonitorRequest, config: Any, registry: Any, model: str, directory: Path
) -> MonitorOutcome:
    """Compute drift (and quality) for one model, render, write, publish to GitHub."""
    from mlops_ci.adapters.tables import read_table, storage_options_from_env

    root = request.root
    monitor = config.monitor
    stage = request.stage or monitor.stage
    holder = _holder(registry, model, stage)

    current_source = request.current or monitor.current
    if not current_source:
        raise InputError(
            "no current data to monitor", hint="pass --current PATH|GLOB|URL or set monitor.current"
        )
    reference_source = request.reference or monitor.reference
    reference, ref_info = _read_reference(
        request, reference_source, holder=holder, model=model, config=config, stage=stage
    )
    options = storage_options_from_env(current_source, request.env)
    current = read_table(
        current_source, root=root, storage_options=options, progress=request.progress
    )
    cur_info = DataSource(current_source, current.rows, _relative(current.files, root))

    excluded = {monitor.target, monitor.prediction} - {None}
    if monitor.features:
        features = list(monitor.features)
    else:
        features = [n for n in reference.columns if n not in excluded]
        features += [n for n in current.columns if n not in excluded and n not in features]
    rules = {
        name: FeatureRule(test=rule.test, threshold=rule.threshold)
        for name, rule in monitor.tests.items()
    }
    report = detect_drift(
        reference.columns,
        current.columns,
        features=features,
        tests=rules,
        drift_share=monitor.drift_share,
        workers=min(4, os.cpu_count() or 1),
    )
    quality, quality_note = _quality(
        request,
        config,
        model=model,
        holder=holder,
        registry=registry,
        reference=reference,
        current=current,
    )
    if not report.tested and quality is None:
        # Renamed or retyped columns would otherwise read as "no drift" (and pass
        # --fail-on-drift) while nothing was compared at all.
        why = ", ".join(sorted({f.status for f in report.features})) or "no features"
        raise InputError(
            f"{current_source}: no feature could be compared with the reference ({why})",
            hint="check that both have the same column names and types (or monitor.features)",
            file=current_source,
        )

    from mlops_ci.context import RunContext

    context = RunContext.from_environ(request.env)
    outcome = MonitorOutcome(
        model=model,
        stage=stage,
        version=holder.version if holder else None,
        commit=holder.commit if holder else None,
        drift=report,
        quality=quality,
        quality_note=quality_note,
        reference=ref_info,
        current=cur_info,
        generated_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        run_url=context.run_url if context.on_runner and context.run_id else None,
    )
    publish = request.publish
    if publish == "auto":
        publish = "github" if context.can_write and context.repository else "local"
    if publish == "github":
        outcome.github = publish_github(outcome, config, context, request.env, root)
    outcome.markdown = render_report(outcome)
    if publish != "none":
        outcome.files = write_outputs(outcome, directory)
    return outcome


# --- GitHub: the issue and the retrain dispatch ------------------------------------------


def retrain_branch_prefix(model: str) -> str:
    return f"{RETRAIN_BRANCH_PREFIX}/{model}/"


def _open_retrain_pulls(gh: Any, prefix: str) -> list[str]:
    """Head branches of open pull requests that start with `prefix`."""
    return [str(head) for head in gh.open_pull_heads(prefix)]


def _default_branch(root: Path) -> str:
    from mlops_ci.adapters.git import Git

    try:
        return Git(root).default_branch()
    except MlopsCIError:
        return "main"


def publish_github(
    outcome: MonitorOutcome, config: Any, context: Any, env: Mapping[str, str], root: Path
) -> GitHubOutcome:
    """Open/update/close the model's drift issue; dispatch retraining at most once."""
    on_drift = config.monitor.on_drift
    result = GitHubOutcome()
    if not on_drift.issue and not on_drift.dispatch:
        return result
    from mlops_ci.adapters.github import GitHubRepo

    gh = GitHubRepo.for_run(context)
    dispatched_note: str | None = None
    dispatch_ref: str | None = None
    if outcome.attention and on_drift.dispatch:
        prefix = retrain_branch_prefix(outcome.model)
        open_heads = _open_retrain_pulls(gh, prefix)
        if open_heads:
            result.dispatch_skipped = f"a retrain pull request is open ({open_heads[0]})"
        else:
            dispatch_ref = context.default_branch or config.default_branch or _default_branch(root)
            dispatched_note = f"`{on_drift.dispatch}` on `{dispatch_ref}`"
    # The issue first, the dispatch last: a failure before the dispatch leaves nothing a
    # re-run would repeat (a dispatch cannot be looked up, so it must happen once).
    _publish_issue(gh, outcome, on_drift, result, dispatched_note)
    if dispatch_ref is not None:
        gh.dispatch_workflow(
            on_drift.dispatch,
            dispatch_ref,
            {"model": outcome.model, "stage": outcome.stage},
        )
        result.dispatched = True
    return result


def _publish_issue(
    gh: Any,
    outcome: MonitorOutcome,
    on_drift: Any,
    result: GitHubOutcome,
    dispatched_note: str | None,
) -> None:
    """Open or update the model's drift issue, or close it when the drift has cleared."""
    if on_drift.issue:
        marker = issue_marker(outcome.model)
        labels = list(on_drift.labels)
        if outcome.attention:
            title, body = render_issue(outcome, dispatched_note)
            issue = gh.upsert_issue(marker=marker, title=title, body=body, labels=labels)
            result.issue_number, result.issue_url = issue.number, issue.url
            result.issue_action = issue.action
        else:
            found = gh.find_issue(marker, labels)
            if found is not None and found.state == "open":
                comment = (
                    f"Drift cleared: {len(outcome.drift.drifted)} of "
                    f"{len(outcome.drift.tested)} features drift now, below the "
                    f"{_pct(outcome.drift.drift_share)} threshold ({outcome.generated_at})."
                )
                closed = gh.close_issue(found.number, comment)
                result.issue_number, result.issue_url = closed.number, closed.url
                result.issue_action = closed.action
