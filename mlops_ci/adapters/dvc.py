"""DVC as we use it: pull, push, reproduce, data diff, and reading files at a revision.

Commands run as subprocesses of this interpreter (`python -P -m dvc`), so the DVC
that mlops-ci was installed with is the one used, always with its analytics off
(`adapters.process`). Reading a DVC output at an old revision goes through DVC's
Python API, imported only then (it costs about half a second); this is the only
module that calls it.
"""

from __future__ import annotations

import configparser
import os
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from mlops_ci.adapters.process import (
    dvc_api_environment,
    pipeline_env,
    python_command,
    run_child,
    tool_env,
)
from mlops_ci.core.lockfile import TrackedFile, stage_hashes, tracked_files
from mlops_ci.errors import DvcError

if TYPE_CHECKING:
    from dvc.api import DVCFileSystem

LineSink = Callable[[str], None]
DVC_TIMEOUT_VARIABLE = "MLOPS_CI_DVC_TIMEOUT_MINUTES"
DVC_TIMEOUT_HINT = f"{DVC_TIMEOUT_VARIABLE} (minutes; default 60)"


def dvc_timeout() -> float:
    """Seconds a DVC command may take: `MLOPS_CI_DVC_TIMEOUT_MINUTES`, else 60 minutes."""
    raw = os.environ.get(DVC_TIMEOUT_VARIABLE, "").strip()
    try:
        minutes = float(raw) if raw else 60.0
    except ValueError:
        minutes = 60.0
    return max(minutes, 0.001) * 60


# `tracked_files` and `stage_hashes` read `dvc.lock` and `.dvc` text (`core.lockfile`).
__all__ = [
    "CommandResult",
    "Dvc",
    "TrackedFile",
    "first_line",
    "repro_pulling",
    "stage_hashes",
    "tracked_files",
]


@dataclass(frozen=True)
class CommandResult:
    command: str
    returncode: int
    seconds: float
    tail: list[str] = field(default_factory=list)


