"""The PR report as data: base and head collected, diffed and judged by the gates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.adapters.dvc import Dvc, stage_hashes
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config, LoadedConfig
from mlops_ci.context import RunContext
from mlops_ci.core import gates as core_gates
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.errors import InputError
from mlops_ci.report.render import (
    DataDiff,
    MetricRow,
    PlotRow,
    RenderOptions,
    ReportDocument,
    Reproducibility,
    Revision,
)
from mlops_ci.services.report.collect import collect_data_diff, collect_plots
from mlops_ci.services.report.evaluation import UNKNOWN_NOISE, Evaluation, collect_evaluation
from mlops_ci.services.shared.baseline import (
    BaseReader,
    Collected,
    read_side,
    resolve_base,
    workspace_reader,
)
from mlops_ci.services.shared.baselines import collect_baselines, split_gates, with_baselines
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.pipeline import (
    PipelineRun,
    base_worktree,
    run_pipeline,
    tool_versions,
)
from mlops_ci.services.shared.publish import report_marker
from mlops_ci.services.shared.trend import collect_trend


def _head_ref(git: Git, ctx: RunContext) -> str | None:
    if ctx.head_ref:
        return ctx.head_ref
    proc = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def _template(loaded: LoadedConfig) -> tuple[str | None, str]:
    """(template text or None for the packaged one, template name)."""
    config = loaded.config
    if not config.report.template:
        return None, "pr_report.md.j2"
    path = loaded.root / config.report.template
    if not path.is_file():
        raise InputError(
            f"{config.report.template}: report template not found",
            file=config.report.template,
        )
    try:
        return path.read_text("utf-8"), config.report.template
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{config.report.template}: the report template is not UTF-8 text (byte {exc.start})",
            file=config.report.template,
        ) from None


def render_options(
    loaded: LoadedConfig, ctx: RunContext, full_report_url: str | None
) -> RenderOptions:
    """How this repository wants its report rendered (`report:` in mlops-ci.yaml)."""
    config = loaded.config
    template_text, template_name = _template(loaded)
    return RenderOptions(
        marker=report_marker(ctx.workflow, config),
        fold_unchanged=config.report.fold_unchanged,
        max_rows=config.report.max_rows,
        precision=config.report.precision,
        template_text=template_text,
        template_name=template_name,
        full_report_url=full_report_url,
        plot_points=min(config.plots.max_points, 100),
    )


@dataclass
class _Sides:
    """Everything read at the base and at the head."""

    head_metrics: Collected
    head_params: Collected
    base_metrics: Collected
    base_params: Collected
    plots: list[PlotRow]
    data: DataDiff


def _collect_sides(
    root: Path, config: Config, reader: BaseReader, *, declared_plots: list[dict[str, Any]]
) -> _Sides:
    metric_files = list(config.metrics.files)
    param_files = list(config.params.files)
    head = workspace_reader(root)
    if config.baseline == "none":
        base_metrics = Collected(missing=dict.fromkeys(metric_files, "baseline: none"))
        base_params = Collected(missing=dict.fromkeys(param_files, "baseline: none"))
    else:
        base_metrics = read_side(metric_files, reader.read, parse_metrics)
        base_params = read_side(param_files, reader.read, parse_params)
    plots = (
        collect_plots(declared_plots, root, reader if config.baseline != "none" else None)
        if config.plots.enabled
        else []
    )
    data = (
        collect_data_diff(reader.git, root, reader.sha)
        if config.data.diff
        else DataDiff(available=False, note="Data diff is off (data.diff: false).")
    )
    return _Sides(
        head_metrics=read_side(metric_files, head, parse_metrics),
        head_params=read_side(param_files, head, parse_params),
        base_metrics=base_metrics,
        base_params=base_params,
        plots=plots,
        data=data,
    )


def _diff(base: Collected, head: Collected, files: list[str]) -> core_metrics.DiffResult:
    # A file absent at the head lost its values (removed); one there but unreadable did
    # not: its values are unknown and it gets no rows, only a note.
    absent = dict.fromkeys(name for name in head.missing if name not in head.unreadable)
    return core_metrics.diff(
        base.files,
        {**head.files, **absent},
        files=files,
        no_base=_no_base(base),
        errors=head.unreadable,
    )


def _no_base(base: Collected) -> dict[str, str]:
    return {
        name: f"unreadable at the base: {base.unreadable[name]}" if name in base.unreadable else why
        for name, why in base.missing.items()
    }


def _notes(notes: list[str], run: PipelineRun | None, sides: _Sides, config: Config) -> list[str]:
    if run is not None:
        notes.extend(run.notes)
    for name, why in sides.head_metrics.missing.items():
        if name not in sides.head_metrics.unreadable:
            notes.append(f"{name}: {why}")
    for side in (sides.head_metrics, sides.head_params):
        for why in side.unreadable.values():
            notes.append(f"Unreadable at the head, its values are not compared: {why}")
    for why in sides.base_params.unreadable.values():
        notes.append(f"Unreadable at the base, no baseline for its values: {why}")
    if not config.metrics.files:
        notes.append("No metrics files: declare them in dvc.yaml or metrics.files")
    return notes


def build_document(
    root: Path,
    loaded: LoadedConfig,
    job: Job,
    *,
    base: str | None,
    run: PipelineRun | None,
    git: Git,
    dvc: Dvc,
) -> ReportDocument:
    """Collect base and head, diff, evaluate gates: the report as data."""
    from mlops_ci.dvcfile import read_dvc_yaml

    config = loaded.config
    ctx = job.context
    base_sha, base_ref, notes = resolve_base(git, config, ctx, base)
    with _maybe_reproduce(config, job, git=git, root=root, base_sha=base_sha) as reproduced:
        reader = BaseReader(git, dvc, base_sha, config.baseline, reproduced)
        sides = _collect_sides(root, config, reader, declared_plots=read_dvc_yaml(root).plots)
        base_read = reader.read if config.baseline != "none" else None
        evaluation = collect_evaluation(config.evaluation, root, base_read)
    metrics_diff = _diff(sides.base_metrics, sides.head_metrics, list(config.metrics.files))
    metrics_diff.rows += evaluation.diff().rows
    params_diff = _diff(sides.base_params, sides.head_params, list(config.params.files))
    own_gates, vs_gates = split_gates(config.metrics.gates)
    summary = core_gates.evaluate(
        metrics_diff, own_gates, config.report.precision, evaluation.by_row()
    )
    lock = root / "dvc.lock"
    document = ReportDocument(
        repository=ctx.repository or None,
        pr_number=ctx.pr_number,
        run_url=ctx.run_url or None,
        base=Revision(ref=base_ref, sha=base_sha),
        head=Revision(ref=_head_ref(git, ctx), sha=git.current_sha()),
        baseline=config.baseline,
        metrics=_metric_rows(metrics_diff, evaluation),
        params=[MetricRow.from_delta(r) for r in params_diff.rows],
        metrics_no_base=_no_base(sides.base_metrics),
        params_no_base=_no_base(sides.base_params),
        data=sides.data,
        plots=sides.plots,
        reproducibility=Reproducibility(
            run_seconds=run.seconds if run else None,
            pipeline=run.command if run else None,
            stages=stage_hashes(lock.read_text("utf-8", "replace") if lock.is_file() else None),
            versions=tool_versions(),
            restored=run.restored if run else {},
            stage_seconds=run.stage_seconds if run else {},
        ),
        notes=_notes(notes, run, sides, config) + _noise_note(evaluation, metrics_diff),
    )
    if config.report.trend:
        document = document.model_copy(update={"trend": collect_trend(root, loaded, base_ref)})
    found = collect_baselines(
        root,
        config,
        diff_with=lambda side: _diff(side, sides.head_metrics, list(config.metrics.files)),
        branch=base_ref,
    )
    return with_baselines(document, found, git=git).with_gates(
        summary, found.judge(config, vs_gates)
    )


def _metric_rows(diff: core_metrics.DiffResult, evaluation: Evaluation) -> list[MetricRow]:
    """The metric rows, those recomputed from per-example rows with their intervals."""
    intervals = evaluation.by_row()
    rows = []
    for delta in diff.rows:
        row = MetricRow.from_delta(delta)
        interval = intervals.get((delta.file, delta.key))
        rows.append(row if interval is None else row.with_interval(interval))
    return rows


def _noise_note(evaluation: Evaluation, diff: core_metrics.DiffResult) -> list[str]:
    """Why deltas have no intervals: said when some metric changed, or rows were declared."""
    if evaluation.note is None or (evaluation.note == UNKNOWN_NOISE and not diff.changed):
        return []
    return [evaluation.note]


@contextmanager
def _maybe_reproduce(
    config: Config, job: Job, *, git: Git, root: Path, base_sha: str
) -> Iterator[Path | None]:
    """`baseline: reproduce`: the base pipeline run in a worktree sharing our DVC cache."""
    if config.baseline != "reproduce":
        yield None
        return
    with base_worktree(git, base_sha, root) as path:
        run_pipeline(config, Dvc(path), sink=job.progress.line, group=job.progress.group, cwd=path)
        yield path
