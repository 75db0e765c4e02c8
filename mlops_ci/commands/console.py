"""The one writer for text the commands print that someone else wrote.

Column names, bundle notes, tagger names, branch names and error messages that quote
a file are untrusted. Printed raw, an escape sequence would repaint the terminal and,
on a GitHub Actions runner, a line starting `::` would be obeyed as a workflow command
(set an output, add a mask, annotate). Everything such text passes through here:

- control characters are removed (tab and newline stay; CR becomes a line end) and
  zero-width and bidi characters are shown as `<U+200B>`;
- on a runner, text with a line the runner would read as a command is wrapped in
  `::stop-commands::<random token>` ... `::<token>::`, so it is shown, not obeyed.
"""

from __future__ import annotations

import os
from typing import Any

import click

from mlops_ci.adapters.actions import guard_commands
from mlops_ci.report.escape import terminal_text
from mlops_ci.secrets import redact

__all__ = ["cell", "echo", "echo_json", "one_line", "print_rich", "safe_text"]


def _on_runner() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def safe_text(text: object, *, reveal: bool = True) -> str:
    """Untrusted text with secrets redacted and no control character left."""
    return terminal_text(redact(str(text)), reveal=reveal)


def one_line(text: object) -> str:
    """Untrusted text on one line (line ends become spaces)."""
    return " ".join(safe_text(text).split("\n"))


def echo(text: object, *, err: bool = False, reveal: bool = True, nl: bool = True) -> None:
    """Print untrusted text: cleaned, and on a runner never obeyed as a command.

    `reveal=False` is for Markdown we rendered ourselves, whose zero-width joiners
    (after an `@`) are deliberate and whose names are already revealed.
    """
    value = safe_text(text, reveal=reveal)
    click.echo(guard_commands(value) if _on_runner() else value, err=err, nl=nl)


def echo_json(text: str, *, nl: bool = True) -> None:
    """Print a JSON document that may hold untrusted strings, still valid JSON.

    JSON escapes control characters and never starts a line with `::`; only `##[` (which
    the runner obeys anywhere in a line, and which can only be inside a string) is left:
    on a runner its second `#` is written `\\u0023`, the same string to a JSON reader.
    """
    click.echo(text.replace("##[", "#\\u0023[") if _on_runner() else text, nl=nl)


def cell(text: object, style: str = "") -> Any:
    """A rich table cell or line for untrusted text: cleaned, on one line, and a `Text`
    (so `[bold]` in a name is shown, not read as rich markup)."""
    from rich.text import Text

    return Text(one_line(text), style=style)


def print_rich(renderable: Any, *, err: bool = False, width: int | None = None) -> None:
    """Print a rich renderable whose text went through `cell`; on a runner the rendered
    lines are guarded as a whole, like `echo`."""
    from rich.console import Console

    console = Console(stderr=err, highlight=False, width=width)
    if not _on_runner():
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    click.echo(guard_commands(captured.get()), err=err, nl=False)
