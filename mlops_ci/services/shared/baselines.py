"""Baselines of the PR report besides the merge base (`report.baselines`).

A registry stage names the version that holds it (`production`: what is deployed); its
metrics come from its register tag's message (written by `register`), else from its
commit's files (git, then DVC), never from running anything. `branch-tip` is the tip of
the base branch. Each becomes a column of the metrics table, and gates with `vs:` are
judged against it. `report` and `post` both use this module; `post` runs it on the
trusted checkout, so a fork's bundle never supplies a baseline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_ci.adapters.dvc import Dvc
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config
from mlops_ci.core import gates as core_gates
from mlops_ci.core.formats import parse_metrics
from mlops_ci.core.metrics import DiffResult
from mlops_ci.errors import GitError, MlopsCIError
from mlops_ci.report.document import BaselineColumn, MetricRow, ReportDocument, Revision
from mlops_ci.services.shared.baseline import BaseReader, Collected, read_side

__all__ = [
    "BRANCH_TIP",
    "MERGE_BASE",
    "Baselines",
    "collect_baselines",
    "split_gates",
    "wanted",
    "with_baselines",
]

BRANCH_TIP = "branch-tip"
MERGE_BASE = "merge-base"

#: Diffs a base side with the head, as the caller compares its head.
DiffWith = Callable[[Collected], DiffResult]


@dataclass
class Baselines:
    """The extra columns, the diff behind each, and notes on those left out."""

    columns: list[BaselineColumn] = field(default_factory=list)
    diffs: dict[str, DiffResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def judge(
        self, config: Config, vs_gates: Mapping[str, Mapping[str, Any]]
    ) -> list[tuple[str, core_gates.GateSummary]]:
        """The `vs:` gates of each baseline, judged against its diff (with no base values
        when the baseline is absent: bounds still hold, regressions are not checked)."""
        judged = []
        for name, gates in vs_gates.items():
            metrics = self.diffs.get(name, DiffResult())
            summary = core_gates.evaluate(metrics, gates, config.report.precision)
            judged.append((name, summary))
        return judged


def split_gates(gates: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(gates judged against the merge base, the others by the baseline they name)."""
    own: dict[str, Any] = {}
    others: dict[str, dict[str, Any]] = {}
    for name, gate in gates.items():
        vs = getattr(gate, "vs", MERGE_BASE)
        if vs == MERGE_BASE:
            own[name] = gate
        else:
            others.setdefault(vs, {})[name] = gate
    return own, others


def wanted(config: Config) -> tuple[list[str], set[str]]:
    """(baselines to collect, in order; those named explicitly). The default
    `[production]` is left out silently while no version holds the stage."""
    names = list(config.report.baselines)
    explicit = set(names) if "baselines" in config.report.model_fields_set else set()
    for gate in config.metrics.gates.values():
        if gate.vs != MERGE_BASE:
            explicit.add(gate.vs)
            if gate.vs not in names:
                names.append(gate.vs)
    return names, explicit


def age_seconds(git: Git, sha: str, now: datetime) -> int | None:
    try:
        return max(0, int((now - git.commit_time(sha)).total_seconds()))
    except (GitError, ValueError):
        return None


