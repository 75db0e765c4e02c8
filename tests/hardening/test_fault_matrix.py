"""The fault matrix: every journey × every GitHub call it makes × every fault kind,
plus git pushes and DVC remotes that fail.

Each scenario must end done, or failed with one clear message (exit 1 or 2, no
traceback); a plain re-run without the fault must then complete; and the double
and the git repositories must show no duplicate, no loss and no moved tag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from github_double import GitHubDouble
from hardening_harness import (
    GITHUB_FAULTS,
    Invocation,
    Journey,
    ScenarioResult,
    Workspace,
    block_dvc_remote,
    block_push,
    copy_workspace,
    invoke,
    remove_dvc_remote,
    tag_objects,
    unreachable_origin,
)
from hardening_journeys import JOURNEYS

from mlops_ci.services.shared.sample_project import SampleProject


def _scenarios() -> list[tuple[str, str, str | None, bool, int]]:
    """(journey, fault, operation, after_effect, times)."""
    found: list[tuple[str, str, str | None, bool, int]] = []
    for journey in JOURNEYS.values():
        for operation in journey.operations:
            for fault in GITHUB_FAULTS:
                found.append((journey.name, fault, operation, False, 1))
            if operation in journey.writes:
                # The write took effect, but the answer was lost on the way back.
                found.append((journey.name, "drop", operation, True, 1))
        for operation, calls in journey.repeated.items():
            # The last of several calls fails (the last asset of a release, say).
            for fault in ("502", "422"):
                found.append((journey.name, f"{fault}@{calls}", operation, False, 1))
            found.append((journey.name, f"drop@{calls}", operation, True, 1))
        if journey.operations:
            # GitHub stays down for longer than the retry budget, at the first write.
            first = (journey.writes or journey.operations)[0]
            found.append((journey.name, "503", first, False, 50))
        if journey.pushes_git:
            found.append((journey.name, "git-push-rejected", None, False, 1))
            found.append((journey.name, "git-origin-unreachable", None, False, 1))
        if journey.uses_dvc_remote:
            found.append((journey.name, "dvc-remote-missing", None, False, 1))
            found.append((journey.name, "dvc-remote-blocked", None, False, 1))
    return found


def _id(scenario: tuple[str, str, str | None, bool, int]) -> str:
    journey, fault, operation, after, times = scenario
    parts = [journey, operation or "local", fault]
    if after:
        parts.append("after-effect")
    if times > 1:
        parts.append(f"x{times}")
    return ":".join(parts)


SCENARIOS = _scenarios()


def _inject(
    ws: Workspace, fault: str, operation: str | None, after: bool, times: int
) -> Callable[[], None]:
    """Start the fault; return what lifts it."""
    if operation is not None:
        kind, _, nth = fault.partition("@")
        ws.double.fail(operation, kind, nth=int(nth or 1), times=times, after_effect=after)
        return ws.double.faults.clear
    if fault == "git-push-rejected":
        return block_push(ws.sample.origin)
    if fault == "git-origin-unreachable":
        return unreachable_origin(ws.root)
    if fault == "dvc-remote-missing":
        return remove_dvc_remote(ws.sample.remote)
    if fault == "dvc-remote-blocked":
        return block_dvc_remote(ws.sample.remote)
    raise AssertionError(fault)


def run_scenario(
    journey: Journey,
    template: SampleProject,
    tmp: Path,
    double: GitHubDouble,
    fault: str,
    operation: str | None,
    after: bool,
    times: int,
    **data: object,
) -> tuple[ScenarioResult, Invocation, Invocation | None, Workspace]:
    ws = copy_workspace(template, tmp, double)
    ws.data.update(data)
    journey.seed(ws)
    args, env = journey.args(ws), journey.env(ws)
    before = {**tag_objects(ws.sample.origin)}
    local_before = tag_objects(ws.root)
    lift = _inject(ws, fault, operation, after, times)
    first = invoke(args, env)
    lift()
    second = None
    if first.code != 0:
        if journey.before_rerun is not None:
            journey.before_rerun(ws)
        # The re-run comes later: commits and tags it makes get a later date.
        later = dict.fromkeys(
            ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"), "2026-02-20T13:00:00+00:00"
        )
        second = invoke(args, {**env, **later})
    lost, dups = journey.check(ws)
    after_tags = tag_objects(ws.sample.origin)
    moved = [n for n, obj in before.items() if after_tags.get(n) != obj]
    moved += [n for n, obj in local_before.items() if tag_objects(ws.root).get(n) != obj]
    lost += [f"tag {n} moved or deleted" for n in moved]
    outcome = "done" if first.code == 0 and not first.traceback else "failed"
    final = second or first
    result = ScenarioResult(
        journey=journey.name,
        scenario=_id((journey.name, fault, operation, after, times)),
        outcome=outcome,
        rerun_completed=second is not None and second.code == 0 and not second.traceback,
        lost=lost if final.code == 0 else [*lost, "the re-run did not complete"],
        duplicates=dups,
        tracebacks=int(first.traceback) + int(second is not None and second.traceback),
        notes=list(ws.data.get("notes", [])),
    )
    return result, first, second, ws


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[_id(s) for s in SCENARIOS])
def test_fault(
    scenario: tuple[str, str, str | None, bool, int],
    prepared: Callable[[str], SampleProject],
    double: GitHubDouble,
    retry_waits: list[float],
    fault_results: list[ScenarioResult],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    name, fault, operation, after, times = scenario
    journey = JOURNEYS[name]
    extra: dict[str, object] = {"uncertain": after}
    if fault.startswith("dvc-"):
        extra = {"run": True, "dvc_push": True}
    else:
        request.getfixturevalue("memoized_local_reads")
    result, first, second, _ = run_scenario(
        journey, prepared(name), tmp_path, double, fault, operation, after, times, **extra
    )
    fault_results.append(result)
    if operation is not None:
        assert double.calls_of(operation), f"{operation} was never called"
        assert any(c.fault for c in double.log), "the fault never fired"
    if fault in ("429", "secondary_rate_limit"):
        assert 1.0 in retry_waits, retry_waits  # the Retry-After GitHub sent was honoured
    assert not first.traceback, first.describe()
    assert first.code == 0 or first.clear_failure, first.describe()
    if second is not None:
        assert second.code == 0, second.describe()
        assert not second.traceback, second.describe()
    assert not result.lost, result.lost
    assert not result.duplicates, result.duplicates


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_clean_run_makes_exactly_the_calls_the_matrix_covers(
    name: str,
    prepared: Callable[[str], SampleProject],
    double: GitHubDouble,
    retry_waits: list[float],
    tmp_path: Path,
) -> None:
    """The matrix is derived from a clean run's request log: a new call fails here."""
    journey = JOURNEYS[name]
    ws = copy_workspace(prepared(name), tmp_path, double)
    journey.seed(ws)
    start = time.monotonic()
    result = invoke(journey.args(ws), journey.env(ws))
    seconds = time.monotonic() - start
    assert result.code == 0, result.describe()
    called = {c.operation_id for c in double.log}
    assert called == set(journey.operations), (sorted(called), seconds)
    for operation, calls in journey.repeated.items():
        assert double.calls[operation] == calls, (operation, double.calls[operation])
    lost, dups = journey.check(ws)
    assert not lost, lost
    assert not dups, dups
    # Re-running a command that completed is safe: nothing new, nothing lost.
    ws.data["rerun_after_done"] = True
    again = invoke(journey.args(ws), journey.env(ws))
    assert again.code == 0, again.describe()
    lost, dups = journey.check(ws)
    assert not lost, lost
    assert not dups, dups
