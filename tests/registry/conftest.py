"""Registry fixtures: real git repositories with explicit tagger dates (see registry_helpers)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from registry_helpers import Repo


@pytest.fixture
def make_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Repo]:
    made = 0

    def make(name: str | None = None, *, bare_origin: bool = False) -> Repo:
        nonlocal made
        made += 1
        root = tmp_path / (name or f"repo{made}")
        root.mkdir(parents=True)
        repo = Repo(root, capsys)
        repo.git("init", "-q", "-b", "main")
        repo.commit("initial", t=0)
        if bare_origin:
            origin = tmp_path / f"{root.name}-origin.git"
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
            repo.git("remote", "add", "origin", str(origin))
            repo.git("push", "-q", "origin", "main")
        return repo

    return make


@pytest.fixture
def on_github(monkeypatch: pytest.MonkeyPatch, github_double: object) -> object:
    """The GitHub double as the run's GitHub: token, repository and API URL set."""
    from mlops_ci.adapters import github as adapter

    # Pacing writes protects github.com from bursts; the local double needs none.
    monkeypatch.setitem(adapter.GitHubRepo.__init__.__kwdefaults__, "seconds_between_writes", None)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test_token_for_the_double")
    monkeypatch.setenv("GITHUB_REPOSITORY", github_double.repository)  # type: ignore[attr-defined]
    monkeypatch.setenv("GITHUB_API_URL", github_double.base_url)  # type: ignore[attr-defined]
    return github_double
