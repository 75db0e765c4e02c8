"""The connection to one repository: authentication, the retry loop, and the error
the user sees when GitHub refuses.

Transient failures (5xx, 429, secondary rate limits, dropped connections) are
retried with bounded backoff; a request that creates something is repeated only
after checking that the first attempt did not in fact succeed. Every failure the
user can act on becomes one `GitHubError` whose message passes through `redact`,
so the token never reaches an error, a log or a repr. Which failures are transient
is decided in `failures`.

PyGithub is imported in the constructor, not here, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from mlops_ci.errors import GitHubError
from mlops_ci.secrets import redact, register_secret

from .failures import Failure, classify

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.Repository import Repository

    from mlops_ci.context import RunContext

log = logging.getLogger("mlops_ci.github")

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
#: The login behind the job's GITHUB_TOKEN; that token cannot call GET /user.
ACTIONS_BOT_LOGIN = "github-actions[bot]"
STATUS_DESCRIPTION_LIMIT = 140
#: GitHub refuses release notes longer than this.
RELEASE_BODY_LIMIT = 125_000
COMMENT_MODES = ("update", "recreate", "off")
CommentMode = Literal["update", "recreate", "off"]

#: What each kind of operation does, in the user's words, and the workflow
#: `permissions:` entry the job token needs for it.
PERMISSIONS: dict[str, tuple[str, str]] = {
    "read": ("read the repository", "contents: read"),
    "comment": ("write the pull request comment", "pull-requests: write"),
    "check": ("create or update the check run", "checks: write"),
    "status": ("set the commit status", "statuses: write"),
    "release": ("create or update the release", "contents: write"),
    "deployment": ("create or update the deployment", "deployments: write"),
    "issue": ("create or update the issue", "issues: write"),
    "dispatch": ("dispatch the workflow", "actions: write"),
    "repository_dispatch": ("send the repository dispatch event", "contents: write"),
    "pull": ("open the pull request", "pull-requests: write"),
}


def api_url_from_environ(environ: Mapping[str, str]) -> str:
    """The REST API root: `GITHUB_API_URL` (set by runners, also on GHES) or github.com."""
    return checked_api_url(environ.get("GITHUB_API_URL") or DEFAULT_API_URL)


def checked_api_url(url: str) -> str:
    """`url` without a trailing slash, if it is an `http(s)://host[/path]` URL.

    Anything else (`ftp:/x`, `api.github.com` without a scheme, a space or a line
    break) is one `GitHubError` naming `GITHUB_API_URL`, before any request is made.
    """
    if not _url_ok(url):
        raise GitHubError(
            f"GITHUB_API_URL: expected an http(s)://host URL such as {DEFAULT_API_URL}, "
            f"got {redact(url)[:100]!r}",
            hint="on GitHub Enterprise Server it is https://HOST/api/v3; unset it for github.com",
        )
    return url.rstrip("/")


def _url_ok(url: str) -> bool:
    if not (url.isascii() and url.isprintable()) or " " in url:
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username


def check_token(token: str) -> None:
    """Refuse a token no HTTP header can carry (a line break, a space, non-ASCII).

    The message never shows the token, not even in part.
    """
    if not all("!" <= char <= "~" for char in token):
        raise GitHubError(
            "the GitHub token holds a line break, a space or a non-ASCII character; "
            "a GitHub token never does",
            hint="set the secret to the token alone, without quotes or a trailing line",
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on retrying transient failures.

    `sleep` and `clock` are injectable so that tests can check the waits without
    spending them.
    """

    attempts: int = 4
    total_seconds: float = 60.0
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt`: doubling, capped."""
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


class GitHubClient:
    """One repository on github.com or GitHub Enterprise Server, through PyGithub:
    the connection, the retry loop and the helpers every resource shares."""

    def __init__(
        self,
        token: str,
        repository: str,
        api_url: str | None = None,
        *,
        login: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: int = 30,
        seconds_between_writes: float | None = 1.0,
    ) -> None:
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise GitHubError(
                f"Repository must be given as owner/name, got {redact(repository)!r}.",
                hint="On a runner, GITHUB_REPOSITORY has this form.",
            )
        register_secret(token)
        check_token(token)
        self.api_url = checked_api_url(api_url or DEFAULT_API_URL)
        from github import Auth, Github

        self.repository = repository
        self._retry = retry or RetryPolicy()
        self._login = login
        # PyGithub's own urllib3 retries are off (retry=None): this class retries,
        # because only it can re-check whether a failed create took effect.
        self._gh: Github = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            per_page=100,
            retry=None,
            timeout=timeout,
            user_agent="mlops-ci",
            seconds_between_requests=None,
            seconds_between_writes=seconds_between_writes,
        )
        self._repo_obj: Repository | None = None
        owner, name = repository.split("/")
        self._path = f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(name)}"

    def __repr__(self) -> str:
        return f"GitHubRepo({self.repository!r}, api_url={self.api_url!r})"

    @classmethod
    def for_run(cls, context: RunContext, **options: Any) -> Self:
        """The repository this run belongs to, with its token."""
        token = context.token_value()
        if not token:
            raise GitHubError(
                "no GitHub token to publish with",
                hint="set GITHUB_TOKEN (the action passes the job token), or publish locally",
            )
        if not context.repository:
            raise GitHubError("GITHUB_REPOSITORY is not set", hint="run on a runner, or set it")
        return cls(token, context.repository, context.api_url or None, **options)

    # --- the retry loop and error messages -------------------------------------------

    def _call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        recheck: Callable[[], T | None] | None = None,
    ) -> T:
        """Run `fn`, retrying transient failures within the policy's bounds.

        A non-idempotent call is repeated after a 5xx or a dropped connection only
        when `recheck` (which looks for the object the call creates) finds nothing.
        """
        policy = self._retry
        start = policy.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
            uncertain = failure.kind in ("server", "dropped")
            if failure.kind != "rate_limit" and not uncertain:
                raise self._error(operation, failure) from None
            if uncertain and not idempotent and recheck is None:
                raise self._error(operation, failure, unsafe=True) from None
            if uncertain and recheck is not None:
                found = recheck()
                if found is not None:
                    log.info("GitHub %s: the first attempt had succeeded", operation)
                    return found
            wait = failure.wait if failure.wait is not None else policy.backoff(attempt)
            elapsed = policy.clock() - start
            if attempt >= policy.attempts or elapsed + wait > policy.total_seconds:
                raise self._error(
                    operation, failure, attempts=attempt, elapsed=elapsed, wait=wait
                ) from None
            log.warning(
                "%s",
                redact(
                    f"GitHub: {PERMISSIONS[operation][0]} failed ({failure.describe()}); "
                    f"retrying in {wait:.1f}s (attempt {attempt + 1} of {policy.attempts})"
                ),
            )
            policy.sleep(wait)

    def _error(
        self,
        operation: str,
        failure: Failure,
        *,
        attempts: int | None = None,
        elapsed: float = 0.0,
        wait: float = 0.0,
        unsafe: bool = False,
    ) -> GitHubError:
        what = PERMISSIONS[operation][0]
        refused = self._refusal(operation, failure)
        if refused is not None:
            message, hint = refused
        elif failure.kind == "rate_limit" and attempts is not None and wait > 0:
            message = (
                f"GitHub rate-limited the request to {what} and asked to wait {wait:.0f}s, "
                f"beyond the retry budget ({attempts} attempts, "
                f"{self._retry.total_seconds:.0f}s)."
            )
            hint = "Re-run the job later; re-running is safe."
        elif unsafe:
            message = (
                f"GitHub failed to {what} ({failure.describe()}); it was not retried "
                "because the request may have taken effect and repeating it could "
                "duplicate it."
            )
            hint = "Check the repository, then re-run the job if needed."
        elif attempts is not None:
            message = (
                f"GitHub kept failing to {what}: {attempts} attempts in {elapsed:.0f}s, "
                f"last {failure.describe()}."
            )
            hint = "GitHub may be degraded (https://www.githubstatus.com); re-running is safe."
        elif failure.kind == "invalid":
            message = f"GitHub rejected the request to {what}: {failure.describe()}."
            hint = None
        else:
            message = f"GitHub failed to {what}: {failure.describe()}."
            hint = None
        return GitHubError(redact(message), redact(hint) if hint else None)

    def _refusal(self, operation: str, failure: Failure) -> tuple[str, str] | None:
        """The message and hint for a refusal the user must fix (token, permission,
        name); None for the other failures."""
        what, permission = PERMISSIONS[operation]
        repo = self.repository
        if failure.kind == "permission":
            message = (
                f"GitHub refused to {what} in {repo}: the token lacks permission "
                f"({failure.describe()})."
            )
            hint = (
                f"Grant the job `permissions: {permission}` in the workflow "
                "(or use a token that has it)."
            )
        elif failure.kind == "auth":
            message = f"GitHub rejected the token while trying to {what} ({failure.describe()})."
            hint = "Pass a valid token (on a runner: GITHUB_TOKEN)."
        elif failure.kind == "not_found":
            message = (
                f"GitHub answered 404 while trying to {what}: {repo} (or the object) was "
                f"not found at {self.api_url}, or the token cannot see it."
            )
            hint = (
                "Check the repository name and GITHUB_API_URL, and that the token has "
                "`permissions: contents: read` on it."
            )
        else:
            return None
        return message, hint

    def _repo(self) -> Repository:
        if self._repo_obj is None:
            self._repo_obj = self._call(
                "read", lambda: self._gh.get_repo(self.repository), idempotent=True
            )
        return self._repo_obj

    def _post_json(self, operation: str, url: str, body: Mapping[str, Any], **kw: Any) -> Any:
        def send() -> Any:
            return self._gh.requester.requestJsonAndCheck("POST", url, input=dict(body))[1]

        return self._call(operation, send, **kw)

    @property
    def login(self) -> str:
        """The token's own login; the job token (which cannot read /user) is the bot."""
        if self._login is None:
            from github.GithubException import GithubException

            def fetch() -> str:
                try:
                    return str(self._gh.get_user().login)
                except GithubException as exc:
                    failure = classify(exc)
                    if failure is not None and failure.kind in ("permission", "not_found"):
                        return ACTIONS_BOT_LOGIN
                    raise

            self._login = self._call("read", fetch, idempotent=True)
        return self._login

    # --- shared by several resources ----------------------------------------------

    def _issue(self, number: int, operation: str = "comment") -> Issue:
        repo = self._repo()
        return self._call(operation, lambda: repo.get_issue(number), idempotent=True)

    @staticmethod
    def _delete_quietly(delete: Callable[[], object]) -> None:
        """DELETE is idempotent: a 404 on a retry means the first one worked."""
        from github.GithubException import GithubException

        try:
            delete()
        except GithubException as exc:
            if exc.status != 404:
                raise
