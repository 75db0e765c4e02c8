"""Fixtures for driving the GitHub adapter through the double over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo, RetryPolicy

TOKEN = "ghs_testtoken0000000000000000000000000001"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here may reach beyond 127.0.0.1: any other connection fails the test."""
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {address[0]}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def waits() -> list[float]:
    """The waits the adapter asked for; tests record them instead of sleeping."""
    return []


@pytest.fixture
def make_repo(github_double: GitHubDouble, waits: list[float]) -> Callable[..., GitHubRepo]:
    def make(token: str = TOKEN, **kwargs: Any) -> GitHubRepo:
        retry = kwargs.pop(
            "retry",
            RetryPolicy(attempts=4, total_seconds=60.0, backoff_seconds=0.5, sleep=waits.append),
        )
        return GitHubRepo(
            token,
            github_double.repository,
            github_double.base_url,
            retry=retry,
            timeout=5,
            seconds_between_writes=None,
            **kwargs,
        )

    return make


@pytest.fixture
def gh(make_repo: Callable[..., GitHubRepo]) -> GitHubRepo:
    return make_repo()
