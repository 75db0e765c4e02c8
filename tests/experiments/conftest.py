"""Fixtures for the sweep and metric history tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

RUNNER_PREFIXES = ("GITHUB_", "RUNNER_", "CI")

SWEEP_CONFIG = """\
experiments:
  grid:
    train.model.max_depth: [3, 5, 8]
    train.model.n_estimators: [20, 40, 80]
  sets:
    # n_estimators must be at least 1: this cell fails in the train stage.
    - {train.model.n_estimators: 0}
  metric: accuracy
  max_runs: 10
"""


def local_env(**extra: str) -> dict[str, str]:
    """The test process environment without runner variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_PREFIXES)}
    env["DVC_NO_ANALYTICS"] = "1"
    env.update(extra)
    return env


def cli(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`mlops-ci ARGS` in a fresh process, as a workflow step runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd,
        env=dict(env if env is not None else local_env()),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"mlops-ci {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc
