"""Turning errors into what a person reads: one line, a hint, an annotation on a runner.

Messages quote files, names and payloads someone else wrote: they are printed through
`mlops_ci.commands.console` (no control character, never obeyed as a workflow command).
"""

from __future__ import annotations

import os
import sys

from mlops_ci.commands.console import echo, one_line
from mlops_ci.errors import MlopsCIError


def report_error(exc: MlopsCIError) -> None:
    """Print one clear line (and a hint) for an error the user can act on."""
    kind = "refused" if exc.exit_code == 2 else "error"
    message = one_line(exc.message)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # The annotation first: its data is escaped, and the line below may have to be
        # shielded from the runner, which would also hide an annotation printed inside.
        from mlops_ci.adapters.actions import ActionsRuntime

        ActionsRuntime.from_environ(os.environ).error(message, file=exc.file, line=exc.line)
    echo(f"{kind}: {message}", err=True)
    if exc.hint:
        echo(f"hint: {one_line(exc.hint)}", err=True)


def report_unexpected(exc: BaseException) -> None:
    """An unexpected failure: a short message, and how to get the traceback."""
    name = type(exc).__name__
    message = one_line(exc)[:500]
    echo(f"unexpected error: {name}: {message}", err=True)
    echo("hint: re-run with --traceback for details, and report it if it persists", err=True)
    sys.stderr.flush()
