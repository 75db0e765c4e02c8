"""Workflow and repository dispatches, and pull requests."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import GitHubError

from .client import GitHubClient
from .failures import classify
from .results import PullResult

if TYPE_CHECKING:
    from github.PullRequest import PullRequest


class PullsMixin(GitHubClient):
    """Dispatch events and pull requests."""

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

    def pull_base(self, number: int) -> tuple[str, str] | None:
        """(base branch, base commit) of pull request `number`; None when there is no such PR."""
        repo = self._repo()
        try:
            pull = self._call("read", lambda: repo.get_pull(number), idempotent=True)
        except GitHubError:
            return None
        return str(pull.base.ref), str(pull.base.sha)

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
                failure = classify(exc)
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
