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


def test_api_url_comes_from_the_runner_or_defaults_to_github_com() -> None:
    from mlops_ci.adapters.github import api_url_from_environ

    assert api_url_from_environ({}) == "https://api.github.com"
    assert api_url_from_environ({"GITHUB_API_URL": "https://ghe.example/api/v3/"}) == (
        "https://ghe.example/api/v3"
    )


def test_the_marker_cannot_be_broken_by_a_workflow_name() -> None:
    from mlops_ci.adapters.github import comment_marker

    marker = comment_marker("evil --> <script>", "report\n")
    assert marker.startswith("<!-- mlops-ci:")
    assert marker.endswith(" -->")
    assert marker.count("-->") == 1
    assert "<script>" not in marker
    assert "\n" not in marker
