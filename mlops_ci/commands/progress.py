"""How commands show progress, and the one place a command reads its environment.

On a runner, work is plain lines inside foldable log groups; in a terminal, a spinner
names the step while the pipeline's output scrolls by dimmed; piped into a file or
another program, the same headings and lines come as plain text. Services never know
which: they receive a `Job` whose `progress` is one of these.

rich is imported only for a terminal: a command whose output is not one never loads it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from mlops_ci.services.shared.job import Job


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (standard output by default) is a terminal a person looks at."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def console(*, stderr: bool = False) -> Any:
    """A rich console for people (imported only when something is printed)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


@dataclass
class TerminalProgress:
    """Progress for a person at a terminal: a spinner and dimmed child output."""

    quiet: bool
    status: Any
    out: Any

    def line(self, text: str) -> None:
        if not self.quiet:
            from rich.text import Text

            self.out.print(Text(text, style="dim"))

    @contextmanager
    def _section(self, title: str) -> Iterator[None]:
        self.status.update(f"Running {title}…")
        self.out.print(f"[bold]── {title}[/bold]", markup=True, highlight=False)
        yield

    def group(self, title: str) -> AbstractContextManager[None]:
        return self._section(title)

    def warning(self, message: str, hint: str | None = None) -> None:
        sys.stderr.write(f"warning: {message}\n" + (f"hint: {hint}\n" if hint else ""))
        sys.stderr.flush()

    def advance(self, what: str, done: int, total: int | None) -> None:
        shown = f"{done:,}/{total:,}" if total else f"{done:,}"
        self.status.update(f"Reading {what}… {shown}")


@dataclass
class PlainProgress:
    """Progress when standard output is not a terminal (a pipe, a file, a local log):
    the terminal's headings and lines as plain text, without a spinner or colour."""

    quiet: bool
    stream: TextIO = field(default_factory=lambda: sys.stdout)

    def line(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextmanager
    def _section(self, title: str) -> Iterator[None]:
        self.stream.write(f"── {title}\n")
        self.stream.flush()
        yield

    def group(self, title: str) -> AbstractContextManager[None]:
        return self._section(title)

    def warning(self, message: str, hint: str | None = None) -> None:
        sys.stderr.write(f"warning: {message}\n" + (f"hint: {hint}\n" if hint else ""))
        sys.stderr.flush()

    def advance(self, what: str, done: int, total: int | None) -> None:
        return None  # counters only make sense on a line that is rewritten in place


@contextmanager
def command_job(*, quiet: bool = False, env: Mapping[str, str] | None = None) -> Iterator[Job]:
    """The `Job` of one command: environment read once, progress shown as befits where
    it runs. A spinner runs for the duration of the `with` block in a terminal."""
    from mlops_ci.services.shared.job import Job

    environ = dict(os.environ if env is None else env)
    if environ.get("GITHUB_ACTIONS") == "true":
        yield Job.from_environ(environ)
        return
    if not is_terminal():
        yield Job.from_environ(environ, progress=PlainProgress(quiet))
        return
    out = console()
    status = out.status("Working…", spinner="dots")
    status.start()
    try:
        yield Job.from_environ(environ, progress=TerminalProgress(quiet, status, out))
    finally:
        status.stop()
