"""The sample project with a version released to production, and realistic rows for it.

Shared by `bench_batch_predict.py` and `bench_serving.py`: both score with the model a
user would have, the sample's random forest (30 numeric features of the breast cancer
data), registered and promoted through the CLI exactly as a user does it. Rows beyond the
569 of the dataset are drawn from its rows with replacement, each value moved by a
relative noise of 2%: the same distributions, and no two rows identical.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = "cancer-classifier"
VERSION = "v1.0.0"
NOISE = 0.02


def environment() -> dict[str, str]:
    """The caller's environment without CI variables (they would switch the CLI to a
    runner's behaviour), with this checkout importable and DVC quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.update(PYTHONPATH=str(HERE.parent), DVC_NO_ANALYTICS="1")
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mlops_ci", *args]


def released_project(base: Path, env: dict[str, str], *, release: bool = False) -> Path:
    """Build the sample under `base`; register v1.0.0 and promote it to staging, then
    production (its policy's order is strict); with `release`, build its release assets
    locally (what `mlops-ci serve` serves). Returns the repository root."""
    sys.path.insert(0, str(HERE.parent))
    from mlops_ci.services.shared.sample_project import make_sample_project

    sample = make_sample_project(base, with_pr=False)
    root = ["--root", str(sample.root)]
    for step in (
        ["register", MODEL, "--version", VERSION, "--ref", sample.main_sha, "--json"],
        ["promote", MODEL, "--version", VERSION, "--stage", "staging", "--json"],
        ["promote", MODEL, "--version", VERSION, "--stage", "production", "--json"],
        *([["release", "--tag", f"{MODEL}@{VERSION}", "--json"]] if release else []),
    ):
        done = subprocess.run(
            cli(*step, *root), capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"mlops-ci {' '.join(step[:2])} failed:\n{done.stderr[-2000:]}")
    return sample.root


def model_file(root: Path) -> Path:
    """The released model's file: the version was registered at the checked-out commit."""
    return root / "models" / "model.pkl"


def sample_rows(root: Path) -> tuple[list[str], Any]:
    """The dataset's feature names and its 569 × 30 float64 matrix (target dropped)."""
    import numpy as np

    path = root / "data" / "breast_cancer.csv"
    with path.open() as handle:
        header = handle.readline().strip().split(",")
    matrix = np.loadtxt(path, delimiter=",", skiprows=1)
    return header[:-1], matrix[:, :-1]


def resampled(matrix: Any, rows: int, rng: Any) -> Any:
    """`rows` rows drawn from `matrix` with replacement, each value times (1 + N(0, 2%))."""
    picked = matrix[rng.integers(0, len(matrix), rows)]
    picked *= 1.0 + rng.normal(0.0, NOISE, picked.shape)
    return picked
