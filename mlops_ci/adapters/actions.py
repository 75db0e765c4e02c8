"""The GitHub Actions runner's file and workflow-command protocol, and its local stand-in.

On a runner: outputs go to `GITHUB_OUTPUT` (heredoc syntax with a random delimiter, so a
multi-line value cannot forge another output), the job summary to `GITHUB_STEP_SUMMARY`,
and annotations, masks and log groups are workflow commands on stdout. Locally the same
calls print plainly to the terminal, so services never ask where they run.
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import InputError
from mlops_ci.report.escape import terminal_text
from mlops_ci.secrets import redact, register_secret

# How a runner splits a step's output into lines, and which lines it reads as commands:
# `::name ...::` once leading whitespace is trimmed, or the older `##[name ...]` anywhere.
_RUNNER_LINES = re.compile(r"\r\n|\r|\n")
_COMMAND_LINE = re.compile(r"^\s*::|##\[")


def _escape_data(value: str) -> str:
    # Workflow command data: %, CR and LF must be escaped or the command is cut short.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def guard_commands(text: str) -> str:
    """Untrusted text as a runner's log shows it, with no line obeyed as a command.

    Text in which no line would be read as a workflow command is returned as it is;
    otherwise it is wrapped in `::stop-commands::<token>` ... `::<token>::` with a fresh
    random token (the runner's documented way to print text that is not commands), so
    it reaches the log unchanged. The runner splits lines at CR as well as LF.
    """
    if not any(_COMMAND_LINE.search(line) for line in _RUNNER_LINES.split(text)):
        return text
    token = f"mlops-ci-{secrets.token_hex(16)}"
    while token in text:  # pragma: no cover - 128 random bits
        token = f"mlops-ci-{secrets.token_hex(16)}"
    body, tail = (text, "\n") if text.endswith("\n") else (text + "\n", "")
    return f"::stop-commands::{token}\n{body}::{token}::{tail}"


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


@dataclass
class ActionsRuntime:
    """Writes outputs, summaries and annotations where the runner (or a person) reads them."""

    on_runner: bool = False
    output_file: Path | None = None
    summary_file: Path | None = None
    stream: TextIO = field(default_factory=lambda: sys.stdout)
    outputs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, env: Mapping[str, str], stream: TextIO | None = None) -> ActionsRuntime:
        output = env.get("GITHUB_OUTPUT", "")
        summary = env.get("GITHUB_STEP_SUMMARY", "")
        return cls(
            on_runner=env.get("GITHUB_ACTIONS") == "true",
            output_file=Path(output) if output else None,
            summary_file=Path(summary) if summary else None,
            stream=stream or sys.stdout,
        )

    def _command(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def set_output(self, name: str, value: str) -> None:
        """Set a step output; multi-line values are safe."""
        if not name or any(c in name for c in "=\n\r"):
            raise ValueError(f"invalid output name {name!r}")
        value = redact(value)
        self.outputs[name] = value
        if self.output_file is None:
            if not self.on_runner:
                return
            raise InputError(
                f"GITHUB_ACTIONS is true but GITHUB_OUTPUT is not set: nowhere to write the "
                f"step output {name!r}",
                hint="run inside a GitHub Actions step (the runner sets GITHUB_OUTPUT), "
                "or unset GITHUB_ACTIONS to run locally",
            )
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:  # pragma: no cover - 128 random bits
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        with self.output_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def append_summary(self, markdown: str) -> None:
        """Append Markdown to the job summary (ignored locally: the report is printed)."""
        if self.summary_file is None:
            return
        with self.summary_file.open("a", encoding="utf-8") as handle:
            handle.write(redact(markdown).rstrip("\n") + "\n")

    def error(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self._annotate("error", message, file=file, line=line)

    def warning(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self._annotate("warning", message, file=file, line=line)

    def notice(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self._annotate("notice", message, file=file, line=line)

    def _annotate(self, level: str, message: str, *, file: str | None, line: int | None) -> None:
        message = terminal_text(redact(message))  # no escape sequence in the log viewer
        if not self.on_runner:
            return  # the CLI has already printed the message for a person
        props = []
        if file:
            props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
        prefix = f"::{level} {','.join(props)}::" if props else f"::{level}::"
        self._command(prefix + _escape_data(message))

    def mask(self, value: str) -> None:
        """Hide a value from the job log (and from everything we print)."""
        register_secret(value)
        if self.on_runner and value:
            # Line by line, as the runner splits them; the data escaped, as it unescapes it.
            for line in _RUNNER_LINES.split(value):
                if line.strip():
                    self._command(f"::add-mask::{_escape_data(line)}")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable log group on a runner; a heading locally."""
        title = " ".join(_RUNNER_LINES.split(redact(title)))
        if self.on_runner:
            self._command(f"::group::{_escape_data(title)}")
        else:
            self._command(f"── {terminal_text(title)}")
        try:
            yield
        finally:
            if self.on_runner:
                self._command("::endgroup::")
