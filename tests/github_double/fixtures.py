"""pytest fixtures for the GitHub double (registered from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import GitHubDouble
from .validation import MISSING_REASON, shared_material_present


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    """A running double for one test; it must have seen no OpenAPI violation."""
    if not shared_material_present():
        pytest.skip(MISSING_REASON)
    double = GitHubDouble().start()
    try:
        yield double
    finally:
        double.stop()
    assert not double.violations, "the GitHub double saw OpenAPI violations:\n" + "\n".join(
        double.violations
    )
