"""Helpers for the PR report tests (imported by tests and by conftest)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.services.report import ReportOutcome, ReportRequest, generate_report
from mlops_ci.services.sample_project import SampleProject

RUNNER_VARS = ("GITHUB_", "CI", "RUNNER_")


def local_env(**extra: str) -> dict[str, str]:
    """The process environment without any runner variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_VARS)}
    env.update(extra)
    return env


def checkout_pr(sample: SampleProject) -> None:
    """Check out the PR branch with its DVC outputs, as a CI checkout would have it."""
    subprocess.run(["git", "checkout", "-q", sample.pr_branch], cwd=sample.root, check=True)
    subprocess.run(
        [sys.executable, "-m", "dvc", "checkout", "-q"],
        cwd=sample.root,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )


def dvc_oracle(root: Path, base: str, kind: str, targets: list[str]) -> dict[str, Any]:
    """`dvc metrics|params diff --json --all BASE` against the workspace."""
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", kind, "diff", "--json", "--all", base, "--targets", *targets],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    return json.loads(proc.stdout or "{}")  # type: ignore[no-any-return]


def run_report(root: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> ReportOutcome:
    kwargs.setdefault("run", False)
    kwargs.setdefault("publish", "none")
    request = ReportRequest(root=root, env=dict(env if env is not None else local_env()), **kwargs)
    return generate_report(request)


@dataclass
class Reported:
    sample: SampleProject
    outcome: ReportOutcome
    lines: list[str]
