"""Fixtures for on-tag: the sample project with v0.1.0 registered and pushed, the GitHub
double wired in as a runner would be, and a way to fire a real webhook payload."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ontag_helpers import MODEL, payload, run_cli

from mlops_ci.services.shared.sample_project import SampleProject


@pytest.fixture
def project(sample_project: SampleProject, capsys: pytest.CaptureFixture[str]) -> Path:
    root = sample_project.root
    result = run_cli(capsys, root, "register", MODEL, "--version", "v0.1.0", "--push")
    assert result.code == 0, result.err
    return root


@pytest.fixture
def on_github(monkeypatch: pytest.MonkeyPatch, github_double: Any) -> Any:
    from mlops_ci.adapters import github as adapter

    # Pacing writes protects github.com from bursts; the local double needs none.
    monkeypatch.setitem(adapter.GitHubRepo.__init__.__kwdefaults__, "seconds_between_writes", None)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test_token_for_the_double")
    monkeypatch.setenv("GITHUB_REPOSITORY", github_double.repository)
    monkeypatch.setenv("GITHUB_API_URL", github_double.base_url)
    monkeypatch.delenv("GITHUB_REF", raising=False)
    return github_double


@pytest.fixture
def fire(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, on_github: Any
) -> Callable[[str, str], None]:
    """Make the next run see event `name` (e.g. "push.tag") for `tag`, as a runner would."""

    def set_event(name: str, tag: str) -> None:
        data = payload(name, tag, on_github.repository)
        path = tmp_path / f"event-{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        monkeypatch.setenv("GITHUB_EVENT_NAME", name.split(".", maxsplit=1)[0])
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))

    return set_event