def collect_baselines(
    root: Path,
    config: Config,
    *,
    diff_with: DiffWith,
    branch: str | None,
    now: datetime | None = None,
) -> Baselines:
    """Every wanted baseline read from this checkout and diffed with the head."""
    names, explicit = wanted(config)
    found = Baselines()
    if not names:
        return found
    now = now or datetime.now(UTC)
    git = Git(root)
    # `baseline: reproduce` never re-runs these: DVC outputs come from the cache or remote.
    reader_mode = "git" if config.baseline == "none" else "dvc"
    dvc = Dvc(root)
    files = list(config.metrics.files)
    for name in names:
        try:
            target = _target(root, git, config, name, branch)
        except MlopsCIError as exc:
            target = exc.message
        if isinstance(target, str):
            if name in explicit:
                found.notes.append(f"Baseline {name} left out: {target}")
            # Its `vs:` gates see the head with no base: bounds hold, regressions unchecked.
            found.diffs[name] = diff_with(Collected(missing=dict.fromkeys(files, target)))
            continue
        sha, ref, version, tagged = target
        from_tag = _from_tag(tagged, files) if tagged is not None else {}
        reader = BaseReader(git, dvc, sha, reader_mode)
        rest = [f for f in files if f not in from_tag]
        side = read_side(rest, reader.read, parse_metrics)
        side.files.update(from_tag)
        metrics = diff_with(side)
        found.diffs[name] = metrics
        found.columns.append(
            BaselineColumn(
                name=name,
                revision=Revision(ref=ref, sha=sha, age_seconds=age_seconds(git, sha, now)),
                version=version,
                source="tag" if from_tag and not rest else "commit",
                metrics=[MetricRow.from_delta(r) for r in metrics.rows],
                no_base=dict(metrics.no_base),
            )
        )
    return found


_Target = tuple[str, str | None, str | None, str | None]


def _target(root: Path, git: Git, config: Config, name: str, branch: str | None) -> _Target | str:
    """(sha, ref, version, register tag message) of a baseline, or why there is none."""
    if name == BRANCH_TIP:
        if not branch:
            return "no base branch is known"
        return git.rev_parse(git.branch_ref(branch)), branch, None, None
    from mlops_ci.services.shared.registry import open_registry

    reg = open_registry(root)
    model, why = _model(config, reg.state.artifacts, name)
    if model is None:
        return why or f"no version holds {name}"
    artifact = reg.state.artifacts.get(model)
    holder = artifact.holder(name) if artifact is not None else None
    if artifact is None or holder is None:
        return f"no version of {model} holds {name} (are the registry tags fetched?)"
    version = artifact.versions.get(holder.version)
    registration = version.registration if version is not None else None
    sha = git.rev_parse(holder.commit)
    message = registration.message if registration is not None else None
    return sha, holder.event.tag, holder.version, message


def _model(
    config: Config, artifacts: Mapping[str, Any], stage: str
) -> tuple[str | None, str | None]:
    """(the model whose holder of `stage` is the baseline, or None and why): `report.model`,
    else the only configured model, else the only one holding the stage."""
    if config.report.model:
        return config.report.model, None
    if len(config.models) == 1:
        return next(iter(config.models)), None
    holding = sorted(n for n, a in artifacts.items() if a.holder(stage) is not None)
    if len(holding) > 1:
        return None, f"{len(holding)} models hold {stage}: name one in report.model"
    return (holding[0], None) if holding else (None, None)


def _from_tag(message: str, files: list[str]) -> dict[str, dict[str, Any]]:
    """Metrics files as a register tag's message recorded them (`metrics: {"f:key": v}`)."""
    from mlops_ci.services.shared.registry import METRICS_MARKER

    line = next((x for x in message.splitlines() if x.startswith(METRICS_MARKER)), None)
    if line is None:
        return {}
    try:
        flat = json.loads(line[len(METRICS_MARKER) :])
    except ValueError:
        return {}
    if not isinstance(flat, dict):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for file in files:
        prefix = f"{file}:"
        values = {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
        if values:
            found[file] = values
    return found


def with_baselines(document: ReportDocument, found: Baselines, *, git: Git) -> ReportDocument:
    """The document with its extra columns and their notes; with columns, the merge base
    gets its age too (every column's label says how old it is)."""
    update: dict[str, Any] = {
        "baselines": found.columns,
        "notes": [*document.notes, *found.notes],
    }
    if found.columns and document.base.sha:
        now = datetime.now(UTC)
        base = document.base.model_copy(
            update={"age_seconds": age_seconds(git, document.base.sha, now)}
        )
        update["base"] = base
    return document.model_copy(update=update)
