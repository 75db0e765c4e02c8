"""The monitoring journey for each model: read, compare, score, render, write, publish."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.core.drift import DriftReport, FeatureRule, detect_drift
from mlops_ci.errors import InputError, MlopsCIError
from mlops_ci.report.drift import ServedVersion
from mlops_ci.services.monitor.quality import model_quality
from mlops_ci.services.monitor.reference import (
    Holder,
    Located,
    estimated_bytes,
    inference_log_of,
    locate_current,
    locate_reference,
    read_located,
    stage_holder,
    summarise_located,
)
from mlops_ci.services.monitor.request import (
    DEFAULT_OUTPUT,
    DataSource,
    MonitorOutcome,
    MonitorRequest,
    drift_json,
)

if TYPE_CHECKING:
    from mlops_ci.adapters.inference_log import LogSummary
    from mlops_ci.adapters.tables import Table
    from mlops_ci.config import Config
    from mlops_ci.config.models import MonitorConfig
    from mlops_ci.core.quality import QualityReport
    from mlops_ci.services.shared.registry import Registry


def output_directory(request: MonitorRequest) -> Path:
    """Where drift.md and drift.json go (one subdirectory per model when several)."""
    return request.output or request.root.resolve() / DEFAULT_OUTPUT


def run_monitor(request: MonitorRequest) -> list[MonitorOutcome]:
    """Monitor the requested model (or every configured one); return what happened.

    With several models each one's files go to ``<output>/<model>/``. What a runner is
    told (the `drift` output, the job summary) is the command's to say.
    """
    from mlops_ci.config import load_config

    root = request.root.resolve()
    request.root = root
    config = load_config(root).config
    registry = _open_registry(root)
    models = models_to_monitor(config, request.model, registry)
    base = output_directory(request)
    outcomes = []
    for model in models:
        directory = base / _safe_dir(model) if len(models) > 1 else base
        outcomes.append(monitor_model(request, config, registry, model, directory))
    return outcomes


def models_to_monitor(
    config: Config, requested: str | None, registry: Registry | None
) -> list[str]:
    """--model, else every model of mlops-ci.yaml, else the registry's only artifact."""
    if requested:
        return [requested]
    names = [str(n) for n in config.models]
    if names:
        return names
    if registry is not None and len(registry.state.artifacts) == 1:
        return [str(next(iter(registry.state.artifacts)))]
    return ["model"]


def _open_registry(root: Path) -> Registry | None:
    from mlops_ci.services.shared.registry import open_registry

    try:
        return open_registry(root)
    except MlopsCIError:
        return None


