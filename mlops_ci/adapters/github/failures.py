"""What went wrong on a GitHub request, in kinds the retry loop acts on: worth
retrying (5xx, rate limits, dropped connections) or for the user to fix."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

_SECONDARY_RATE_LIMIT = re.compile(
    r"secondary rate limit|please wait a few minutes|please retry your request again later",
    re.IGNORECASE,
)

FailureKind = Literal[
    "server", "rate_limit", "dropped", "permission", "not_found", "auth", "invalid", "other"
]


@dataclass(frozen=True)
class Failure:
    """One failed request: its kind, HTTP status (None when the connection dropped),
    GitHub's message, the wait GitHub asked for and its error codes."""

    kind: FailureKind
    status: int | None
    message: str
    wait: float | None = None
    codes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The status and message, as the error shows them."""
        if self.status is None:
            return self.message
        return f"{self.status} {self.message}".strip()


def classify(exc: BaseException) -> Failure | None:
    """Turn a PyGithub/requests exception into a failure kind; None if not ours."""
    from github.GithubException import GithubException
    from requests.exceptions import RequestException

    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        return _http_failure(exc.status, data, headers)
    if isinstance(exc, RequestException | ConnectionError | TimeoutError):
        return Failure("dropped", None, f"connection failed ({type(exc).__name__})")
    return None


def _http_failure(status: int, data: Mapping[str, Any], headers: Mapping[str, str]) -> Failure:
    """The failure kind of an HTTP error answer from the API."""
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    codes = tuple(str(e.get("code", "")) for e in errors)
    extra = [str(e.get("message")) for e in errors if e.get("message")]
    message = str(data.get("message") or "")
    if extra:
        message = f"{message}: {'; '.join(extra)}"
    if status >= 500:
        return Failure("server", status, message or "server error")
    if status == 429:
        return Failure("rate_limit", status, message, _retry_after(headers))
    if status == 403:
        return _forbidden(status, message, headers)
    if status == 401:
        return Failure("auth", status, message or "Bad credentials")
    if status == 404:
        return Failure("not_found", status, message or "Not Found")
    if status in (409, 422):
        return Failure("invalid", status, message, codes=codes)
    return Failure("other", status, message)


def _forbidden(status: int, message: str, headers: Mapping[str, str]) -> Failure:
    """403 is a rate limit in three disguises, otherwise a missing permission."""
    if "retry-after" in headers:
        return Failure("rate_limit", status, message, _retry_after(headers))
    if headers.get("x-ratelimit-remaining") == "0":
        return Failure("rate_limit", status, message, _until_reset(headers))
    if _SECONDARY_RATE_LIMIT.search(message):
        return Failure("rate_limit", status, message, 60.0)
    # "Resource not accessible by integration" (the job token) and the
    # like: the token lacks a permission.
    return Failure("permission", status, message)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def _until_reset(headers: Mapping[str, str]) -> float | None:
    try:
        reset = float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    return max(reset - time.time(), 0.0) + 1.0
