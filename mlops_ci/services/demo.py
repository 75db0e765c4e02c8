"""`mlops-ci demo`: build the sample project and run the PR report on it, locally.

Everything happens on this machine: git, DVC with a local directory remote, a
scikit-learn model on a dataset scikit-learn ships, and the local publisher.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.adapters.process import tool_env
from mlops_ci.errors import MlopsCIError

LineSink = Callable[[str], None]


@dataclass
class DemoOutcome:
    project: Path
    report: Any  # services.report.ReportOutcome


def default_demo_dir() -> Path:
    """A fresh temporary directory (the demo never writes into an existing project)."""
    return Path(tempfile.mkdtemp(prefix="mlops-ci-demo-")) / "demo"


def run_demo(
    directory: Path | None,
    *,
    sink: LineSink | None = None,
    group: Callable[[str], Any] | None = None,
    env: dict[str, str] | None = None,
) -> DemoOutcome:
    """Build the sample project in `directory`, check out its PR branch, and report."""
    from mlops_ci.services.report import ReportRequest, generate_report
    from mlops_ci.services.shared.sample_project import PR_BRANCH, make_sample_project

    target = (directory or default_demo_dir()).resolve()
    if sink is not None:
        sink(f"Building the sample project in {target} (git + DVC + scikit-learn)…")
    sample = make_sample_project(target)
    checkout = subprocess.run(
        ["git", "checkout", "-q", PR_BRANCH],
        cwd=sample.root,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if checkout.returncode != 0:
        raise MlopsCIError(f"demo: cannot check out {PR_BRANCH}: {checkout.stderr.strip()}")
    # The demo is local by definition: no runner variables, no token, no posting.
    clean = {
        k: v
        for k, v in (env if env is not None else os.environ).items()
        if not k.startswith("GITHUB_") and k not in ("CI", "GH_TOKEN")
    }
    request = ReportRequest(
        root=sample.root, publish="local", fail_on_gate=False, env=clean, own_python_first=True
    )
    outcome = generate_report(request, sink=sink, group=group)
    return DemoOutcome(project=sample.root, report=outcome)