def _safe_dir(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", model.replace("/", "__")) or "model"


def _features(
    monitor: MonitorConfig,
    reference: Iterable[str],
    current: Iterable[str],
    outputs: Collection[str] = (),
) -> list[str]:
    """The monitored features (default: every column but the label, the prediction and
    the model's outputs an inference log names, reference columns first)."""
    if monitor.features:
        return list(monitor.features)
    excluded = ({monitor.target, monitor.prediction} - {None}) | set(outputs)
    features = [n for n in reference if n not in excluded]
    features += [n for n in current if n not in excluded and n not in features]
    return features


def _rules(monitor: MonitorConfig) -> dict[str, FeatureRule]:
    return {
        name: FeatureRule(test=rule.test, threshold=rule.threshold)
        for name, rule in monitor.tests.items()
    }


def _compare(
    monitor: MonitorConfig, reference: Table, current: Table, outputs: Collection[str]
) -> DriftReport:
    """Per-feature drift of the monitored features on the whole tables."""
    return detect_drift(
        reference.columns,
        current.columns,
        features=_features(monitor, reference.columns, current.columns, outputs),
        tests=_rules(monitor),
        drift_share=monitor.drift_share,
        workers=min(4, os.cpu_count() or 1),
    )


def _streamed(
    request: MonitorRequest,
    monitor: MonitorConfig,
    located: tuple[Located, Located],
    outputs: Collection[str],
) -> tuple[DriftReport, DataSource, DataSource]:
    """Per-feature drift from summaries streamed batch by batch (see core.drift_sketch)."""
    from mlops_ci.core.drift_sketch import detect_drift_sketched

    reference, ref_info = summarise_located(request, located[0])
    current, cur_info = summarise_located(request, located[1])
    report = detect_drift_sketched(
        reference.columns,
        current.columns,
        features=_features(monitor, reference.columns, current.columns, outputs),
        tests=_rules(monitor),
        drift_share=monitor.drift_share,
    )
    return report, ref_info, cur_info


def _exact(  # noqa: PLR0917 - the model's run, and where its data is
    request: MonitorRequest,
    config: Config,
    registry: Registry | None,
    model: str,
    holder: Holder | None,
    located: tuple[Located, Located],
    outputs: Collection[str],
) -> tuple[DriftReport, QualityReport | None, str | None, DataSource, DataSource]:
    """Both tables in memory: exact drift, and model quality where labels exist."""
    reference, ref_info = read_located(request, located[0])
    current, cur_info = read_located(request, located[1])
    report = _compare(config.monitor, reference, current, outputs)
    quality, note = model_quality(
        request,
        config,
        model=model,
        holder=holder,
        registry=registry,
        reference=reference,
        current=current,
    )
    return report, quality, note, ref_info, cur_info


def _budget(monitor: MonitorConfig) -> int:
    if monitor.max_memory is not None:
        return int(monitor.max_memory)
    from mlops_ci.adapters.memory import default_memory_budget

    return default_memory_budget()


def _require_comparison(report: DriftReport, measured_quality: bool, source: str) -> None:
    # Renamed or retyped columns would otherwise read as "no drift" (and pass
    # --fail-on-drift) while nothing was compared at all.
    if report.tested or measured_quality:
        return
    why = ", ".join(sorted({f.status for f in report.features})) or "no features"
    raise InputError(
        f"{source}: no feature could be compared with the reference ({why})",
        hint="check that both have the same column names and types (or monitor.features)",
        file=source,
    )


def _streamed_note(monitor: MonitorConfig, needed: int, budget: int) -> str | None:
    if not monitor.target:
        return None
    from mlops_ci.core.sizes import format_size

    return (
        f"not measured: the data (about {format_size(needed)}) is beyond monitor.max_memory "
        f"({format_size(budget)}) and was streamed; scoring needs every row in memory"
    )


def monitor_model(
    request: MonitorRequest,
    config: Config,
    registry: Registry | None,
    model: str,
    directory: Path,
) -> MonitorOutcome:
    """Compute drift (and quality) for one model, render, write, publish to GitHub."""
    monitor = config.monitor
    stage = request.stage or monitor.stage
    holder = stage_holder(registry, model, stage)
    current_source = request.current or monitor.current
    if not current_source:
        raise InputError(
            "no current data to monitor", hint="pass --current PATH|GLOB|URL or set monitor.current"
        )
    ref_at = locate_reference(
        request,
        request.reference or monitor.reference,
        holder=holder,
        model=model,
        config=config,
        stage=stage,
    )
    # An inference log: this model's files, its served versions and its outputs.
    cur_at, log = inference_log_of(locate_current(request, current_source), model)
    outputs = log.outputs if log else []
    budget = _budget(monitor)
    needed = estimated_bytes(ref_at) + estimated_bytes(cur_at)
    if needed > budget:
        # Beyond memory: summaries instead of columns; quality needs every row.
        report, ref_info, cur_info = _streamed(request, monitor, (ref_at, cur_at), outputs)
        quality, quality_note = None, _streamed_note(monitor, needed, budget)
    else:
        report, quality, quality_note, ref_info, cur_info = _exact(
            request, config, registry, model, holder, (ref_at, cur_at), outputs
        )
    _require_comparison(report, quality is not None, current_source)
    context = request.job.context
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
        served=_served(log),
    )
    _publish(request, config, outcome, directory)
    return outcome


def _served(log: LogSummary | None) -> tuple[ServedVersion, ...]:
    if log is None:
        return ()
    return tuple(ServedVersion(v.version, v.rows, v.first, v.last) for v in log.versions)


def _publish(
    request: MonitorRequest, config: Config, outcome: MonitorOutcome, directory: Path
) -> None:
    """The issue (on GitHub, when published there), then drift.md and drift.json.

    The files are written whatever `--publish` says, as `report` writes its own:
    `--publish` decides where the findings go besides them (`none`: nowhere).
    """
    from mlops_ci.report.drift import render_report

    context = request.job.context
    publish = request.publish
    if publish == "auto":
        publish = "github" if context.can_write and context.repository else "local"
    if publish == "github":
        from mlops_ci.services.monitor.issue import publish_github

        outcome.github = publish_github(outcome, config, context, request.root)
    outcome.markdown = render_report(outcome.findings())
    outcome.files = write_outputs(outcome, directory)


def write_outputs(outcome: MonitorOutcome, directory: Path) -> list[str]:
    """drift.md and drift.json in `directory`, each written whole or not at all."""
    from mlops_ci.adapters.files import write_atomic

    md = directory / "drift.md"
    js = directory / "drift.json"
    write_atomic(md, outcome.markdown)
    text = json.dumps(drift_json(outcome), indent=2, sort_keys=False, allow_nan=False)
    write_atomic(js, text + "\n")
    return [str(md), str(js)]
