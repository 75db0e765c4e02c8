"""Importing the adapter must not import PyGithub (the CLI starts without it)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_adapter_does_not_import_pygithub() -> None:
    code = (
        "import sys, mlops_ci.adapters.github, mlops_ci.report.budget\n"
        "heavy = [m for m in ('github', 'requests', 'urllib3') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
