"""Where and why we run: the GitHub Actions variables and the event payload, read once.

Locally (no runner variables) every field is empty and `on_runner` is false, so the
services fall back to terminal output and local files. The token is a `SecretStr`:
it never shows in `repr`, logs or messages, and it is registered for redaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mlops_ci.errors import InputError
from mlops_ci.secrets import register_secret

PR_EVENTS = frozenset({"pull_request", "pull_request_target", "pull_request_review"})
TOKEN_VARIABLES = ("MLOPS_CI_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
#: Set by the action's step that runs the pull request's code without the token: the
#: directory where `report` leaves what to post for the action's next step, which holds
#: the token (`mlops-ci publish --from DIR`).
PUBLISH_DIR_VARIABLE = "MLOPS_CI_PUBLISH_DIR"


@dataclass(frozen=True)
class RunContext:
    """Everything a command needs to know about the run that invoked it."""

    on_runner: bool = False
    event_name: str = ""
    event: Mapping[str, Any] = field(default_factory=dict, repr=False)
    repository: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    workflow: str = ""
    run_id: str = ""
    run_attempt: str = ""
    actor: str = ""
    ref: str = ""
    sha: str = ""
    pr_number: int | None = None
    base_ref: str = ""
    head_ref: str = ""
    base_sha: str = ""
    head_sha: str = ""
    head_repository: str = ""
    is_fork: bool = False
    default_branch: str = ""
    workspace: str = ""
    token: SecretStr | None = field(default=None, repr=False)
    #: Where to leave the report for a later step that holds the token ("" = post now).
    publish_dir: str = ""

    @property
    def tag(self) -> str | None:
        """The tag name of a tag push, a tag `create`, or a release event."""
        if self.ref.startswith("refs/tags/"):
            return self.ref.removeprefix("refs/tags/")
        if self.event_name == "create" and self.event.get("ref_type") == "tag":
            return str(self.event.get("ref") or "") or None
        if self.event_name == "release":
            release = self.event.get("release")
            if isinstance(release, Mapping) and release.get("tag_name"):
                return str(release["tag_name"])
        return None

    @property
    def ref_name(self) -> str:
        for prefix in ("refs/heads/", "refs/tags/"):
            if self.ref.startswith(prefix):
                return self.ref.removeprefix(prefix)
        return self.ref

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def is_pull_request(self) -> bool:
        return self.pr_number is not None

    @property
    def publishes_later(self) -> bool:
        """True in the action's token-free step: a later step posts what this one wrote."""
        return bool(self.publish_dir)

    @property
    def can_write(self) -> bool:
        """Whether this run may write to the repository (a fork PR's token cannot)."""
        return self.token is not None and not self.is_fork

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token is not None else None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> RunContext:
        """Read the runner variables and the event payload named by GITHUB_EVENT_PATH."""
        on_runner = env.get("GITHUB_ACTIONS") == "true"
        event_name = env.get("GITHUB_EVENT_NAME", "")
        event = _read_event(env.get("GITHUB_EVENT_PATH", ""))
        token = _token(env)
        repository = env.get("GITHUB_REPOSITORY", "")
        if not repository:
            repo_obj = event.get("repository")
            if isinstance(repo_obj, Mapping):
                repository = str(repo_obj.get("full_name") or "")
        fields: dict[str, Any] = {
            "on_runner": on_runner,
            "event_name": event_name,
            "event": event,
            "repository": repository,
            "server_url": env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            "api_url": env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            "workflow": env.get("GITHUB_WORKFLOW", ""),
            "run_id": env.get("GITHUB_RUN_ID", ""),
            "run_attempt": env.get("GITHUB_RUN_ATTEMPT", ""),
            "actor": env.get("GITHUB_ACTOR", "") or _login(event.get("sender")),
            "ref": env.get("GITHUB_REF", "") or _event_ref(event_name, event),
            "sha": env.get("GITHUB_SHA", ""),
            "workspace": env.get("GITHUB_WORKSPACE", ""),
            "token": token,
            "publish_dir": env.get(PUBLISH_DIR_VARIABLE, "").strip(),
            "default_branch": _default_branch(event),
        }
        fields.update(_pull_request_fields(event_name, event))
        if not fields["sha"]:
            fields["sha"] = fields.get("head_sha") or str(event.get("after") or "")
        return cls(**fields)


