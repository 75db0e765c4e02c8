"""Parameter sweeps: plan the matrix, run one cell, merge the cells into a leaderboard.

`plan` expands `experiments:` from mlops-ci.yaml into cells (`core.experiments`).
`run` writes one cell's values into the params file, runs the pipeline as the PR
report does (`pipeline.run` with the tool environment), reads the metrics and
writes a bundle: `record.json` plus copies of the metrics files. A failing
pipeline gives a bundle too, with status `failed` and the error. `merge` reads
bundles (as untrusted data: size-capped, validated, every string escaped), diffs
each run against the base metrics, evaluates the gates, ranks the runs by the
primary metric and renders one leaderboard, published like the PR report (one
sticky comment per workflow, marker kind `sweep`).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_ci.config import Config, LoadedConfig, load_config
from mlops_ci.core import experiments as core_exp
from mlops_ci.core import gates as core_gates
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.errors import ConfigError, GitError, InputError, MlopsCIError
from mlops_ci.report.render import GateRow, MetricRow, Revision

LineSink = Callable[[str], None]
Publish = Literal["auto", "github", "local", "none"]

RECORD_JSON = "record.json"
LEADERBOARD_MD = "leaderboard.md"
LEADERBOARD_JSON = "leaderboard.json"
FILES_DIR = "files"
MARKER_KIND = "sweep"
DEFAULT_RUNS_DIR = Path(".mlops-ci/sweep/runs")
DEFAULT_OUTPUT = Path(".mlops-ci/sweep")
SET_VARIABLE = "MLOPS_CI_SWEEP_SET"
ID_VARIABLE = "MLOPS_CI_SWEEP_ID"
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_RECORDS = 512

__all__ = [
    "MergeOutcome",
    "MergeRequest",
    "RunOutcome",
    "RunRecord",
    "RunRequest",
    "merge_sweep",
    "plan_sweep",
    "run_cell",
]


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepSettings:
    """`experiments:` with its defaults filled in."""

    metric: str | None
    direction: core_exp.Direction
    params_file: str


def settings(config: Config) -> SweepSettings:
    exp = config.experiments
    metric = exp.metric or next(iter(config.metrics.gates), None)
    direction = exp.direction
    if direction is None:
        gate = config.metrics.gates.get(metric) if metric else None
        direction = gate.direction if gate is not None else "higher"
    params_file = exp.params_file or (config.params.files or ["params.yaml"])[0]
    return SweepSettings(metric, direction, params_file)


def plan_sweep(root: Path, config_path: Path | None = None) -> core_exp.SweepPlan:
    """The cells of the sweep that `experiments:` in mlops-ci.yaml describes."""
    loaded = load_config(root, config_path)
    exp = loaded.config.experiments
    if not exp.grid and not exp.sets:
        raise ConfigError(
            "mlops-ci.yaml has no experiments to sweep",
            hint="add experiments.grid (values per param key) or experiments.sets",
            file=str(loaded.path) if loaded.path else None,
        )
    try:
        return core_exp.plan(exp.grid, exp.sets, max_runs=exp.max_runs)
    except core_exp.SweepError as exc:
        raise ConfigError(f"experiments: {exc}") from None


# --- the record -----------------------------------------------------------------------


class RunRecord(BaseModel):
    """`record.json` of one cell (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str = Field(max_length=64)
    status: Literal["ok", "failed"]
    error: str | None = Field(None, max_length=4000)
    set: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    stages: dict[str, str] = Field(default_factory=dict)
    code_sha: str | None = Field(None, max_length=64)
    ref: str | None = Field(None, max_length=1000)
    pipeline: str | None = Field(None, max_length=2000)
    started_at: str | None = Field(None, max_length=64)
    run_seconds: float | None = None
    environment: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not core_exp.CELL_ID.match(value):
            raise ValueError("expected letters, digits, '.', '_' or '-' (at most 64)")
        return value

    @field_validator("metrics", "params")
    @classmethod
    def _files(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, data in value.items():
            if not isinstance(data, dict):
                raise ValueError(f"{name}: expected a mapping of values")
        return value


def write_record(bundle: Path, record: RunRecord) -> Path:
    from mlops_ci.services.report import write_atomic

    path = bundle / RECORD_JSON
    text = json.dumps(record.model_dump(mode="python"), indent=2, allow_nan=True, default=str)
    write_atomic(path, text + "\n")
    return path


def read_record(path: Path) -> RunRecord:
    """One record.json, as untrusted data: a regular file, size-capped, strictly validated."""
    if path.is_symlink() or not path.is_file():
        raise InputError(f"{path}: not a regular file")
    with path.open("rb") as handle:
        raw = handle.read(MAX_RECORD_BYTES + 1)
    if len(raw) > MAX_RECORD_BYTES:
        raise InputError(f"{path}: larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})".splitlines()[0]) from None
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"{path}: invalid record: {where}: {err['msg']}"[:400]) from None


# --- writing params -----------------------------------------------------------------------


def _inside(root: Path, name: str) -> Path:
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InputError(f"{name}: the params file must be inside the repository")
    return path


def apply_params(text: str, path: str, assignments: Mapping[str, Any]) -> str:
    """`text` of a params file with dotted keys set; other keys, order and comments kept."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix == "json":
        data = json.loads(text) if text.strip() else {}
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a JSON object at the top level")
        for key, value in assignments.items():
            core_exp.set_nested(data, key, value)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if suffix == "toml":
        import tomlkit

        doc = tomlkit.parse(text)
        for key, value in assignments.items():
            core_exp.set_nested(doc, key, value)
        return tomlkit.dumps(doc)
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.preserve_quotes = True
    loaded = yaml.load(text) if text.strip() else None
    if loaded is None:
        loaded = CommentedMap()
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    for key, value in assignments.items():
        core_exp.set_nested(loaded, key, value)
    out = io.StringIO()
    yaml.dump(loaded, out)
    return out.getvalue()


def group_assignments(
    assignments: Mapping[str, Any], default_file: str
) -> dict[str, dict[str, Any]]:
    """file → {dotted key: value}; a key without `FILE:` goes to `default_file`."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in assignments.items():
        file, dotted = core_exp.split_key(key)
        grouped.setdefault(file or default_file, {})[dotted] = value
    return grouped


# --- running one cell ---------------------------------------------------------------------


@dataclass
class RunRequest:
    root: Path
    assignments: dict[str, Any]
    config_path: Path | None = None
    cell_id: str | None = None
    output: Path | None = None
    keep_params: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class RunOutcome:
    record: RunRecord
    bundle: Path
    record_path: Path


def cell_id_for(root: Path, config_path: Path | None, assignments: Mapping[str, Any]) -> str:
    """The planned id of these values, else `x` + a short hash of them."""
    try:
        planned = plan_sweep(root, config_path)
    except ConfigError:
        planned = None
    wanted = core_exp.format_set(assignments)
    if planned is not None:
        for cell in planned.cells:
            if cell.params == dict(assignments) or cell.line == wanted:
                return cell.id
    return "x" + hashlib.sha256(wanted.encode()).hexdigest()[:10]


def run_cell(
    request: RunRequest,
    *,
    sink: LineSink | None = None,
    group: Callable[[str], Any] | None = None,
) -> RunOutcome:
    """Run one cell and write its bundle. A failing pipeline gives a `failed` record."""
    from mlops_ci.adapters.dvc import Dvc, stage_hashes
    from mlops_ci.adapters.git import Git
    from mlops_ci.core.lockfile import read_lock, recorded_hashes
    from mlops_ci.services.report import no_group, run_pipeline, tool_versions, write_atomic

    root = request.root.resolve()
    loaded = load_config(root, request.config_path)
    config = loaded.config
    if not request.assignments:
        raise InputError(
            "no parameter values for this run",
            hint=f"pass --set KEY=VALUE (or set {SET_VARIABLE}, as the sweep workflow does)",
        )
    cell_id = request.cell_id or cell_id_for(root, request.config_path, request.assignments)
    if not core_exp.CELL_ID.match(cell_id):
        raise InputError(f"run id {cell_id!r}: use letters, digits, '.', '_' or '-' (max 64)")
    output = request.output or DEFAULT_RUNS_DIR / cell_id
    bundle = output if output.is_absolute() else root / output
    git = Git(root)
    code_sha: str | None = None
    ref: str | None = None
    if git.is_repo():
        try:
            code_sha = git.current_sha()
        except GitError:
            code_sha = None
        proc = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        ref = proc.stdout.decode().strip() or None if proc.returncode == 0 else None
    setup = settings(config)
    grouped = group_assignments(request.assignments, setup.params_file)
    started = datetime.now(UTC)
    record = RunRecord(
        id=cell_id,
        status="ok",
        set=dict(request.assignments),
        code_sha=code_sha,
        ref=ref,
        pipeline=config.pipeline.run,
        started_at=started.isoformat(timespec="seconds"),
        environment=tool_versions(),
    )
    originals: dict[Path, bytes | None] = {}
    copies: dict[str, bytes] = {}
    clock = time.monotonic()
    try:
        for name, values in grouped.items():
            path = _inside(root, name)
            before = path.read_bytes() if path.is_file() else None
            originals[path] = before
            text = before.decode("utf-8") if before is not None else ""
            write_atomic(path, apply_params(text, name, values))
        params_files = list(dict.fromkeys([*config.params.files, *grouped]))
        record.params = {
            name: parse_params((root / name).read_bytes(), name)
            for name in params_files
            if (root / name).is_file()
        }
        dvc = Dvc(root)
        run_pipeline(config, dvc, sink=sink, group=group or no_group)
        record.run_seconds = round(time.monotonic() - clock, 3)
        missing = []
        for name in config.metrics.files:
            path = root / name
            if not path.is_file():
                missing.append(name)
                continue
            raw = path.read_bytes()
            copies[name] = raw
            record.metrics[name] = parse_metrics(raw, name)
        if missing:
            raise InputError(
                "the pipeline succeeded but wrote no " + ", ".join(missing),
                hint="check metrics.files in mlops-ci.yaml or the metrics in dvc.yaml",
            )
        if not config.metrics.files:
            raise InputError("no metrics files: declare them in dvc.yaml or metrics.files")
    except (MlopsCIError, core_exp.SweepError, OSError, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, MlopsCIError) else str(exc)
        record.status = "failed"
        record.error = message[:4000]
        if record.run_seconds is None:
            record.run_seconds = round(time.monotonic() - clock, 3)
    finally:
        if record.status == "ok":
            # After a failure dvc.lock still describes an earlier run: not recorded.
            lock = root / "dvc.lock"
            lock_text = lock.read_text("utf-8", "replace") if lock.is_file() else None
            record.data = recorded_hashes(read_lock(lock_text))
            record.stages = stage_hashes(lock_text)
        if not request.keep_params:
            for path, before in originals.items():
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(before)
    for name, raw in copies.items():
        target = bundle / FILES_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    record_path = write_record(bundle, record)
    return RunOutcome(record=record, bundle=bundle, record_path=record_path)


# --- merging -----------------------------------------------------------------------------


class LeaderboardRow(BaseModel):
    """One run on the leaderboard."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    id: str
    rank: int | None = None
    best: bool = False
    status: Literal["ok", "failed", "no_metric"]
    error: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    primary: float | None = None
    primary_base: float | None = None
    primary_delta: float | None = None
    verdict: Literal["pass", "fail", "none"] = "none"
    gates: list[GateRow] = Field(default_factory=list)
    metrics: list[MetricRow] = Field(default_factory=list)
    code_sha: str | None = None
    run_seconds: float | None = None
    data: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    source: str | None = None


class Leaderboard(BaseModel):
    """`leaderboard.json`: the merged sweep, as data (schema version 1)."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    schema_version: Literal[1] = 1
    metric: str
    direction: Literal["higher", "lower"]
    keys: list[str] = Field(default_factory=list)
    base: Revision = Field(default_factory=Revision)  # type: ignore[arg-type, unused-ignore]
    base_missing: dict[str, str] = Field(default_factory=dict)
    rows: list[LeaderboardRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def best(self) -> list[LeaderboardRow]:
        return [r for r in self.rows if r.best]

    @property
    def failed(self) -> list[LeaderboardRow]:
        return [r for r in self.rows if r.status == "failed"]


def find_records(dirs: Sequence[Path]) -> list[Path]:
    """Every `record.json` in the given bundles or directories of bundles."""
    found: list[Path] = []
    for directory in dirs:
        if directory.is_file() and directory.name == RECORD_JSON:
            found.append(directory)
            continue
        if not directory.is_dir():
            raise InputError(f"{directory}: no such bundle directory")
        direct = directory / RECORD_JSON
        if direct.is_file():
            found.append(direct)
            continue
        nested = sorted(p for p in directory.rglob(RECORD_JSON) if not p.is_symlink())
        if not nested:
            raise InputError(f"{directory}: no {RECORD_JSON} in it or below it")
        found.extend(nested)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if len(unique) > MAX_RECORDS:
        raise InputError(f"{len(unique)} bundles: more than {MAX_RECORDS}")
    return unique


def _unreadable_row(path: Path, why: str) -> RunRecord:
    name = path.parent.name or "bundle"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60] or "bundle"
    return RunRecord(id=safe if safe[0].isalnum() else f"b{safe}"[:64], status="failed", error=why)


def _number(value: Any) -> float | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if core_metrics.is_number(value) and math.isfinite(value):
        return float(value)
    return None


def build_leaderboard(
    records: Sequence[tuple[RunRecord, str]],
    *,
    config: Config,
    base_files: Mapping[str, Mapping[str, Any] | None],
    base_missing: Mapping[str, str],
    base: Revision,
    keys: Sequence[str] | None = None,
) -> Leaderboard:
    """Diff every run against the base, evaluate the gates, rank by the primary metric.

    Pure: records and base values in, the leaderboard as data out.
    """
    setup = settings(config)
    if setup.metric is None:
        raise ConfigError(
            "no primary metric to rank the sweep by",
            hint="set experiments.metric (or configure a gate under metrics.gates)",
        )
    seen: dict[str, str] = {}
    for record, source in records:
        if record.id in seen:
            raise InputError(
                f"two bundles have the run id {record.id!r}: {seen[record.id]} and {source}"
            )
        seen[record.id] = source
    precision = config.report.precision
    rows: dict[str, LeaderboardRow] = {}
    scored: list[tuple[str, bool, Any]] = []
    for record, source in records:
        row = LeaderboardRow(
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
        value: float | None = None
        if record.status == "ok":
            files = list(config.metrics.files) or list(record.metrics)
            diff = core_metrics.diff(
                {k: v for k, v in base_files.items() if v is not None},
                {name: record.metrics.get(name) for name in files},
                files=files,
                no_base=base_missing,
            )
            summary = core_gates.evaluate(diff, config.metrics.gates, precision)
            row.metrics = [MetricRow.from_delta(r) for r in diff.rows]
            row.gates = [GateRow.from_result(r) for r in summary.results]
            row.verdict = summary.verdict
            found = diff.find(setup.metric)
            if found:
                value = _number(found[0].head)
                row.primary = value
                if found[0].status in ("changed", "unchanged"):
                    row.primary_base = _number(found[0].base)
                if value is not None and row.primary_base is not None:
                    row.primary_delta = value - row.primary_base
        rows[record.id] = row
        scored.append((record.id, record.status == "ok", value))
    ranked = core_exp.rank(scored, setup.direction)
    ordered = []
    for place in ranked:
        row = rows[place.id]
        row.rank = place.rank
        row.best = place.best
        row.status = place.status
        ordered.append(row)
    swept = list(keys) if keys else list(dict.fromkeys(k for r, _ in records for k in r.set))
    notes = []
    if not any(r.status == "ok" for r in ordered):
        notes.append("No run succeeded.")
    elif not any(r.rank for r in ordered):
        notes.append(f"No successful run reported {setup.metric}.")
    return Leaderboard(
        metric=setup.metric,
        direction=setup.direction,
        keys=swept,
        base=base,
        base_missing=dict(base_missing),
        rows=ordered,
        notes=notes,
    )


# --- rendering -----------------------------------------------------------------------------


def _fmt(value: Any, precision: int) -> str:
    from mlops_ci.report.escape import md_text

    if core_metrics.is_number(value) or isinstance(value, bool) or value is None:
        return core_metrics.format_value(value, precision)
    return md_text(core_metrics.format_value(value, precision), 80)


def _short_key(key: str, keys: Sequence[str]) -> str:
    """The last segment of a dotted key when it names only one swept key."""
    last = key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    clashes = sum(1 for k in keys if k.rsplit(".", 1)[-1].rsplit(":", 1)[-1] == last)
    return last if clashes == 1 else key


def _effect_charts(board: Leaderboard, keys: Sequence[str]) -> tuple[list[str], float | None]:
    """The primary metric per value of each swept param: best run as bars, mean as a line.

    Drawn as the margin over the worst run (so the longest bar is the best value, and
    the worst run is zero): an axis from zero would flatten 0.95 against 0.97 into one
    length, and a bar chart cannot show negative changes honestly. Returns the charts
    and the worst run's value they are measured from.
    """
    from markupsafe import Markup

    from mlops_ci.report import mermaid

    runs = [(row.set, float(row.primary)) for row in board.rows if row.primary is not None]
    if not runs:
        return [], None
    higher = board.direction == "higher"
    worst = min(v for _, v in runs) if higher else max(v for _, v in runs)
    effects = core_exp.param_effects(
        [(params, (v - worst) if higher else (worst - v)) for params, v in runs],
        keys,
        "higher",
    )
    charts: list[str] = []
    for effect in effects[:6]:
        title = f"{board.metric} over the worst run, by {_short_key(effect.key, keys)}"
        points = [
            mermaid.BarPoint(label, best, mean)
            for label, best, mean in zip(effect.labels, effect.best, effect.mean, strict=True)
        ]
        charts.append(Markup(mermaid.bar_chart(title, points)))  # noqa: S704 - labels escaped
    return charts, worst


def leaderboard_context(board: Leaderboard, marker: str, precision: int) -> dict[str, Any]:
    """Everything the leaderboard template prints, escaped (Markup marks what is safe)."""
    from markupsafe import Markup

    from mlops_ci.report.escape import md_code, md_text

    icon = {"pass": "✅", "fail": "❌", "skip": "⏭️", "none": "—"}
    keys = board.keys
    headers = [Markup(md_text(_short_key(k, keys), 60)) for k in keys]  # noqa: S704

    def setting(row: LeaderboardRow) -> str:
        return " ".join(
            f"{_short_key(k, keys)}={core_exp.format_value(row.set[k])}"
            for k in keys
            if k in row.set
        )

    table = []
    for row in board.rows:
        place = "—" if row.rank is None else str(row.rank)
        run_id = md_text(row.id, 64)
        primary = _fmt(row.primary, precision) if row.primary is not None else "—"
        if row.best:
            place, run_id, primary = f"🏆 **{place}**", f"**{run_id}**", f"**{primary}**"
        if row.status == "failed":
            status = "❌ failed: " + md_text(row.error or "unknown error", 160)
        elif row.status == "no_metric":
            status = f"⚠️ no {md_text(board.metric, 60)}"
        else:
            status = "ok"
        table.append(
            {
                "rank": Markup(place),  # noqa: S704 - escaped above
                "id": Markup(run_id),  # noqa: S704
                "cells": [
                    Markup(_fmt(row.set[k], precision) if k in row.set else "—")  # noqa: S704
                    for k in keys
                ],
                "primary": Markup(primary),  # noqa: S704
                "delta": Markup(  # noqa: S704 - a number
                    core_metrics.format_delta(row.primary_delta, precision)
                ),
                "gates": Markup(" ".join(icon[g.verdict] for g in row.gates) or "—"),  # noqa: S704
                "status": Markup(status),  # noqa: S704
            }
        )
    charts, worst = _effect_charts(board, keys)
    chart_note = ""
    if worst is not None:
        better = "higher" if board.direction == "higher" else "lower"
        chart_note = (
            f"How much better than the worst run ({md_text(board.metric, 80)} "
            f"{core_metrics.format_value(worst, precision)}, {better} is better) each value "
            "of a parameter does: bars for its best run, the line for the mean of its runs."
        )
    details = []
    for row in board.rows:
        metric_rows = [
            {
                "name": Markup(md_text(m.key, 120)),  # noqa: S704
                "base": Markup(  # noqa: S704
                    "*no baseline*"
                    if m.status == "no_base"
                    else "*new*"
                    if m.status == "added"
                    else _fmt(m.base, precision)
                ),
                "head": Markup(_fmt(m.head, precision)),  # noqa: S704
                "delta": Markup(core_metrics.format_delta(m.delta, precision)),  # noqa: S704
                "delta_pct": Markup(  # noqa: S704
                    core_metrics.format_delta(m.delta_pct, 3, pct=True)
                ),
            }
            for m in row.metrics[:200]
        ]
        gate_rows = [
            {
                "icon": Markup(icon[g.verdict]),  # noqa: S704
                "gate": Markup(md_text(g.gate, 120)),  # noqa: S704
                "reason": Markup(md_text(g.reason, 300)),  # noqa: S704
            }
            for g in row.gates[:50]
        ]
        verdict_icon = "❌" if row.status == "failed" else icon[row.verdict]
        versions = ", ".join(
            f"{md_text(k, 40)} {md_text(v, 40)}" for k, v in list(row.environment.items())[:8]
        )
        details.append(
            {
                # Inside <summary> Markdown escapes show as typed: only the run id (checked
                # to be plain letters, digits and . _ -) and a number go there.
                "summary": Markup(  # noqa: S704 - a checked id and a number
                    f"{verdict_icon} {row.id}"
                    + (
                        f" · {core_metrics.format_value(row.primary, precision)}"
                        if row.primary is not None
                        else ""
                    )
                ),
                "setting": Markup(md_code(setting(row) or "-", 300)),  # noqa: S704
                "failed": row.status == "failed",
                "error": Markup(md_text(row.error or "", 1000)),  # noqa: S704
                "gates": gate_rows,
                "metrics": metric_rows,
                "code_sha": Markup(md_code(row.code_sha or "unknown", 64)),  # noqa: S704
                "run_time": Markup(  # noqa: S704 - a number
                    f"{row.run_seconds:.1f} s" if row.run_seconds is not None else "—"
                ),
                "data": [
                    {"path": Markup(md_code(p, 160)), "md5": Markup(md_code(h[:12], 20))}  # noqa: S704
                    for p, h in list(row.data.items())[:20]
                ],
                "versions": Markup(versions),  # noqa: S704 - escaped above
            }
        )
    best = board.best
    failed = board.failed
    total = len(board.rows)
    metric = md_text(board.metric, 80)
    if best:
        top = best[0]
        delta = ""
        if top.primary_delta is not None:
            delta = f" ({core_metrics.format_delta(top.primary_delta, precision)} vs base)"
        headline = (
            f"🏆 **Best: {md_text(top.id, 64)}** · {metric} "
            f"**{_fmt(top.primary, precision)}**{delta} with {md_code(setting(top) or '-', 300)}"
        )
    else:
        headline = f"⚠️ **No run to rank** by {metric}"
    counts = (
        f"{total} run" + ("" if total == 1 else "s") + (f", {len(failed)} failed" if failed else "")
    )
    base_label = None
    if board.base.sha:
        base_label = Markup(  # noqa: S704
            f"{md_code(board.base.ref or 'base', 100)} at {md_code(board.base.sha[:12], 20)}"
        )
    return {
        "marker": Markup(marker),  # noqa: S704 - built from sanitised parts
        "headline": Markup(headline),  # noqa: S704 - escaped parts
        "counts": Markup(counts),  # noqa: S704 - numbers only
        "metric": Markup(metric),  # noqa: S704
        "direction": board.direction,
        "headers": headers,
        "rows": table,
        "charts": charts,
        "chart_note": Markup(chart_note),  # noqa: S704 - escaped parts
        "details": details,
        "base": base_label,
        "base_missing": [
            Markup(f"{md_code(f, 160)}: {md_text(w, 200)}")  # noqa: S704
            for f, w in list(board.base_missing.items())[:20]
        ],
        "notes": [Markup(md_text(n, 300)) for n in board.notes[:20]],  # noqa: S704
    }


def render_leaderboard(
    board: Leaderboard,
    *,
    marker: str,
    precision: int = 4,
    limit: int | None = None,
    full_report_url: str | None = None,
) -> str:
    """The leaderboard as Markdown (sandboxed template, cut to `limit` characters)."""
    import re

    from mlops_ci.report.budget import COMMENT_LIMIT, fit
    from mlops_ci.report.render import render_packaged

    body = render_packaged("sweep_report.md.j2", leaderboard_context(board, marker, precision))
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return fit(
        body,
        limit=limit if limit is not None else COMMENT_LIMIT,
        full_report_url=full_report_url,
        marker=marker,
    )


@dataclass
class MergeRequest:
    root: Path
    dirs: list[Path]
    config_path: Path | None = None
    output: Path = DEFAULT_OUTPUT
    publish: Publish = "auto"
    base: str | None = None
    dry_run: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@dataclass
class MergeOutcome:
    board: Leaderboard
    markdown: str
    output_dir: Path
    markdown_path: Path
    json_path: Path
    publish: str
    comment_url: str | None = None
    dry_run_preview: str | None = None
    messages: list[str] = field(default_factory=list)


def _base_metrics(
    root: Path, loaded: LoadedConfig, ctx: Any, explicit: str | None
) -> tuple[dict[str, Any], dict[str, str], Revision, list[str]]:
    """Metrics at the base (the merge base with the default branch, or `--base`)."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.services.report import BaseReader, resolve_base

    config = loaded.config
    files = list(config.metrics.files)
    git = Git(root)
    if config.baseline == "none":
        return {}, dict.fromkeys(files, "baseline: none"), Revision(), []
    if not git.is_repo():
        return {}, dict.fromkeys(files, "not a git repository"), Revision(), []
    try:
        sha, ref, notes = resolve_base(git, config, ctx, explicit)
    except GitError as exc:
        if explicit:
            raise
        reason = f"no base: {exc.message}"
        return {}, dict.fromkeys(files, reason), Revision(), [reason]
    reader = BaseReader(git, Dvc(root), sha, config.baseline)
    found: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for name in files:
        raw, why = reader.read(name)
        if raw is None:
            if why is not None:
                missing[name] = why
            continue
        try:
            found[name] = parse_metrics(raw, name)
        except InputError as exc:
            missing[name] = exc.message
    return found, missing, Revision(ref=ref, sha=sha), notes


def merge_sweep(request: MergeRequest) -> MergeOutcome:
    """Merge cell bundles into one leaderboard; write it; publish it."""
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.adapters.github import comment_marker
    from mlops_ci.context import RunContext
    from mlops_ci.services.report import choose_publish, write_atomic

    env = dict(request.env)
    ctx = RunContext.from_environ(env)
    runtime = ActionsRuntime.from_environ(env)
    if ctx.token is not None:
        runtime.mask(ctx.token.get_secret_value())
    root = request.root.resolve()
    loaded = load_config(root, request.config_path)
    config = loaded.config
    dirs = [d if d.is_absolute() else root / d for d in request.dirs]
    records: list[tuple[RunRecord, str]] = []
    for path in find_records(dirs):
        shown = _shown(path.parent, root)
        try:
            records.append((read_record(path), shown))
        except InputError as exc:
            records.append((_unreadable_row(path, exc.message), shown))
    try:
        planned_keys = plan_sweep(root, request.config_path).keys
    except ConfigError:
        planned_keys = []
    base_files, base_missing, base_rev, notes = _base_metrics(root, loaded, ctx, request.base)
    board = build_leaderboard(
        records,
        config=config,
        base_files=base_files,
        base_missing=base_missing,
        base=base_rev,
        keys=planned_keys or None,
    )
    board.notes.extend(notes)
    target = choose_publish(request.publish, ctx)
    if target == "artifact":
        target = "local"
        board.notes.append("A pull request from a fork: the leaderboard is in the job summary.")
    marker = comment_marker(ctx.workflow or "mlops-ci", MARKER_KIND)
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    precision = config.report.precision
    markdown = render_leaderboard(
        board, marker=marker, precision=precision, full_report_url=summary_url
    )
    output_dir = request.output if request.output.is_absolute() else root / request.output
    md_path = output_dir / LEADERBOARD_MD
    json_path = output_dir / LEADERBOARD_JSON
    write_atomic(json_path, board.model_dump_json(indent=2) + "\n")
    write_atomic(md_path, markdown)
    outcome = MergeOutcome(
        board=board,
        markdown=markdown,
        output_dir=output_dir,
        markdown_path=md_path,
        json_path=json_path,
        publish=target,
    )
    if target == "github":
        if request.dry_run:
            outcome.dry_run_preview = markdown
        elif ctx.pr_number:
            from mlops_ci.adapters.github import GitHubRepo

            result = GitHubRepo.for_run(ctx).upsert_comment(
                ctx.pr_number,
                markdown,
                workflow=ctx.workflow or "mlops-ci",
                kind=MARKER_KIND,
                mode=config.report.comment,
                full_report_url=summary_url,
            )
            outcome.comment_url = result.url if result is not None else None
        else:
            outcome.messages.append("No pull request: the leaderboard goes to the job summary.")
    if runtime.on_runner:
        full = render_leaderboard(board, marker=marker, precision=precision, limit=1_000_000)
        runtime.append_summary(full)
        runtime.set_output("report-path", str(md_path))
        runtime.set_output("comment-url", outcome.comment_url or "")
        best = board.best
        runtime.set_output("best", best[0].id if best else "")
    return outcome


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
