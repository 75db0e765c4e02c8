"""Running the tools we orchestrate (git, dvc, the user's pipeline) as subprocesses.

`run_child` is the one place a child process starts. Every child gets a timeout and a
process group of its own (`start_new_session`): on a timeout, Ctrl-C, any exception, a
SIGTERM to mlops-ci or its exit, the whole group is sent SIGTERM and, after a short
grace, SIGKILL, so a pipeline's grandchildren never outlive the run. Every child's
environment is built here too, without the GitHub token (`scrub_credentials`).
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from mlops_ci.errors import MlopsCIError

# Credentials a child never needs: the GitHub token we were given, the git credential
# helper the action configures for our own pushes, the runner's OIDC and runtime tokens,
# and the files through which a step changes the environment of the job's later steps.
# DVC remote credentials (AWS_*, AZURE_*, ...) stay.
_SECRET_NAMES = frozenset(
    {
        "MLOPS_CI_GITHUB_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "INPUT_GITHUB-TOKEN",
        "INPUT_GITHUB_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "GITHUB_ENV",
        "GITHUB_PATH",
        "GITHUB_STATE",
    }
)
_GIT_CONFIG_VAR = re.compile(r"^GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+)$")
_DVC_ANALYTICS = "DVC_NO_ANALYTICS"
#: How long a SIGTERMed process group gets before SIGKILL.
GRACE_SECONDS = 3.0

LineSink = Callable[[str], None]


def switch_off_dvc_analytics(env: MutableMapping[str, str]) -> None:
    """Turn DVC's analytics off in `env`: the one place that sets the switch.

    DVC's analytics would start a detached process per call (and phone home from a CI
    job), so every DVC we run, as a command or through its Python API, has them off.
    """
    env[_DVC_ANALYTICS] = "1"


@contextmanager
def dvc_api_environment() -> Iterator[None]:
    """This process's environment with DVC's analytics off, for DVC's Python API.

    The API reads `os.environ`; the previous value is restored afterwards.
    """
    saved = os.environ.get(_DVC_ANALYTICS)
    switch_off_dvc_analytics(os.environ)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_DVC_ANALYTICS, None)
        else:
            os.environ[_DVC_ANALYTICS] = saved


def scrub_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the GitHub token and without git credential helpers.

    Configuration passed through `GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` survives,
    renumbered, except `credential.*` entries (the action's helper prints the token).
    """
    kept = {k: v for k, v in env.items() if k not in _SECRET_NAMES}
    pairs: list[tuple[str, str]] = []
    try:
        count = int(kept.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    for i in range(count):
        key, value = kept.get(f"GIT_CONFIG_KEY_{i}"), kept.get(f"GIT_CONFIG_VALUE_{i}")
        if key is not None and value is not None and not key.lower().startswith("credential"):
            pairs.append((key, value))
    for name in [k for k in kept if _GIT_CONFIG_VAR.match(k)]:
        del kept[name]
    for i, (key, value) in enumerate(pairs):
        kept[f"GIT_CONFIG_KEY_{i}"], kept[f"GIT_CONFIG_VALUE_{i}"] = key, value
    if pairs:
        kept["GIT_CONFIG_COUNT"] = str(len(pairs))
    return kept


def with_git_credentials(env: Mapping[str, str]) -> dict[str, str]:
    """`env` plus this process's token and git credential helper, for git's own
    network calls (push, fetch, ls-remote) and nothing else."""
    merged = dict(env)
    if "GIT_CONFIG_COUNT" in merged:
        return merged
    for name, value in os.environ.items():
        if name in _SECRET_NAMES or _GIT_CONFIG_VAR.match(name):
            merged.setdefault(name, value)
    return merged


def tool_env(
    extra: Mapping[str, str] | None = None, *, own_python_first: bool = False
) -> dict[str, str]:
    """The environment for git, DVC and pipeline commands: never the GitHub token.

    The directory of the interpreter running mlops-ci is put on PATH so that `dvc`
    resolves even when its virtual environment was never activated. It goes *last*,
    so a project's own `python` and tools win (under the action, mlops-ci lives in a
    virtual environment of its own); `own_python_first` puts it first, for pipelines
    we ship ourselves (the demo). DVC's analytics are off (`switch_off_dvc_analytics`).
    """
    env = dict(os.environ)
    if extra:
        env.update(extra)  # first, so that a PATH given here is extended, not kept as is
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if own_python_first:
        parts = [bindir, *[p for p in parts if p != bindir]]
    elif bindir not in parts:
        parts.append(bindir)
    env["PATH"] = os.pathsep.join(parts)
    switch_off_dvc_analytics(env)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env.pop("PYTHONSAFEPATH", None)  # ours is `-P` on our own command lines only
    return scrub_credentials(env)


def pipeline_env(
    extra: Mapping[str, str] | None = None, *, own_python_first: bool = False
) -> dict[str, str]:
    """The pipeline's environment: the pull request's code gets the DVC remote's
    credentials it needs to pull and push data, never the GitHub token."""
    return tool_env(extra, own_python_first=own_python_first)


def python_command(*args: str) -> list[str]:
    """`python -P ARGS` with this interpreter: the working directory (a checkout that may
    hold a package named like the one we import, `dvc/` say) is never on `sys.path`."""
    return [sys.executable, "-P", *args]


# --- running a child ------------------------------------------------------------------


@dataclass(frozen=True)
class ChildResult:
    """A finished child: exit code, output (or its last lines when streamed), duration."""

    command: str
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    seconds: float = 0.0
    tail: list[str] = field(default_factory=list)


_live: set[int] = set()
_live_lock = threading.Lock()
_handlers_installed = False


def kill_group(pgid: int, grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the process group, and SIGKILL whatever is left after `grace` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        with suppress(ChildProcessError):
            os.waitpid(-pgid, os.WNOHANG)  # reap our own child so the group can empty
        time.sleep(0.05)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_all_children() -> None:
    """Kill the process group of every child still running (at exit, on SIGTERM)."""
    with _live_lock:
        groups = list(_live)
        _live.clear()
    for pgid in groups:
        kill_group(pgid, grace=1.0)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    kill_all_children()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _handlers_installed  # noqa: PLW0603 - once per process
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(kill_all_children)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _on_signal)


def _drain(stream: IO[bytes], sink: LineSink | None, tail: list[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        tail.append(line)
        if len(tail) > 40:
            del tail[:-40]
        if sink is not None:
            sink(line)
    stream.close()


def format_seconds(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def run_child(
    argv: Sequence[str] | str,
    *,
    cwd: Path | str,
    env: Mapping[str, str],
    timeout: float,
    what: str,
    timeout_setting: str | None,
    error: type[MlopsCIError] = MlopsCIError,
    input_bytes: bytes | None = None,
    stream: LineSink | None = None,
    merge_output: bool = False,
) -> ChildResult:
    """Run `argv` in its own process group and wait at most `timeout` seconds.

    A string runs through the shell (the pipeline command the repository declares).
    With `merge_output` (or a `stream` sink), stdout and stderr are read together line
    by line into `stream` and the last lines kept in `tail`; otherwise both are
    captured. On a timeout the group is killed and `error` says what timed out, after
    how long, and which setting raises the limit (`timeout_setting`); exit 1.
    A missing executable or directory raises `FileNotFoundError`, as `subprocess` does.
    """
    _install_handlers()
    shown = argv if isinstance(argv, str) else shlex.join(argv)
    start = time.monotonic()
    merged = merge_output or stream is not None
    proc = subprocess.Popen(
        argv if isinstance(argv, str) else list(argv),
        cwd=cwd,
        env=dict(env),
        shell=isinstance(argv, str),
        stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        start_new_session=True,
    )
    with _live_lock:
        _live.add(proc.pid)
    try:
        if merged:
            return _wait_streamed(proc, shown, start, timeout, stream)
        out, err = proc.communicate(input_bytes, timeout=timeout)
        return ChildResult(shown, proc.returncode, out, err, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.wait()
        raise error(
            f"{what} did not finish within {format_seconds(timeout)} and was stopped",
            hint=f"raise {timeout_setting}" if timeout_setting else None,
        ) from None
    finally:
        # Whatever happened (done, timeout, Ctrl-C, an exception), nothing of it survives.
        _end(proc)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Stop the child's whole group, forget it, and reap it."""
    kill_group(proc.pid)
    with _live_lock:
        _live.discard(proc.pid)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _wait_streamed(
    proc: subprocess.Popen[bytes], shown: str, start: float, timeout: float, sink: LineSink | None
) -> ChildResult:
    tail: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=_drain, args=(proc.stdout, sink, tail), daemon=True)
    reader.start()
    code = proc.wait(timeout=timeout)
    # A background process of the child may hold the pipe open: end the group first.
    kill_group(proc.pid, grace=1.0)
    reader.join(10)
    return ChildResult(shown, code, seconds=time.monotonic() - start, tail=list(tail))


@dataclass
class BackgroundChild:
    """A child that runs while the caller works beside it (a server under test)."""

    proc: subprocess.Popen[bytes]
    tail: list[str]

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def last_lines(self, count: int = 5) -> str:
        return "\n".join(self.tail[-count:])


@contextmanager
def background_child(
    argv: Sequence[str], *, cwd: Path | str, env: Mapping[str, str], lifetime: float
) -> Iterator[BackgroundChild]:
    """Run `argv` in its own process group for the `with` block, at most `lifetime`
    seconds: on leaving the block (or at the deadline) the whole group is stopped, as
    `run_child` stops its children. Output (stdout and stderr) is kept, last 40 lines."""
    _install_handlers()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with _live_lock:
        _live.add(proc.pid)
    tail: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=_drain, args=(proc.stdout, None, tail), daemon=True)
    reader.start()
    # A caller that hangs must not leave the server behind: the deadline stops it too.
    watchdog = threading.Timer(lifetime, kill_group, args=(proc.pid,))
    watchdog.daemon = True
    watchdog.start()
    try:
        yield BackgroundChild(proc, tail)
    finally:
        watchdog.cancel()
        _end(proc)
        reader.join(5)