def _token(env: Mapping[str, str]) -> SecretStr | None:
    for name in TOKEN_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            register_secret(value)
            if not all("!" <= char <= "~" for char in value):
                # Never shown, not even in part: masking it would print what follows a break.
                raise InputError(
                    f"{name}: the token holds a line break, a space or a non-ASCII "
                    "character; a GitHub token never does",
                    hint="set the secret to the token alone, without quotes or a trailing line",
                )
            return SecretStr(value)
    return None


def _read_event(path: str) -> dict[str, Any]:
    if not path:
        return {}
    event_file = Path(path)
    try:
        raw = event_file.read_bytes()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot read the event payload (GITHUB_EVENT_PATH): {exc.strerror}",
            file=path,
        ) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError: bad JSON, bad UTF-8, or an integer too long to convert.
        raise InputError(
            f"{path}: the event payload is not valid JSON ({exc})".splitlines()[0][:300],
            file=path,
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the event payload must be a JSON object", file=path)
    return data


def pull_request_problem(event_name: str, event: Mapping[str, Any]) -> str | None:
    """What a pull_request-like event lacks to be reported on (None when nothing)."""
    if event_name not in PR_EVENTS:
        return None
    pr = event.get("pull_request")
    if not isinstance(pr, Mapping):
        return "no pull_request object"
    if _int(pr.get("number") or event.get("number")) is None:
        return "no pull request number"
    for side in ("head", "base"):
        part = pr.get(side)
        if not isinstance(part, Mapping) or not part.get("sha") or not part.get("ref"):
            return f"no pull_request.{side}.sha and .ref"
    return None


def _login(user: Any) -> str:
    return str(user.get("login") or "") if isinstance(user, Mapping) else ""


def _event_ref(event_name: str, event: Mapping[str, Any]) -> str:
    ref = event.get("ref")
    if event_name == "create" and isinstance(ref, str):
        prefix = "refs/tags/" if event.get("ref_type") == "tag" else "refs/heads/"
        return prefix + ref
    if event_name == "release":
        release = event.get("release")
        if isinstance(release, Mapping) and release.get("tag_name"):
            return f"refs/tags/{release['tag_name']}"
    return ref if isinstance(ref, str) else ""


def _default_branch(event: Mapping[str, Any]) -> str:
    repo = event.get("repository")
    if isinstance(repo, Mapping):
        return str(repo.get("default_branch") or repo.get("master_branch") or "")
    return ""


def _pull_request_fields(event_name: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """PR number, refs, SHAs and fork-ness from a pull_request-like event."""
    pr: Any = None
    if event_name in PR_EVENTS or "pull_request" in event:
        pr = event.get("pull_request")
    elif event_name == "issue_comment":
        issue = event.get("issue")
        if isinstance(issue, Mapping) and issue.get("pull_request"):
            return {"pr_number": _int(issue.get("number"))}
    if not isinstance(pr, Mapping):
        return {}
    base = _mapping(pr.get("base"))
    head = _mapping(pr.get("head"))
    base_repo = _mapping(base.get("repo"))
    head_repo = _mapping(head.get("repo"))
    base_name = str(base_repo.get("full_name") or "")
    head_name = str(head_repo.get("full_name") or "")
    # Compare names, not `head.repo.fork`: a same-repository PR in a repository that is
    # itself a fork has fork=true. A deleted fork has head.repo = null: not trusted either.
    is_fork = bool(base_name) and head_name != base_name
    return {
        "pr_number": _int(pr.get("number") or event.get("number")),
        "base_ref": str(base.get("ref") or ""),
        "head_ref": str(head.get("ref") or ""),
        "base_sha": str(base.get("sha") or ""),
        "head_sha": str(head.get("sha") or ""),
        "head_repository": head_name,
        "is_fork": is_fork,
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
