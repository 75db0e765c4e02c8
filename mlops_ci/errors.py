"""One error hierarchy; the CLI turns each kind into one line and an exit code.

Exit codes are part of the contract (README, action outputs, branch protection):
0 ok, 1 user error, 2 a gate or policy said no, 3 an unexpected failure.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_REFUSED = 2
EXIT_UNEXPECTED = 3


class MlopsCIError(Exception):
    """An error the user can act on: one line of message and an optional hint."""

    exit_code = EXIT_USER_ERROR

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # file/line feed the `::error file=,line=::` annotation on a runner.
        self.file = file
        self.line = line

    def __str__(self) -> str:
        return self.message


class ConfigError(MlopsCIError):
    """mlops-ci.yaml (or a file it points at) is not what we expected."""


class InputError(MlopsCIError):
    """A metrics/params/data file, event payload or bundle is malformed or missing."""


class GitError(MlopsCIError):
    """A git operation failed in a way the user can fix (unknown ref, shallow clone...)."""


class DvcError(MlopsCIError):
    """DVC failed: missing remote, unreachable outputs, pipeline errors."""


class GitHubError(MlopsCIError):
    """GitHub refused or failed a call after retries; the message says what to change."""


class RefusedError(MlopsCIError):
    """A gate or policy said no. Not a crash: the tool worked and the answer is no."""

    exit_code = EXIT_REFUSED


class GateFailed(RefusedError):
    """One or more quality gates failed."""


class PolicyRefused(RefusedError):
    """A registry or promotion policy refused the operation (stage order, race, ...)."""
