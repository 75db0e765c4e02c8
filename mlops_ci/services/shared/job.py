"""The job a command runs in, read once by the command layer and passed down typed.

A service never reads `os.environ`, never builds a `RunContext` and never decides how
progress looks: the command layer makes one `Job` (runner context, the Actions runtime,
the environment child processes inherit, a progress sink) and hands it over.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from mlops_ci.adapters.actions import ActionsRuntime, guard_commands
from mlops_ci.context import RunContext
from mlops_ci.report.escape import terminal_text

#: Receives one line of a child process's output (the user's pipeline, `dvc pull`).
LineSink = Callable[[str], None]
#: Opens a named section of work (a log group on a runner, a heading in a terminal).
GroupFactory = Callable[[str], AbstractContextManager[None]]


class Progress(Protocol):
    """How long work tells the person (or the runner's log) what it is doing."""

    def line(self, text: str) -> None:
        """One line of output from work in progress (a child process's stdout)."""

    def group(self, title: str) -> AbstractContextManager[None]:
        """A named section of work."""

    def warning(self, message: str, hint: str | None = None) -> None:
        """Something the person should know that does not stop the command."""

    def advance(self, what: str, done: int, total: int | None) -> None:
        """Units of `what` done so far (rows read, runs merged); `total` when known."""


@contextmanager
def _no_section(title: str) -> Iterator[None]:
    yield


@dataclass
class QuietProgress:
    """Progress that shows nothing (tests, `--quiet`, library use); warnings still print."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)

    def line(self, text: str) -> None:
        return None

    def group(self, title: str) -> AbstractContextManager[None]:
        return _no_section(title)

    def warning(self, message: str, hint: str | None = None) -> None:
        self.stream.write(
            terminal_text(f"warning: {message}\n" + (f"hint: {hint}\n" if hint else ""))
        )
        self.stream.flush()

    def advance(self, what: str, done: int, total: int | None) -> None:
        return None


@dataclass
class SinkProgress(QuietProgress):
    """Progress that hands each line to `sink` and shows nothing else (library use)."""

    sink: LineSink = field(default=lambda text: None)

    def line(self, text: str) -> None:
        self.sink(text)


@dataclass
class RunnerProgress:
    """Progress on a runner: plain lines inside foldable log groups; warnings annotated."""

    actions: ActionsRuntime
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    errors: TextIO = field(default_factory=lambda: sys.stderr)

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def group(self, title: str) -> AbstractContextManager[None]:
        return self.actions.group(title)

    def warning(self, message: str, hint: str | None = None) -> None:
        self.actions.warning(message)  # first: the lines below may be shielded from commands
        text = terminal_text(f"warning: {message}\n" + (f"hint: {hint}\n" if hint else ""))
        self.errors.write(guard_commands(text))
        self.errors.flush()

    def advance(self, what: str, done: int, total: int | None) -> None:
        return None  # a runner's log is read afterwards: counters would only add noise


@dataclass(frozen=True)
class Job:
    """Where a command runs: the runner's context, its Actions runtime, the environment
    child processes inherit, and how progress is shown."""

    context: RunContext
    actions: ActionsRuntime
    env: Mapping[str, str]
    progress: Progress

    @classmethod
    def from_environ(
        cls, env: Mapping[str, str] | None = None, *, progress: Progress | None = None
    ) -> Job:
        """Read the environment once (the command layer does this, nobody else)."""
        environ = dict(os.environ if env is None else env)
        actions = ActionsRuntime.from_environ(environ)
        if progress is None:
            progress = RunnerProgress(actions) if actions.on_runner else QuietProgress()
        return cls(
            context=RunContext.from_environ(environ),
            actions=actions,
            env=environ,
            progress=progress,
        )

    @property
    def on_runner(self) -> bool:
        return self.actions.on_runner
