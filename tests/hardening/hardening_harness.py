"""Running mlops-ci journeys in-process against the GitHub double, with faults.

A journey is one CLI command on a prepared repository (built once per session, then
copied per scenario). A scenario injects one fault (a GitHub error on one operation,
a git push that fails, a DVC remote that is gone), runs the journey, lifts the fault
and runs it again; then the double's state and the git repositories are inspected
for duplicates, losses and moved tags.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from github_data import github_data
from github_double import GitHubDouble

from mlops_ci.services.shared.sample_project import SampleProject, copy_sample

PAYLOADS = github_data("payloads")

RUNNER_PREFIXES = ("GITHUB_", "RUNNER_", "MLOPS_CI_", "GH_TOKEN")
RUNNER_NAMES = ("CI",)

#: The faults GitHub can answer with, as the double names them.
GITHUB_FAULTS = ("500", "502", "503", "429", "secondary_rate_limit", "drop", "422")


@dataclass
class Invocation:
    """What one in-process CLI run produced."""

    args: list[str]
    code: int
    out: str
    err: str
    escaped: BaseException | None = None
    logs: str = ""

    @property
    def traceback(self) -> bool:
        text = self.out + self.err
        return (
            self.escaped is not None
            or self.code == 3
            or "Traceback (most recent call last)" in text
            or "unexpected error:" in text
        )

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith(("error: ", "refused: "))]

    @property
    def clear_failure(self) -> bool:
        """Exit 1 or 2 with exactly one `error:`/`refused:` line and no traceback."""
        return self.code in (1, 2) and len(self.error_lines) == 1 and not self.traceback

    def describe(self) -> str:
        return f"mlops-ci {' '.join(self.args)} -> exit {self.code}\n{self.out}\n{self.err}"


def runner_clean_environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(RUNNER_PREFIXES) and k not in RUNNER_NAMES
    }


@contextlib.contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Exactly `env` in os.environ for the duration (restored afterwards)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def invoke(args: list[str], env: Mapping[str, str], *, log_level: int = logging.INFO) -> Invocation:
    """`mlops-ci ARGS` in this process with exactly `env`; output captured."""
    from mlops_ci.cli import main

    out, err, logs = io.StringIO(), io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(log_level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root_logger = logging.getLogger()
    saved_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(min(log_level, saved_level) if saved_level else log_level)
    code, escaped = 0, None
    try:
        with (
            environment(env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException as exc:  # a crash that escaped main: recorded, not raised
                escaped = exc
                code = 3
                err.write(f"Traceback (most recent call last): escaped {exc!r}\n")
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(saved_level)
    return Invocation(list(args), code, out.getvalue(), err.getvalue(), escaped, logs.getvalue())


@dataclass
class ScenarioResult:
    journey: str
    scenario: str
    outcome: str  # "done" or "failed"
    rerun_completed: bool
    lost: list[str]
    duplicates: list[str]
    tracebacks: int
    notes: list[str]


#: Every scenario the fault matrix ran, for the table at the end of the session.
RESULTS: list[ScenarioResult] = []


# --- git and DVC helpers ----------------------------------------------------------------


def git(cwd: Path, *args: str, check: bool = True, date: str | None = None) -> str:
    env = dict(os.environ)
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {cwd} failed: {proc.stderr}")
    return proc.stdout.strip()


def tag_objects(repo: Path) -> dict[str, str]:
    """tag name -> tag object id (what would change if a tag were moved)."""
    raw = git(repo, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/tags")
    return dict(line.split(" ", 1) for line in raw.splitlines() if line)


def branch_heads(repo: Path) -> dict[str, str]:
    raw = git(repo, "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads")
    return dict(line.split(" ", 1) for line in raw.splitlines() if line)


class OriginBranches(dict[str, str]):
    """The double's branch table, backed by the bare origin: what was pushed is there."""

    def __init__(self, origin: Path, initial: Mapping[str, str]) -> None:
        super().__init__(initial)
        self.origin = origin

    def _pushed(self) -> dict[str, str]:
        return branch_heads(self.origin) if self.origin.is_dir() else {}

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self._pushed()

    def __getitem__(self, key: str) -> str:
        pushed = self._pushed()
        return pushed[key] if key in pushed else super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:  # dict.get would miss the branches that were pushed
            return self[key]
        return default


