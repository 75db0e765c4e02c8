"""The sweep as `experiments:` in mlops-ci.yaml describes it: settings, cells, cell ids."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.config import Config, load_config
from mlops_ci.core import experiments as core_exp
from mlops_ci.errors import ConfigError

#: The words `KEY=VALUE ...` of one matrix cell, as the sweep workflow passes them.
SET_VARIABLE = "MLOPS_CI_SWEEP_SET"
#: The matrix cell's id, as the sweep workflow passes it.
ID_VARIABLE = "MLOPS_CI_SWEEP_ID"
DEFAULT_RUNS_DIR = Path(".mlops-ci/sweep/runs")


@dataclass(frozen=True)
class SweepSettings:
    """`experiments:` with its defaults filled in."""

    metric: str | None
    direction: core_exp.Direction
    params_file: str


def settings(config: Config) -> SweepSettings:
    """The primary metric (else the first gated one), its direction and the params file."""
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
