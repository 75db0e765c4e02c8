"""The leaderboard as data: every run diffed against the base, gated, and ranked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_ci.config import Config
from mlops_ci.core import experiments as core_exp
from mlops_ci.core import gates as core_gates
from mlops_ci.core import metrics as core_metrics
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.report.leaderboard import Leaderboard, LeaderboardRow
from mlops_ci.report.render import GateRow, MetricRow, Revision
from mlops_ci.services.sweep.plan import settings
from mlops_ci.services.sweep.records import RunRecord

#: A run's parsed metrics files by name (None: the file is not there).
MetricsFiles = Mapping[str, Mapping[str, Any] | None]


def build_leaderboard(
    records: Sequence[tuple[RunRecord, str]],
    *,
    config: Config,
    base_files: MetricsFiles,
    base_missing: Mapping[str, str],
    base: Revision,
    keys: Sequence[str] | None = None,
) -> Leaderboard:
    """Diff every run against the base, evaluate the gates, rank by the primary metric.

    Pure: records (each with where it was read from) and base values in, the
    leaderboard as data out.
    """
    setup = settings(config)
    if setup.metric is None:
        raise ConfigError(
            "no primary metric to rank the sweep by",
            hint="set experiments.metric (or configure a gate under metrics.gates)",
        )
    _check_unique_ids(records)
    rows: dict[str, LeaderboardRow] = {}
    scored: list[tuple[str, bool, Any]] = []
    for record, source in records:
        row = _row(record, source)
        value = None
        if record.status == "ok":
            value = _score(
                row, record, config, setup.metric, base_files=base_files, base_missing=base_missing
            )
        rows[record.id] = row
        scored.append((record.id, record.status == "ok", value))
    ordered = []
    for place in core_exp.rank(scored, setup.direction):
        row = rows[place.id]
        row.rank = place.rank
        row.best = place.best
        row.status = place.status
        ordered.append(row)
    swept = list(keys) if keys else list(dict.fromkeys(k for r, _ in records for k in r.set))
    return Leaderboard(
        metric=setup.metric,
        direction=setup.direction,
        keys=swept,
        base=base,
        base_missing=dict(base_missing),
        rows=ordered,
        notes=_notes(ordered, setup.metric),
    )


def _check_unique_ids(records: Sequence[tuple[RunRecord, str]]) -> None:
    seen: dict[str, str] = {}
    for record, source in records:
        if record.id in seen:
            raise InputError(
                f"two bundles have the run id {record.id!r}: {seen[record.id]} and {source}"
            )
        seen[record.id] = source


def _row(record: RunRecord, source: str) -> LeaderboardRow:
    return LeaderboardRow(
        id=record.id,
        status=record.status,
        error=record.error,
        set=record.set,
        code_sha=record.code_sha,
        run_seconds=record.run_seconds,
        data=record.data,
        environment=record.environment,
        source=source,
    )


def _score(
    row: LeaderboardRow,
    record: RunRecord,
    config: Config,
    metric: str,
    *,
    base_files: MetricsFiles,
    base_missing: Mapping[str, str],
) -> float | None:
    """Fill in the run's diff, gates and primary metric; returns the primary value."""
    files = list(config.metrics.files) or list(record.metrics)
    diff = core_metrics.diff(
        {k: v for k, v in base_files.items() if v is not None},
        {name: record.metrics.get(name) for name in files},
        files=files,
        no_base=base_missing,
    )
    summary = core_gates.evaluate(diff, config.metrics.gates, config.report.precision)
    row.metrics = [MetricRow.from_delta(r) for r in diff.rows]
    row.gates = [GateRow.from_result(r) for r in summary.results]
    row.verdict = summary.verdict
    found = diff.find(metric)
    if not found:
        return None
    value = _number(found[0].head)
    row.primary = value
    if found[0].status in ("changed", "unchanged"):
        row.primary_base = _number(found[0].base)
    if value is not None and row.primary_base is not None:
        row.primary_delta = value - row.primary_base
    return value


def _number(value: Any) -> float | None:
    """A finite number (or a one-element list of one), else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if core_metrics.is_number(value) and math.isfinite(value):
        return float(value)
    return None


def _notes(rows: Sequence[LeaderboardRow], metric: str) -> list[str]:
    if not any(r.status == "ok" for r in rows):
        return ["No run succeeded."]
    if not any(r.rank for r in rows):
        return [f"No successful run reported {metric}."]
    return []
