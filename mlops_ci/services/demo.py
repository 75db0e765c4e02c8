"""`mlops-ci demo`: the sample project, built and checked out on its PR branch.

Everything happens on this machine: git, DVC with a local directory remote, a
scikit-learn model on a dataset scikit-learn ships. The command layer then runs the
PR report journey on it with the local publisher.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlops_ci.adapters.git import Git
from mlops_ci.errors import GitError, MlopsCIError
from mlops_ci.services.shared.job import Progress
from mlops_ci.services.shared.sample_project import PR_BRANCH, make_sample_project


def default_demo_dir() -> Path:
    """A fresh temporary directory (the demo never writes into an existing project)."""
    return Path(tempfile.mkdtemp(prefix="mlops-ci-demo-")) / "demo"


def prepare_demo(directory: Path | None, progress: Progress) -> Path:
    """Build the sample project in `directory` and check out its PR branch; its root."""
    target = (directory or default_demo_dir()).resolve()
    progress.line(f"Building the sample project in {target} (git + DVC + scikit-learn)…")
    sample = make_sample_project(target)
    try:
        Git(sample.root).run("checkout", "-q", PR_BRANCH)
    except GitError as exc:
        raise MlopsCIError(f"demo: cannot check out {PR_BRANCH}: {exc.message}") from None
    return sample.root


def local_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The demo is local by definition: no runner variables, no token, no posting."""
    return {
        k: v for k, v in env.items() if not k.startswith("GITHUB_") and k not in ("CI", "GH_TOKEN")
    }
