"""The sticky pull request comment: one per workflow and report kind, found again
by its hidden marker and edited in place (or deleted and posted anew)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from mlops_ci.core.markers import comment_marker
from mlops_ci.errors import GitHubError
from mlops_ci.report.budget import COMMENT_LIMIT, fit

from .client import COMMENT_MODES, CommentMode, GitHubClient
from .results import CommentResult

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment


class CommentsMixin(GitHubClient):
    """Sticky comments on pull requests and issues."""

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
