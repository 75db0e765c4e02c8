"""GitHub REST adapter on PyGithub: sticky PR comments, check runs, commit statuses,
releases and assets, deployments, issues, dispatches and pull requests.

Every operation is safe to re-run: it finds what an earlier run left (by a hidden
marker, a tag, a name, a head branch) and completes or updates it instead of
creating a second one. Transient failures (5xx, 429, secondary rate limits,
dropped connections) are retried with bounded backoff; a request that creates
something is repeated only after checking that the first attempt did not in
fact succeed. Every failure the user can act on becomes one `GitHubError` whose
message passes through `redact`, so the token never reaches an error, a log or
a repr.

PyGithub is imported lazily (in the constructor), so importing this module is
cheap and `mlops-ci --help` never pays for it.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mlops_ci.errors import GitHubError
from mlops_ci.report.budget import CHECK_RUN_FIELD_LIMIT, COMMENT_LIMIT, fit
from mlops_ci.secrets import redact, register_secret

if TYPE_CHECKING:
    from github import Github
    from github.GitRelease import GitRelease
    from github.GitReleaseAsset import GitReleaseAsset
    from github.Issue import Issue
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest
    from github.Repository import Repository

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

_SECONDARY_RATE_LIMIT = re.compile(
    r"secondary rate limit|please wait a few minutes|please retry your request again later",
    re.IGNORECASE,
)
_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9._/@+ -]")


def api_url_from_environ(environ: Mapping[str, str]) -> str:
    """The REST API root: `GITHUB_API_URL` (set by runners, also on GHES) or github.com."""
    return (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def comment_marker(workflow: str, kind: str) -> str:
    """The hidden marker of one sticky comment: one per workflow and report kind."""
    safe_workflow = _MARKER_UNSAFE.sub("-", workflow).strip() or "workflow"
    safe_kind = _MARKER_UNSAFE.sub("-", kind).strip() or "report"
    return f"<!-- mlops-ci:{safe_workflow}:{safe_kind} -->"


# --- results --------------------------------------------------------------------


@dataclass(frozen=True)
class CommentResult:
    id: int
    url: str
    action: Literal["created", "updated", "recreated", "unchanged"]


@dataclass(frozen=True)
class CheckRunResult:
    id: int
    url: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class AssetResult:
    id: int
    name: str
    size: int
    url: str
    action: Literal["uploaded", "reused", "replaced"]


@dataclass(frozen=True)
class ReleaseResult:
    id: int
    tag: str
    url: str
    draft: bool
    assets: tuple[AssetResult, ...] = ()


@dataclass(frozen=True)
class DeploymentResult:
    id: int
    ref: str
    sha: str
    environment: str
    url: str
    state: str | None = None


@dataclass(frozen=True)
class IssueResult:
    number: int
    url: str
    state: str
    action: Literal["created", "updated", "reopened", "closed", "unchanged"]


@dataclass(frozen=True)
class PullResult:
    number: int
    url: str
    created: bool


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
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1)))


FailureKind = Literal[
    "server", "rate_limit", "dropped", "permission", "not_found", "auth", "invalid", "other"
]


@dataclass(frozen=True)
class _Failure:
    kind: FailureKind
    status: int | None
    message: str
    wait: float | None = None
    codes: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status} {self.message}".strip()


def _classify(exc: BaseException) -> _Failure | None:
    """Turn a PyGithub/requests exception into a failure kind; None if not ours."""
    from github.GithubException import GithubException
    from requests.exceptions import RequestException

    if isinstance(exc, GithubException):
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        message = str(data.get("message") or "")
        codes = tuple(
            str(e.get("code", "")) for e in data.get("errors") or [] if isinstance(e, dict)
        )
        extra = [
            str(e.get("message"))
            for e in data.get("errors") or []
            if isinstance(e, dict) and e.get("message")
        ]
        if extra:
            message = f"{message}: {'; '.join(extra)}"
        if status >= 500:
            return _Failure("server", status, message or "server error")
        if status == 429:
            return _Failure("rate_limit", status, message, _retry_after(headers))
        if status == 403:
            if "retry-after" in headers:
                return _Failure("rate_limit", status, message, _retry_after(headers))
            if headers.get("x-ratelimit-remaining") == "0":
                return _Failure("rate_limit", status, message, _until_reset(headers))
            if _SECONDARY_RATE_LIMIT.search(message):
                return _Failure("rate_limit", status, message, 60.0)
            # "Resource not accessible by integration" (the job token) and the
            # like: the token lacks a permission.
            return _Failure("permission", status, message)
        if status == 401:
            return _Failure("auth", status, message or "Bad credentials")
        if status == 404:
            return _Failure("not_found", status, message or "Not Found")
        if status in (409, 422):
            return _Failure("invalid", status, message, codes=codes)
        return _Failure("other", status, message)
    if isinstance(exc, RequestException | ConnectionError | TimeoutError):
        return _Failure("dropped", None, f"connection failed ({type(exc).__name__})")
    return None


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


class GitHubRepo:
    """One repository on github.com or GitHub Enterprise Server, through PyGithub."""

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
        from github import Auth, Github

        self.repository = repository
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
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
    def for_run(cls, context: Any, **options: Any) -> GitHubRepo:
        """The repository this run belongs to, with its token (a `RunContext`)."""
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
                failure = _classify(exc)
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
        failure: _Failure,
        *,
        attempts: int | None = None,
        elapsed: float = 0.0,
        wait: float = 0.0,
        unsafe: bool = False,
    ) -> GitHubError:
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
                    failure = _classify(exc)
                    if failure is not None and failure.kind in ("permission", "not_found"):
                        return ACTIONS_BOT_LOGIN
                    raise

            self._login = self._call("read", fetch, idempotent=True)
        return self._login

    # --- sticky PR comment -------------------------------------------------------------

    def _issue(self, number: int, operation: str = "comment") -> Issue:
        repo = self._repo()
        return self._call(operation, lambda: repo.get_issue(number), idempotent=True)

    def _find_comment(self, issue: Issue, marker: str) -> IssueComment | None:
        login = self.login

        def scan() -> IssueComment | None:
            for comment in issue.get_comments():
                if marker in (comment.body or "") and comment.user.login == login:
                    return comment
            return None

        return self._call("comment", scan, idempotent=True)

    def upsert_comment(
        self,
        number: int,
        body: str,
        *,
        workflow: str,
        kind: str,
        mode: CommentMode = "update",
        full_report_url: str | None = None,
    ) -> CommentResult | None:
        """Create or update this workflow's sticky comment of `kind` on PR/issue `number`.

        `update` edits ours in place; `recreate` deletes it and posts anew (which
        notifies subscribers); `off` does nothing and returns None.
        """
        if mode not in COMMENT_MODES:
            raise GitHubError(f"Unknown comment mode {mode!r}; expected one of {COMMENT_MODES}.")
        if mode == "off":
            return None
        marker = comment_marker(workflow, kind)
        text = body if marker in body else f"{marker}\n{body}"
        text = fit(text, limit=COMMENT_LIMIT, full_report_url=full_report_url, marker=marker)
        issue = self._issue(number)
        existing = self._find_comment(issue, marker)

        if existing is not None and mode == "update":
            if existing.body == text:
                return CommentResult(existing.id, existing.html_url, "unchanged")
            self._call("comment", lambda: existing.edit(text), idempotent=True)
            return CommentResult(existing.id, existing.html_url, "updated")

        if existing is not None:  # recreate
            self._call("comment", lambda: self._delete_quietly(existing.delete), idempotent=True)

        created = self._call(
            "comment",
            lambda: issue.create_comment(text),
            idempotent=False,
            recheck=lambda: self._find_comment(issue, marker),
        )
        action: Literal["created", "recreated"] = "created" if existing is None else "recreated"
        return CommentResult(created.id, created.html_url, action)

    @staticmethod
    def _delete_quietly(delete: Callable[[], object]) -> None:
        """DELETE is idempotent: a 404 on a retry means the first one worked."""
        from github.GithubException import GithubException

        try:
            delete()
        except GithubException as exc:
            if exc.status != 404:
                raise

    # --- check runs and commit statuses -------------------------------------------------

    def start_check_run(
        self,
        name: str,
        head_sha: str,
        *,
        details_url: str | None = None,
        external_id: str | None = None,
        title: str | None = None,
        summary: str | None = None,
    ) -> CheckRunResult:
        """Create a check run in progress (needs `checks: write`)."""
        repo = self._repo()
        extra: dict[str, Any] = {}
        if details_url:
            extra["details_url"] = details_url
        if external_id:
            extra["external_id"] = external_id
        if title and summary:
            extra["output"] = {
                "title": title,
                "summary": fit(summary, limit=CHECK_RUN_FIELD_LIMIT),
            }
        run = self._call(
            "check",
            lambda: repo.create_check_run(
                name=name, head_sha=head_sha, status="in_progress", **extra
            ),
            # No list-check-runs call here to look for a half-created run, so a
            # 5xx is reported, not blindly repeated.
            idempotent=False,
        )
        return CheckRunResult(run.id, run.html_url or run.url, run.status, run.conclusion)

    def publish_check_run(
        self,
        name: str,
        head_sha: str,
        conclusion: str,
        *,
        title: str,
        summary: str,
        details_url: str | None = None,
        full_report_url: str | None = None,
    ) -> CheckRunResult:
        """Create a check run that is already completed, in one request.

        A failure leaves either no run or the finished one, never a run stuck in
        progress (as a create that worked followed by an update that failed would).
        A retry after a lost answer may add an identical completed run; GitHub shows
        the latest of a name, so that is harmless, unlike a missing verdict.
        """
        from datetime import UTC, datetime

        repo = self._repo()
        output: dict[str, Any] = {
            "title": title[:1000],
            "summary": fit(summary, limit=CHECK_RUN_FIELD_LIMIT, full_report_url=full_report_url),
        }
        extra: dict[str, Any] = {"details_url": details_url} if details_url else {}
        run = self._call(
            "check",
            lambda: repo.create_check_run(
                name=name,
                head_sha=head_sha,
                status="completed",
                conclusion=conclusion,
                completed_at=datetime.now(UTC),
                output=output,
                **extra,
            ),
            idempotent=True,
        )
        return CheckRunResult(run.id, run.html_url or run.url, run.status, run.conclusion)

    def complete_check_run(
        self,
        check_run_id: int,
        conclusion: str,
        *,
        title: str,
        summary: str,
        text: str | None = None,
        full_report_url: str | None = None,
    ) -> CheckRunResult:
        """Complete a check run with a conclusion and Markdown output cut to the limits."""
        from datetime import UTC, datetime

        repo = self._repo()
        run = self._call("check", lambda: repo.get_check_run(check_run_id), idempotent=True)
        output: dict[str, Any] = {
            "title": title[:1000],
            "summary": fit(summary, limit=CHECK_RUN_FIELD_LIMIT, full_report_url=full_report_url),
        }
        if text:
            output["text"] = fit(text, limit=CHECK_RUN_FIELD_LIMIT, full_report_url=full_report_url)
        self._call(
            "check",
            lambda: run.edit(
                status="completed",
                conclusion=conclusion,
                completed_at=datetime.now(UTC),
                output=output,
            ),
            idempotent=True,
        )
        return CheckRunResult(run.id, run.html_url or run.url, run.status, run.conclusion)

    def set_commit_status(
        self,
        sha: str,
        state: Literal["error", "failure", "pending", "success"],
        *,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """Set the commit status for `context` (the latest per context wins: safe to repeat)."""
        if len(description) > STATUS_DESCRIPTION_LIMIT:
            description = description[: STATUS_DESCRIPTION_LIMIT - 1] + "…"
        body: dict[str, Any] = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        self._post_json("status", f"{self._path}/statuses/{sha}", body, idempotent=True)

    # --- releases and assets ------------------------------------------------------------

    def _find_release(self, tag: str) -> GitRelease | None:
        from github.GithubException import GithubException

        repo = self._repo()

        def by_tag() -> GitRelease | None:
            try:
                return repo.get_release(tag)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise

        published = self._call("release", by_tag, idempotent=True)
        if published is not None:
            return published

        def scan() -> GitRelease | None:
            # A draft is invisible to GET /releases/tags/{tag}: list and match.
            for release in repo.get_releases():
                if release.tag_name == tag:
                    return release
            return None

        return self._call("release", scan, idempotent=True)

    def find_release(self, tag: str) -> ReleaseResult | None:
        """The release for `tag`, draft or published, or None."""
        release = self._find_release(tag)
        return None if release is None else self._release_result(release)

    def ensure_draft_release(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        target_commitish: str | None = None,
        prerelease: bool = False,
    ) -> ReleaseResult:
        """The release for `tag`: the existing one (draft or published) or a new draft."""
        return self._release_result(
            self._ensure_release(
                tag,
                name=name,
                body=body,
                target_commitish=target_commitish,
                prerelease=prerelease,
            )
        )

    def _ensure_release(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        target_commitish: str | None,
        prerelease: bool,
    ) -> GitRelease:
        existing = self._find_release(tag)
        if existing is not None:
            return existing
        repo = self._repo()
        extra: dict[str, Any] = {}
        if target_commitish:
            extra["target_commitish"] = target_commitish
        return self._call(
            "release",
            lambda: repo.create_git_release(
                tag=tag,
                name=name,
                message=fit(body, limit=RELEASE_BODY_LIMIT),
                draft=True,
                prerelease=prerelease,
                **extra,
            ),
            idempotent=False,
            recheck=lambda: self._find_release(tag),
        )

    def _get_release(self, release_id: int) -> GitRelease:
        repo = self._repo()

        def get() -> GitRelease:
            release = repo.get_release(release_id)
            release.tag_name  # noqa: B018 -- completes the lazy object inside the retry loop
            return release

        return self._call("release", get, idempotent=True)

    def _assets(self, release: GitRelease) -> list[GitReleaseAsset]:
        return self._call("release", lambda: list(release.get_assets()), idempotent=True)

    def upload_asset(self, release_id: int, path: Path, *, name: str | None = None) -> AssetResult:
        """Upload `path` to the release, once: an equal asset is reused, a different one
        with the same name is replaced."""
        return self._upload(self._get_release(release_id), Path(path), name or Path(path).name)

    def _upload(self, release: GitRelease, path: Path, name: str) -> AssetResult:
        from github.GithubException import GithubException

        size = path.stat().st_size
        digest = _sha256(path)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"

        def same(asset: GitReleaseAsset) -> bool:
            if asset.state != "uploaded" or asset.size != size:
                return False
            remote = asset.digest
            return remote is None or remote == digest

        def named() -> GitReleaseAsset | None:
            return next((a for a in self._assets(release) if a.name == name), None)

        def result(asset: GitReleaseAsset, action: Any) -> AssetResult:
            return AssetResult(asset.id, asset.name, asset.size, asset.browser_download_url, action)

        action: Literal["uploaded", "replaced"] = "uploaded"
        current = named()
        if current is not None:
            if same(current):
                return result(current, "reused")
            self._delete_asset(current)
            action = "replaced"

        def send() -> GitReleaseAsset | None:
            try:
                return release.upload_asset(
                    str(path), label=name, content_type=content_type, name=name
                )
            except GithubException as exc:
                failure = _classify(exc)
                if failure is not None and "already_exists" in failure.codes:
                    return None  # someone (an earlier attempt) got there first
                raise

        def recheck() -> GitReleaseAsset | None:
            found = named()
            if found is None:
                return None
            if same(found):
                return found
            self._delete_asset(found)  # a broken half-upload: clear it and retry
            return None

        uploaded = self._call("release", send, idempotent=False, recheck=recheck)
        if uploaded is None:
            found = named()
            if found is not None and same(found):
                return result(found, "reused")
            if found is not None:
                self._delete_asset(found)
            uploaded = self._call("release", send, idempotent=False, recheck=recheck)
            if uploaded is None:
                raise GitHubError(
                    f"GitHub keeps reporting asset {name!r} as already present on release "
                    f"{release.tag_name} in {self.repository}, but it cannot be found.",
                    hint="Delete the asset in the release page and re-run.",
                )
            action = "replaced"
        return result(uploaded, action)

    def _delete_asset(self, asset: GitReleaseAsset) -> None:
        self._call(
            "release",
            lambda: self._delete_quietly(asset.delete_asset),
            idempotent=True,
        )

    def publish_release(self, release_id: int) -> ReleaseResult:
        """Publish a draft (a no-op on a published release)."""
        release = self._get_release(release_id)
        if release.draft:
            release = self._call(
                "release",
                lambda: release.update_release(
                    name=release.name or release.tag_name,
                    message=release.body or "",
                    draft=False,
                    prerelease=release.prerelease,
                ),
                idempotent=True,
            )
        return self._release_result(release)

    def update_release_notes(self, release_id: int, body: str) -> ReleaseResult:
        """Replace the release notes (the release keeps its draft/published state)."""
        release = self._get_release(release_id)
        updated = self._call(
            "release",
            lambda: release.update_release(
                name=release.name or release.tag_name,
                message=fit(body, limit=RELEASE_BODY_LIMIT),
                draft=release.draft,
                prerelease=release.prerelease,
            ),
            idempotent=True,
        )
        return self._release_result(updated)

    def publish(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        assets: Sequence[Path] = (),
        target_commitish: str | None = None,
        prerelease: bool = False,
        draft: bool = False,
    ) -> ReleaseResult:
        """Release `tag` with `assets`, completing whatever an earlier run left.

        The order (draft, assets, notes, publish) means a run that dies half-way
        leaves a draft that the next run finds and completes.
        """
        release = self._ensure_release(
            tag, name=name, body=body, target_commitish=target_commitish, prerelease=prerelease
        )
        uploaded = tuple(self._upload(release, Path(p), Path(p).name) for p in assets)
        if (release.body or "") != fit(body, limit=RELEASE_BODY_LIMIT):
            self.update_release_notes(release.id, body)
        result = (
            self._release_result(self._get_release(release.id))
            if draft
            else self.publish_release(release.id)
        )
        return ReleaseResult(result.id, result.tag, result.url, result.draft, uploaded)

    @staticmethod
    def _release_result(release: GitRelease) -> ReleaseResult:
        return ReleaseResult(release.id, release.tag_name, release.html_url, release.draft)

    # --- deployments ----------------------------------------------------------------------

    def _deployments(self, environment: str, ref: str | None = None) -> list[dict[str, Any]]:
        query = {"environment": environment, "per_page": "100"}
        if ref is not None:
            query["ref"] = ref

        def fetch() -> list[dict[str, Any]]:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"{self._path}/deployments", parameters=query
            )
            return list(data or [])

        return self._call("deployment", fetch, idempotent=True)

    @staticmethod
    def _deployment_result(data: Mapping[str, Any], state: str | None = None) -> DeploymentResult:
        return DeploymentResult(
            id=int(data["id"]),
            ref=str(data["ref"]),
            sha=str(data["sha"]),
            environment=str(data["environment"]),
            url=str(data["url"]),
            state=state,
        )

    def create_deployment(
        self,
        ref: str,
        environment: str,
        *,
        payload: Mapping[str, Any] | None = None,
        description: str = "",
        task: str = "deploy",
    ) -> DeploymentResult:
        """Create a deployment of `ref` to `environment` (no auto-merge, no required contexts)."""
        before = {d["id"] for d in self._deployments(environment, ref)}
        body = {
            "ref": ref,
            "environment": environment,
            "task": task,
            "payload": dict(payload or {}),
            "description": description,
            "auto_merge": False,
            "required_contexts": [],
        }

        def recheck() -> Any:
            for data in self._deployments(environment, ref):
                if data["id"] not in before and data.get("payload") == body["payload"]:
                    return data
            return None

        data = self._post_json(
            "deployment", f"{self._path}/deployments", body, idempotent=False, recheck=recheck
        )
        return self._deployment_result(data)

    def set_deployment_status(
        self,
        deployment_id: int,
        state: Literal[
            "error", "failure", "inactive", "in_progress", "queued", "pending", "success"
        ],
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
        description: str = "",
    ) -> None:
        """Add a status to a deployment (the latest wins: safe to repeat)."""
        body: dict[str, Any] = {
            "state": state,
            "description": description[:STATUS_DESCRIPTION_LIMIT],
        }
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        self._post_json(
            "deployment",
            f"{self._path}/deployments/{deployment_id}/statuses",
            body,
            idempotent=True,
        )

    def latest_deployment(self, environment: str) -> DeploymentResult | None:
        """The newest deployment to `environment`, with its latest status."""
        deployments = self._deployments(environment)
        if not deployments:
            return None
        newest = deployments[0]

        def statuses() -> list[dict[str, Any]]:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET",
                f"{self._path}/deployments/{newest['id']}/statuses",
                parameters={"per_page": "1"},
            )
            return list(data or [])

        found = self._call("deployment", statuses, idempotent=True)
        return self._deployment_result(newest, found[0]["state"] if found else None)

    def mark_deployment_inactive(self, deployment_id: int, description: str = "") -> None:
        self.set_deployment_status(deployment_id, "inactive", description=description)

    # --- issues ---------------------------------------------------------------------------

    def _find_issue(self, marker: str, labels: Sequence[str]) -> Issue | None:
        repo = self._repo()

        def scan() -> Issue | None:
            closed: Issue | None = None
            # An empty `labels=` is invalid: send the filter only when there is one.
            issues = (
                repo.get_issues(state="all", labels=list(labels))
                if labels
                else repo.get_issues(state="all")
            )
            for issue in issues:
                if issue.pull_request is not None or marker not in (issue.body or ""):
                    continue
                if issue.state == "open":
                    return issue
                closed = closed or issue  # newest first: the latest closed one
            return closed

        return self._call("issue", scan, idempotent=True)

    def find_issue(self, marker: str, labels: Sequence[str] = ()) -> IssueResult | None:
        """The issue carrying `marker` (the open one, else the latest closed), if any."""
        found = self._find_issue(marker, labels)
        if found is None:
            return None
        return IssueResult(found.number, found.html_url, found.state, "unchanged")

    def upsert_issue(
        self, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> IssueResult:
        """Find the issue carrying `marker` (searching by labels, open and closed),
        update it (reopening a closed one) or create it."""
        text = body if marker in body else f"{marker}\n{body}"
        text = fit(text, limit=COMMENT_LIMIT, marker=marker)
        found = self._find_issue(marker, labels)
        if found is None:
            repo = self._repo()
            created = self._call(
                "issue",
                lambda: repo.create_issue(title=title, body=text, labels=list(labels)),
                idempotent=False,
                recheck=lambda: self._find_issue(marker, labels),
            )
            return IssueResult(created.number, created.html_url, created.state, "created")
        issue = found
        reopen = issue.state == "closed"
        if not reopen and issue.title == title and (issue.body or "") == text:
            return IssueResult(issue.number, issue.html_url, issue.state, "unchanged")
        edit: dict[str, Any] = {"title": title, "body": text}
        if reopen:
            edit["state"] = "open"
        self._call("issue", lambda: issue.edit(**edit), idempotent=True)
        return IssueResult(
            issue.number, issue.html_url, issue.state, "reopened" if reopen else "updated"
        )

    def close_issue(
        self,
        number: int,
        comment: str | None = None,
        *,
        reason: Literal["completed", "not_planned"] = "completed",
    ) -> IssueResult:
        """Close an issue with a comment; closing a closed issue is a no-op."""
        issue = self._issue(number, "issue")
        if issue.state == "closed":
            return IssueResult(issue.number, issue.html_url, issue.state, "unchanged")
        if comment:
            login = self.login

            def posted() -> IssueComment | None:
                def scan() -> IssueComment | None:
                    for existing in issue.get_comments():
                        if existing.body == comment and existing.user.login == login:
                            return existing
                    return None

                return self._call("issue", scan, idempotent=True)

            if posted() is None:
                self._call(
                    "issue",
                    lambda: issue.create_comment(comment),
                    idempotent=False,
                    recheck=posted,
                )
        self._call(
            "issue", lambda: issue.edit(state="closed", state_reason=reason), idempotent=True
        )
        return IssueResult(issue.number, issue.html_url, issue.state, "closed")

    # --- dispatch and pull requests --------------------------------------------------------

    def dispatch_workflow(
        self, workflow: str | int, ref: str, inputs: Mapping[str, Any] | None = None
    ) -> None:
        """Start a `workflow_dispatch` run of `workflow` (file name or id) on `ref`.

        Not repeated after a 5xx or a dropped connection: GitHub cannot be asked
        whether the run started, and a second dispatch would start a second run.
        """
        workflow_id = urllib.parse.quote(str(workflow), safe="")
        body: dict[str, Any] = {"ref": ref}
        if inputs:
            body["inputs"] = {str(k): v for k, v in inputs.items()}

        def send() -> None:
            self._gh.requester.requestJsonAndCheck(
                "POST", f"{self._path}/actions/workflows/{workflow_id}/dispatches", input=body
            )

        self._call("dispatch", send, idempotent=False)

    def repository_dispatch(
        self, event_type: str, client_payload: Mapping[str, Any] | None = None
    ) -> None:
        """Send a `repository_dispatch` event (not repeated on uncertain failures)."""
        body: dict[str, Any] = {"event_type": event_type}
        if client_payload:
            body["client_payload"] = dict(client_payload)

        def send() -> None:
            self._gh.requester.requestJsonAndCheck("POST", f"{self._path}/dispatches", input=body)

        self._call("repository_dispatch", send, idempotent=False)

    def open_pull_heads(self, prefix: str = "") -> list[str]:
        """Head branches of this repository's open pull requests that start with `prefix`."""
        repo = self._repo()

        def scan() -> list[str]:
            return [
                p.head.ref for p in repo.get_pulls(state="open") if p.head.ref.startswith(prefix)
            ]

        return list(self._call("read", scan, idempotent=True))

    def pull_head_sha(self, number: int) -> str | None:
        """The head commit of pull request `number`; None when there is no such PR."""
        repo = self._repo()
        try:
            pull = self._call("read", lambda: repo.get_pull(number), idempotent=True)
        except GitHubError:
            return None
        return str(pull.head.sha)

    def _open_pull(self, head: str, base: str) -> PullRequest | None:
        repo = self._repo()
        owner = self.repository.split("/")[0]

        def scan() -> PullRequest | None:
            return next(iter(repo.get_pulls(state="open", head=f"{owner}:{head}", base=base)), None)

        return self._call("pull", scan, idempotent=True)

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullResult:
        """Open a PR from the pushed branch `head`, or return the open one for it."""
        existing = self._open_pull(head, base)
        if existing is not None:
            return PullResult(existing.number, existing.html_url, created=False)
        repo = self._repo()
        from github.GithubException import GithubException

        def send() -> PullRequest | None:
            try:
                return repo.create_pull(base=base, head=head, title=title, body=body)
            except GithubException as exc:
                failure = _classify(exc)
                if failure is not None and "already exists" in failure.message:
                    return None
                raise

        created = self._call(
            "pull", send, idempotent=False, recheck=lambda: self._open_pull(head, base)
        )
        if created is None:
            again = self._open_pull(head, base)
            if again is None:
                raise GitHubError(
                    f"GitHub says a pull request from {head} already exists in "
                    f"{self.repository}, but no open one was found."
                )
            return PullResult(again.number, again.html_url, created=False)
        return PullResult(created.number, created.html_url, created=True)