# --- the shape of a journey -------------------------------------------------------------


@dataclass
class Workspace:
    """One scenario's private copy of a journey's starting state."""

    sample: SampleProject
    double: GitHubDouble
    tmp: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.sample.root


Check = Callable[[Workspace], tuple[list[str], list[str]]]


@dataclass
class Journey:
    """A command, how to prepare for it once, and what must hold after it."""

    name: str
    prepare: Callable[[SampleProject], None]
    args: Callable[[Workspace], list[str]]
    env: Callable[[Workspace], dict[str, str]]
    seed: Callable[[Workspace], None]
    check: Check
    operations: tuple[str, ...]
    #: Operations whose failure after taking effect (a timeout after the write) matters.
    writes: tuple[str, ...] = ()
    #: Operations a clean run calls more than once, and how often (the last one fails too).
    repeated: dict[str, int] = field(default_factory=dict)
    pushes_git: bool = False
    uses_dvc_remote: bool = False
    before_rerun: Callable[[Workspace], None] | None = None


def copy_workspace(template: SampleProject, dest: Path, double: GitHubDouble) -> Workspace:
    sample = copy_sample(template, dest / "s")
    return Workspace(sample, double, dest)


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def runner_env(
    ws: Workspace, *, event_name: str, payload: dict[str, Any], sha: str
) -> dict[str, str]:
    """The variables a runner sets, pointing at the double and at files in the workspace."""
    event = ws.tmp / f"event-{event_name}.json"
    event.write_text(json.dumps(payload))
    output = ws.tmp / "github_output"
    summary = ws.tmp / "step_summary"
    output.touch()
    summary.touch()
    env = runner_clean_environ()
    env.update(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY=ws.double.repository,
        GITHUB_API_URL=ws.double.base_url,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_TOKEN=ws.data.get("token", "ghs_faultmatrixtoken000000000000000000001"),
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKFLOW="PR report",
        GITHUB_RUN_ID="4242",
        GITHUB_SHA=sha,
        GITHUB_REF="refs/heads/main",
        DVC_NO_ANALYTICS="1",
    )
    return env


def dispatch_payload(ws: Workspace) -> dict[str, Any]:
    payload = load_payload("workflow_dispatch.default.json")
    payload["ref"] = "refs/heads/main"
    payload["repository"]["full_name"] = ws.double.repository
    payload["repository"]["default_branch"] = "main"
    return payload


def block_push(origin: Path) -> Callable[[], None]:
    """A pre-receive hook that rejects every push; returns the undo."""
    hook = origin / "hooks" / "pre-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'pushes are frozen by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    return hook.unlink


def unreachable_origin(root: Path) -> Callable[[], None]:
    url = git(root, "remote", "get-url", "origin")
    git(root, "remote", "set-url", "origin", str(root.parent / "no-such-origin.git"))

    def undo() -> None:
        git(root, "remote", "set-url", "origin", url)

    return undo


def remove_dvc_remote(remote: Path) -> Callable[[], None]:
    aside = remote.with_name(remote.name + ".aside")
    remote.rename(aside)

    def undo() -> None:
        if remote.is_dir():  # recreated by a push: keep what reached it
            shutil.copytree(remote, aside, dirs_exist_ok=True)
            shutil.rmtree(remote)
        aside.rename(remote)

    return undo


def block_dvc_remote(remote: Path) -> Callable[[], None]:
    """A regular file where the remote directory was: every write to it fails (even as
    root, for whom a read-only directory is no obstacle)."""
    aside = remote.with_name(remote.name + ".aside")
    remote.rename(aside)
    remote.write_text("not a directory\n")

    def undo() -> None:
        remote.unlink()
        aside.rename(remote)

    return undo


def copy_tree(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, symlinks=True)
