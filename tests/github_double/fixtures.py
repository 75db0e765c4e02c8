"""pytest fixtures for the GitHub double (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .server import GitHubDouble
from .validation import require_spec


def _check(double: GitHubDouble) -> None:
    assert not double.violations, "the GitHub double saw OpenAPI violations:\n" + "\n".join(
        double.violations
    )


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    """A running double for one test; it must have seen no OpenAPI violation."""
    require_spec()
    double = GitHubDouble().start()
    try:
        yield double
    finally:
        double.stop()
    _check(double)


@pytest.fixture
def make_github_double() -> Iterator[Callable[..., GitHubDouble]]:
    """Start doubles with options (`login=`, `owner=`, `repo=`, `api_prefix="/api/v3"`,
    `uploads_prefix="/api/uploads"` for GHES); each is checked for violations."""
    require_spec()
    started: list[GitHubDouble] = []

    def make(**options: Any) -> GitHubDouble:
        double = GitHubDouble(**options).start()
        started.append(double)
        return double

    try:
        yield make
    finally:
        for double in started:
            double.stop()
    for double in started:
        _check(double)
