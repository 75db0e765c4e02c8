"""Running one bad-input case through the real CLI entry and judging what it left.

A case passes when `mlops_ci.cli.main(args)` exits 1 or 2 with exactly one `error:` or
`refused:` line on stderr (plus at most one `hint:` line), prints no traceback, and
leaves the watched directories as they were: no new file, no changed file, no
temporary file, no new git ref. Every case is recorded for the summary table.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlops_ci.cli import main

RUNNER_PREFIXES = ("GITHUB_", "RUNNER_")
RUNNER_NAMES = ("CI", "GH_TOKEN", "MLOPS_CI_GITHUB_TOKEN", "MLOPS_CI_TRACEBACK")


@dataclass
class CaseResult:
    category: str
    name: str
    exit_code: int | None
    traceback: bool
    half_written: list[str]
    problems: list[str] = field(default_factory=list)


#: Every case run in this session, in order (read by the summary hook in conftest.py).
RESULTS: list[CaseResult] = []


def snapshot(roots: Iterable[Path]) -> dict[str, str]:
    """Path → sha256 of every file under `roots` (git internals reduced to their refs)."""
    found: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            continue
        if (root / ".git").exists():
            refs = subprocess.run(
                ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
                cwd=root, capture_output=True, text=True, check=False,
            ).stdout  # fmt: skip
            found[f"{root}::refs"] = hashlib.sha256(refs.encode()).hexdigest()
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if ".git" in path.relative_to(root).parts if path != root else False:
                continue
            if path.is_symlink():
                found[str(path)] = "symlink:" + os.readlink(path)
            elif path.is_file():
                found[str(path)] = _digest(path)
            elif path.is_dir():
                found[str(path)] = "dir"
    return found


def _digest(path: Path) -> str:
    size = path.stat().st_size
    if size > 8 << 20:  # big generated inputs: size and head are enough to see a change
        with path.open("rb") as handle:
            return f"{size}:{hashlib.sha256(handle.read(1 << 20)).hexdigest()}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    changed = [f"new: {p}" for p in after if p not in before]
    changed += [f"changed: {p}" for p in before if p in after and before[p] != after[p]]
    changed += [f"removed: {p}" for p in before if p not in after]
    return sorted(changed)


def run_case(
    category: str,
    name: str,
    args: list[str],
    *,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    watch: Iterable[Path] = (),
    expect: Iterable[int] = (1, 2),
    message: str | None = None,
) -> CaseResult:
    """Run `mlops-ci ARGS` in-process as a user or a runner would, and judge it."""
    for key in list(os.environ):
        if key.startswith(RUNNER_PREFIXES) or key in RUNNER_NAMES:
            monkeypatch.delenv(key)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    scratch = tmp_path / "case-tmp"
    scratch.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    watched = [*watch, scratch]
    before = snapshot(watched)
    capsys.readouterr()
    code: int | None
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    return judge(
        category, name, code, out, err, before, snapshot(watched), expect=expect, message=message
    )


def judge(
    category: str,
    name: str,
    code: int | None,
    out: str,
    err: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    expect: Iterable[int] = (1, 2),
    message: str | None = None,
) -> CaseResult:
    """Record one case and fail the test unless it ended as bad input should."""
    tb = "Traceback (most recent call last)" in out + err or code == 3
    result = CaseResult(category, name, code, tb, _changes(before, after))
    lines = [line for line in err.splitlines() if line.strip()]
    verdicts = [line for line in lines if line.startswith(("error: ", "refused: "))]
    hints = [line for line in lines if line.startswith("hint: ")]
    expected = sorted(set(expect))
    if code not in expected:
        result.problems.append(f"exit {code}, expected one of {expected}")
    if tb:
        result.problems.append("a traceback or an unexpected error (exit 3)")
    if len(verdicts) != 1 or len(hints) > 1 or len(lines) != len(verdicts) + len(hints):
        result.problems.append("stderr is not one error/refused line (+ one hint)")
    if result.half_written:
        result.problems.append("left files behind: " + "; ".join(result.half_written[:5]))
    if message is not None and not any(message in line for line in verdicts):
        result.problems.append(f"the error line does not mention {message!r}")
    RESULTS.append(result)
    if result.problems:
        pytest.fail(
            f"[{category}/{name}] "
            + " | ".join(result.problems)
            + f"\nstderr:\n{err}\nstdout:\n"
            + out[-2000:]
        )
    return result
