"""Turning errors into what a person reads: one line, a hint, an annotation on a runner."""

from __future__ import annotations

import os
import sys

import click

from mlops_ci.errors import MlopsCIError
from mlops_ci.secrets import redact


def report_error(exc: MlopsCIError) -> None:
    """Print one clear line (and a hint) for an error the user can act on."""
    kind = "refused" if exc.exit_code == 2 else "error"
    message = redact(exc.message).replace("\n", " ")
    click.echo(f"{kind}: {message}", err=True)
    if exc.hint:
        click.echo(f"hint: {redact(exc.hint)}", err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from mlops_ci.adapters.actions import ActionsRuntime

        ActionsRuntime.from_environ(os.environ).error(message, file=exc.file, line=exc.line)


def report_unexpected(exc: BaseException) -> None:
    """An unexpected failure: a short message, and how to get the traceback."""
    name = type(exc).__name__
    message = redact(str(exc)).replace("\n", " ")[:500]
    click.echo(f"unexpected error: {name}: {message}", err=True)
    click.echo("hint: re-run with --traceback for details, and report it if it persists", err=True)
    sys.stderr.flush()
