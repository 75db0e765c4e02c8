"""The token never leaks: every command runs with a sentinel token against the GitHub
double, on success and on failure paths (a 403, a 500 after retries, bad input), and
everything it could have left the token in is searched.

Searched: stdout and stderr, every log record at DEBUG, every error the CLI reported
(message, hint, str, repr), every file under the workspace (the repository with all
its git objects decompressed, output directories, release assets, drift files,
bundles, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY), and the double's stored state
(comments, issues, pull requests, releases and their assets, check runs, statuses,
deployments, dispatches). The one place the token may appear is a runner's
`::add-mask::` command line, which is how a runner learns to hide it: the action prints
one first, before any command runs.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from github_double import GitHubDouble
from hardening_harness import Invocation, Workspace, copy_workspace, invoke
from hardening_journeys import JOURNEYS, MODEL, V1

from mlops_ci.services.shared.sample_project import SampleProject

#: The token mlops-ci uses (MLOPS_CI_GITHUB_TOKEN wins) and the job token beside it.
SENTINEL = "ghs_SENTINELtoken0123456789abcdefABCDEF0042"
JOB_SENTINEL = "ghs_JOBSENTINEL9876543210fedcbaFEDCBA0099"
SENTINELS = (SENTINEL, JOB_SENTINEL)


@dataclass
class Case:
    """One command run: on which prepared journey, with which args and which fault."""

    name: str
    journey: str
    args: Callable[[Workspace], list[str]] | None = None
    fault: tuple[str, str, int] | None = None  # (operation, kind, times)
    setup: Callable[[Workspace], None] | None = None
    expect_codes: tuple[int, ...] = (0, 1, 2)


def _first_write(journey: str) -> str:
    j = JOURNEYS[journey]
    return (j.writes or j.operations)[0]


def _bad_config(ws: Workspace) -> None:
    (ws.root / "mlops-ci.yaml").write_text(f"metrics:\n  gates: [{SENTINEL[:4]}\n")


def _experiments(ws: Workspace) -> None:
    config = ws.root / "mlops-ci.yaml"
    config.write_text(
        config.read_text() + "experiments:\n  grid:\n    train.model.max_depth: [3, 5]\n"
    )


CASES: list[Case] = []
for _name, _journey in JOURNEYS.items():
    CASES.append(Case(f"{_name}-ok", _name))
    if _journey.operations:
        CASES.append(Case(f"{_name}-403", _name, fault=(_first_write(_name), "forbidden", 1)))
        CASES.append(Case(f"{_name}-500", _name, fault=(_journey.operations[0], "500", 50)))
CASES += [
    Case("report-bad-config", "report", setup=_bad_config, expect_codes=(1,)),
    Case(
        "release-bad-tag",
        "release",
        args=lambda ws: ["release", "--tag", "nope@x", "--root", str(ws.root)],
        expect_codes=(1,),
    ),
    Case(
        "post-bad-bundle",
        "post",
        args=lambda ws: ["post", "--bundle", str(ws.tmp), "--root", str(ws.root)],
        expect_codes=(1,),
    ),
    Case(
        "deprecate",
        "release",
        args=lambda ws: ["deprecate", MODEL, "--push", "--root", str(ws.root)],
    ),
    Case("registry", "release", args=lambda ws: ["registry", "--json", "--root", str(ws.root)]),
    Case("history", "release", args=lambda ws: ["history", MODEL, "--root", str(ws.root)]),
    Case(
        "history-unknown",
        "release",
        args=lambda ws: ["history", "nobody", "--root", str(ws.root)],
        expect_codes=(1,),
    ),
    Case("verify", "release", args=lambda ws: ["verify", "--ref", V1, "--root", str(ws.root)]),
    Case(
        "verify-bad-ref",
        "release",
        args=lambda ws: ["verify", "--ref", "no-such-ref", "--root", str(ws.root)],
        expect_codes=(1, 2),
    ),
    Case(
        "metrics-history",
        "release",
        args=lambda ws: ["metrics", "history", "--json", "--root", str(ws.root)],
    ),
    Case("validate", "release", args=lambda ws: ["validate", "--root", str(ws.root)]),
    Case(
        "validate-bad",
        "release",
        args=lambda ws: ["validate", "--root", str(ws.root)],
        setup=_bad_config,
        expect_codes=(1,),
    ),
    Case("schema", "release", args=lambda ws: ["schema"]),
    Case(
        "init",
        "release",
        args=lambda ws: ["init", "--dir", str(ws.root), "--with", "all", "--force"],
    ),
    Case(
        "sweep-plan",
        "sweep-merge",
        args=lambda ws: ["sweep", "plan", "--root", str(ws.root)],
        setup=_experiments,
    ),
    Case(
        "sweep-plan-none",
        "sweep-merge",
        args=lambda ws: ["sweep", "plan", "--root", str(ws.root)],
        expect_codes=(1,),
    ),
    Case(
        "sweep-run",
        "sweep-merge",
        args=lambda ws: [
            "sweep",
            "run",
            "--set",
            "train.model.max_depth=3",
            "--id",
            "s1",
            "--output",
            str(ws.tmp / "runs"),
            "--root",
            str(ws.root),
        ],
        setup=_experiments,
    ),
    Case("on-tag", "release", args=lambda ws: ["on-tag", "--tag", V1, "--root", str(ws.root)]),
    Case("on-merge", "register", args=lambda ws: ["on-merge", "--no-run", "--root", str(ws.root)]),
    Case(
        "monitor-bad-current",
        "monitor",
        args=lambda ws: [
            "monitor",
            "--current",
            str(ws.tmp / "missing.csv"),
            "--root",
            str(ws.root),
        ],
        expect_codes=(1,),
    ),
]


@dataclass
class Reported:
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture
def reported(monkeypatch: pytest.MonkeyPatch) -> Reported:
    """Every exception the CLI turned into a message, kept for the search."""
    from mlops_ci import output

    seen = Reported()
    real_error, real_unexpected = output.report_error, output.report_unexpected

    def report_error(exc: Any) -> None:
        seen.errors.append(exc)
        real_error(exc)

    def report_unexpected(exc: BaseException) -> None:
        seen.errors.append(exc)
        real_unexpected(exc)

    monkeypatch.setattr(output, "report_error", report_error)
    monkeypatch.setattr(output, "report_unexpected", report_unexpected)
    return seen


def _git_objects(repo: Path) -> bytes:
    """Every object of a repository, decompressed (tag messages, commits, blobs)."""
    if not (repo / "HEAD").is_file() and not (repo / ".git").exists():
        return b""
    proc = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    return proc.stdout


def _files(ws: Workspace) -> Iterator[tuple[str, bytes]]:
    for path in sorted(ws.tmp.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield str(path), path.read_bytes()
    for repo in (ws.root, ws.sample.origin):
        yield f"{repo} (git objects)", _git_objects(repo)


def _double_state(double: GitHubDouble) -> Iterator[tuple[str, str | bytes]]:
    state = double.state
    for c in state.comments.values():
        yield f"comment {c.id}", c.body
    for i in state.issues.values():
        yield f"issue #{i.number}", f"{i.title}\n{i.body or ''}\n{i.labels}"
    for r in state.releases.values():
        yield f"release {r.tag_name}", f"{r.name}\n{r.body or ''}"
    for a in state.assets.values():
        yield f"asset {a.name}", a.data
        yield f"asset {a.name} label", a.label
    for run in state.check_runs.values():
        yield f"check run {run.id}", f"{run.title}\n{run.summary}\n{run.text}\n{run.details_url}"
    for s in state.statuses:
        yield f"status {s.id}", f"{s.description}\n{s.target_url}"
    for d in state.deployments.values():
        yield f"deployment {d.id}", f"{d.payload!r}\n{d.description}"
    for ds in state.deployment_statuses.values():
        yield f"deployment status {ds.id}", f"{ds.description}\n{ds.environment_url}\n{ds.log_url}"
    for dispatch in state.dispatches:
        yield "dispatch", repr(dispatch)


def _leaks(
    result: Invocation,
    ws: Workspace,
    reported: Reported,
    records: list[logging.LogRecord],
) -> list[str]:
    found: list[str] = []

    def search(where: str, data: str | bytes) -> None:
        for sentinel in SENTINELS:
            needle: str | bytes = sentinel.encode() if isinstance(data, bytes) else sentinel
            if needle in data:  # type: ignore[operator]
                found.append(f"{where}: {sentinel[:16]}…")

    mask_lines = {f"::add-mask::{s}" for s in SENTINELS}
    for stream, text in (("stdout", result.out), ("stderr", result.err)):
        for line in text.splitlines():
            if line not in mask_lines:
                search(stream, line)
    search("logs", result.logs)
    for record in records:
        search(
            f"log record {record.name}", f"{record.getMessage()} {record.args!r} {record.exc_text}"
        )
    for exc in reported.errors:
        text = f"{exc}\n{exc!r}\n{getattr(exc, 'hint', '')}\n{exc.args!r}"
        search(f"error {type(exc).__name__}", text)
    if result.escaped is not None:
        search("escaped exception", f"{result.escaped}\n{result.escaped!r}")
    for where, raw in _files(ws):
        search(where, raw)
    for where, stored in _double_state(ws.double):
        search(f"double {where}", stored)
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_token_appears_nowhere(
    case: Case,
    prepared: Callable[[str], SampleProject],
    double: GitHubDouble,
    retry_waits: list[float],
    memoized_local_reads: None,
    reported: Reported,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    journey = JOURNEYS[case.journey]
    ws = copy_workspace(prepared(case.journey), tmp_path, double)
    journey.seed(ws)
    if case.setup is not None:
        case.setup(ws)
    args = case.args(ws) if case.args is not None else journey.args(ws)
    env = journey.env(ws)
    env["MLOPS_CI_GITHUB_TOKEN"] = SENTINEL
    env["GITHUB_TOKEN"] = JOB_SENTINEL
    if case.fault is not None:
        operation, kind, times = case.fault
        double.fail(operation, kind, times=times)
    caplog.set_level(logging.DEBUG)
    result = invoke(args, env, log_level=logging.DEBUG)

    assert result.code in case.expect_codes, result.describe()
    assert not result.traceback, result.describe()
    if double.log:
        # The sentinel is what reached GitHub: the search looks for the right thing.
        assert f"token {SENTINEL}" in double.authorizations or any(
            SENTINEL in a for a in double.authorizations
        ), double.authorizations
    # A mask line is the one place a token may be written (the action prints one for
    # its token before the command runs: test_the_action_masks_the_token_first).
    expected = {f"::add-mask::{s}" for s in SENTINELS}
    masks = [
        line
        for line in [*result.out.splitlines(), *result.err.splitlines()]
        if line.startswith("::add-mask::")
    ]
    assert set(masks) <= expected, masks
    leaks = _leaks(result, ws, reported, caplog.records)
    assert not leaks, "\n".join(leaks)


def test_the_action_masks_the_token_first(tmp_path: Path) -> None:
    """The action's run step masks its token before anything else, for every command."""
    import sys

    from workflows.composite import CompositeRunner, base_environment

    repo_root = Path(__file__).resolve().parents[2]
    runner = CompositeRunner(
        repo_root,
        workspace=tmp_path,
        runner_temp=tmp_path,
        env=base_environment({"GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux"}),
        github={"token": JOB_SENTINEL, "action_path": str(repo_root), "workspace": str(tmp_path)},
        uses_outputs={"install": {"python": sys.executable}},
    )
    run = runner.run({"command": "schema", "github-token": SENTINEL}, only={"run"})
    step = run.step("run")
    assert step.returncode == 0, step.stderr
    lines = step.stdout.splitlines()
    assert lines[0] == f"::add-mask::{SENTINEL}", lines[:2]
    assert SENTINEL not in "\n".join(lines[1:]) + step.stderr
    assert JOB_SENTINEL not in step.stdout + step.stderr