class Dvc:
    """DVC operations in the repository at `root`."""

    def __init__(
        self,
        root: Path | str,
        env: Mapping[str, str] | None = None,
        *,
        own_python_first: bool = False,
    ) -> None:
        self.root = Path(root)
        self.env = tool_env(env)
        # The pipeline is the project's (or a pull request's) code: no GitHub token.
        self.pipeline_env = pipeline_env(env, own_python_first=own_python_first)

    # --- commands -------------------------------------------------------------------

    def _dvc(self, *args: str) -> list[str]:
        # `-P`: a `dvc/` directory in the checkout is never imported in DVC's place.
        return python_command("-m", "dvc", *args)

    def stream(
        self,
        argv: list[str] | str,
        *,
        sink: LineSink | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        raise_timeout: str | None = None,
    ) -> CommandResult:
        """Run a command, streaming its combined output line by line to `sink`.

        A string runs through the shell: it is the pipeline command the repository
        itself declares (`pipeline.run`), code the user already trusts. The command and
        everything it starts run in one process group, stopped after `timeout`
        seconds (default: `MLOPS_CI_DVC_TIMEOUT_MINUTES`, else 60 minutes).
        """
        shown = argv if isinstance(argv, str) else shlex.join(argv)
        try:
            result = run_child(
                argv,
                cwd=cwd or self.root,
                env=env if env is not None else self.env,
                timeout=timeout if timeout is not None else dvc_timeout(),
                what=f"`{shown}`",
                timeout_setting=raise_timeout or DVC_TIMEOUT_HINT,
                error=DvcError,
                stream=sink,
                merge_output=True,
            )
        except OSError as exc:
            raise DvcError(f"cannot start `{shown}`: {exc.strerror}") from None
        return CommandResult(shown, result.returncode, result.seconds, result.tail)

    def _check(self, result: CommandResult, what: str) -> CommandResult:
        if result.returncode != 0:
            last = next((line for line in reversed(result.tail) if line.strip()), "")
            raise DvcError(
                f"{what} failed (exit {result.returncode}): {last.strip()[:300]}",
                hint=f"run `{result.command}` locally to see the whole output",
            )
        return result

    def pull(self, sink: LineSink | None = None, *, run_cache: bool = False) -> CommandResult:
        """`dvc pull`: fetch the data and outputs the workspace's DVC files point at;
        `run_cache`: also the run-cache entries (`--run-cache`), not their outputs."""
        args = ["pull", "--run-cache"] if run_cache else ["pull"]
        return self._check(self.stream(self._dvc(*args), sink=sink), shlex.join(["dvc", *args]))

    def push(self, sink: LineSink | None = None, *, run_cache: bool = False) -> CommandResult:
        """`dvc push`; `run_cache`: also the run-cache entries (`--run-cache`)."""
        args = ["push", "--run-cache"] if run_cache else ["push"]
        return self._check(self.stream(self._dvc(*args), sink=sink), shlex.join(["dvc", *args]))

    def run_pipeline(
        self,
        command: str,
        *,
        sink: LineSink | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run the pipeline command (`dvc repro` by default) through this DVC."""
        argv: list[str] | str = command
        parts = _plain_dvc(command)
        if parts is not None:
            argv = self._dvc(*parts[1:])
        result = self.stream(
            argv,
            sink=sink,
            cwd=cwd,
            timeout=timeout,
            env=self.pipeline_env,
            raise_timeout="pipeline.timeout_minutes in mlops-ci.yaml",
        )
        return self._check(result, f"the pipeline `{command}`")

    # --- configuration ----------------------------------------------------------------

    def remotes(self) -> dict[str, str]:
        """Configured remotes (name -> url) from `.dvc/config` and `.dvc/config.local`."""
        found: dict[str, str] = {}
        for name in ("config", "config.local"):
            path = self.root / ".dvc" / name
            if not path.is_file():
                continue
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string(path.read_text("utf-8"))
            except (configparser.Error, UnicodeDecodeError):
                continue
            for section in parser.sections():
                text = section.strip("'\"")
                if text.startswith("remote "):
                    remote = text[len("remote ") :].strip().strip("'\"")
                    found[remote] = parser.get(section, "url", fallback="")
        return found

    def has_remote(self) -> bool:
        return bool(self.remotes())

    # --- reading ------------------------------------------------------------------------

    @contextmanager
    def open_at_rev(self, path: str, rev: str) -> Iterator[BinaryIO]:
        """A DVC-tracked output at `rev` as a binary stream: from the cache, else the remote.

        DVC's own exceptions (missing cache, unreachable remote) reach the caller,
        which says what it was doing; `first_line` gives their gist.
        """
        with dvc_api_environment():
            import dvc.api

            with dvc.api.open(path, repo=str(self.root), rev=rev, mode="rb") as handle:
                yield handle

    def read_at_rev(self, path: str, rev: str) -> bytes:
        """The bytes of a DVC-tracked output at `rev`: from the cache, else the remote."""
        try:
            with self.open_at_rev(path, rev) as handle:
                data: bytes = handle.read()
            return data
        except Exception as exc:
            raise DvcError(
                f"{path}@{rev[:12]}: cannot read through DVC: {first_line(exc)}"
            ) from None

    def fs_at_rev(self, rev: str) -> DVCFileSystem:
        """The repository at `rev` as a filesystem: git files and DVC outputs alike."""
        with dvc_api_environment():
            from dvc.api import DVCFileSystem

            return DVCFileSystem(str(self.root), rev=rev)


def _plain_dvc(command: str) -> list[str] | None:
    """The words of `command` when it is a `dvc ...` command without shell syntax."""
    if any(c in command for c in "|&;<>$`"):
        return None
    try:
        parts = shlex.split(command)
    except ValueError:
        return None
    return parts if parts[:1] == ["dvc"] else None


def repro_pulling(command: str) -> str | None:
    """`command` as `dvc repro --pull ...` when it is a plain `dvc repro`, else None.

    `--pull` makes repro fetch the run-cache and, for a stage found in it, the outputs
    of that earlier run, so the stage is restored instead of run. Already there, or
    with `--no-run-cache` (restoring off), the command is returned as it is.
    """
    parts = _plain_dvc(command)
    if parts is None or parts[1:2] != ["repro"]:
        return None
    if "--pull" in parts or "--no-run-cache" in parts:
        return command
    return shlex.join([*parts[:2], "--pull", *parts[2:]])


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
