"""Hardening fixtures: fast retries against the double, prepared journeys, and the
fault-matrix table printed at the end of the run."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from github_double import GitHubDouble
from github_double.validation import require_spec

sys.path.insert(0, str(Path(__file__).parent))

from hardening_harness import RESULTS, ScenarioResult
from hardening_journeys import JOURNEYS

from mlops_ci.services.shared.sample_project import SampleProject, copy_sample

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(scope="session")
def fault_results() -> list[ScenarioResult]:
    return RESULTS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fault matrix")
    header = f"{'journey':<12} {'scenarios':>9} {'survived':>8} {'failed clean':>12} "
    header += f"{'re-run ok':>9} {'lost':>4} {'dups':>4} {'tracebacks':>10}"
    write("failed clean = exit 1/2 with one message; re-run ok = its plain re-run completed")
    write(header)
    totals = [0] * 7
    for name in [*JOURNEYS, *sorted({r.journey for r in RESULTS} - set(JOURNEYS))]:
        rows = [r for r in RESULTS if r.journey == name]
        if not rows:
            continue
        counts = [
            len(rows),
            sum(r.outcome == "done" for r in rows),
            sum(r.outcome == "failed" for r in rows),
            sum(r.rerun_completed for r in rows),
            sum(len(r.lost) for r in rows),
            sum(len(r.duplicates) for r in rows),
            sum(r.tracebacks for r in rows),
        ]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        write(
            f"{name:<12} {counts[0]:>9} {counts[1]:>8} {counts[2]:>12} {counts[3]:>9} "
            f"{counts[4]:>4} {counts[5]:>4} {counts[6]:>10}"
        )
    write(
        f"{'total':<12} {totals[0]:>9} {totals[1]:>8} {totals[2]:>12} {totals[3]:>9} "
        f"{totals[4]:>4} {totals[5]:>4} {totals[6]:>10}"
    )
    for r in RESULTS:
        if (
            r.lost
            or r.duplicates
            or r.tracebacks
            or (r.outcome == "failed" and not r.rerun_completed)
        ):
            write(f"  {r.scenario}: lost={r.lost} dups={r.duplicates}")
    for r in RESULTS:
        for note in r.notes:
            write(f"  note: {r.scenario}: {note}")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hardening test reaches beyond 127.0.0.1."""
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to reach {address[0]}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every GitHubRepo the services make retries without sleeping (waits are recorded)
    and without pacing writes: the double needs neither."""
    import functools

    from mlops_ci.adapters import github as adapter

    waits: list[float] = []
    policy = functools.partial(adapter.RetryPolicy, sleep=waits.append)
    monkeypatch.setattr("mlops_ci.adapters.github.client.RetryPolicy", policy)
    defaults = adapter.GitHubRepo.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "seconds_between_writes", None)
    return waits


@pytest.fixture(scope="session")
def _running_double() -> Iterator[GitHubDouble]:
    require_spec()
    double = GitHubDouble().start()
    try:
        yield double
    finally:
        double.stop()


@pytest.fixture
def double(_running_double: GitHubDouble) -> Iterator[GitHubDouble]:
    """A GitHub double with an empty repository and no faults, for one test.

    One server serves the whole session (starting and stopping one per scenario costs
    more than the scenario); its memory, log and fault plan start empty every time,
    and every request and answer it saw must match GitHub's OpenAPI description.
    """
    from github_double.state import RepoState

    d = _running_double
    d.state = RepoState(d.state.owner, d.state.name)
    for collection in (d.faults, d.log, d.violations):
        collection.clear()
    d.calls.clear()
    d.authorizations.clear()
    yield d
    assert not d.violations, "the GitHub double saw OpenAPI violations:\n" + "\n".join(d.violations)


_MODELS: dict[tuple[str, str], tuple[str, int, bytes]] = {}


@pytest.fixture
def memoized_local_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pure local DVC reads of a prepared copy, computed once per session.

    Every copy of a prepared journey holds the same commits, so a model file at a
    commit is the same everywhere; a scenario about a GitHub fault need not pay
    DVC's index for it again. Scenarios about the DVC remote never use this.
    """
    from mlops_ci.services.shared import release

    real_fetch = release.fetch_model

    def fetch_model(reg: Any, path: str, commit: str, dest: Path | None) -> tuple[str, int]:
        key = (path, commit)
        if key not in _MODELS:
            staged = reg.root.parent / f".memo-{commit[:12]}"
            sha, size = real_fetch(reg, path, commit, staged)
            _MODELS[key] = (sha, size, staged.read_bytes())
            staged.unlink()
        sha, size, data = _MODELS[key]
        if dest is not None:
            dest.write_bytes(data)
        return sha, size

    monkeypatch.setattr(release, "fetch_model", fetch_model)


_PREPARED: dict[str, SampleProject] = {}


@pytest.fixture(scope="session")
def prepared(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], SampleProject]:
    """The starting state of a journey, built once per session (never modify it: copy)."""

    def get(name: str) -> SampleProject:
        if name not in _PREPARED:
            sample = copy_sample(sample_project_template, tmp_path_factory.mktemp(name) / "s")
            JOURNEYS[name].prepare(sample)
            _PREPARED[name] = sample
        return _PREPARED[name]

    return get
