"""GitHub's real material the tests check against, kept in the repository.

It lives under ``tests/data/github/`` (each file's source package, version and
licence are in its README.md): webhook payloads, the OpenAPI subset the GitHub
double validates against, and recorded api.github.com traffic. A test asks for a
file with :func:`github_data`; a missing file fails the test, naming the path. It
never skips: a suite that skips its GitHub checks would stay green while checking
nothing.
"""

from __future__ import annotations

from pathlib import Path

GITHUB_DATA = Path(__file__).resolve().parent / "data" / "github"


def github_data(*parts: str) -> Path:
    """The path of a file or folder under tests/data/github/; it must exist."""
    path = GITHUB_DATA.joinpath(*parts)
    if not path.exists():
        raise AssertionError(
            f"test fixture missing: {path} (GitHub material kept in the repository under "
            "tests/data/github/; see its README.md)"
        )
    return path
