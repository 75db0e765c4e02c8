"""Issues found again by a hidden marker: created, updated, reopened or closed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.report.budget import COMMENT_LIMIT, fit

from .client import GitHubClient
from .results import IssueResult

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment


class IssuesMixin(GitHubClient):
    """Issues that carry a marker, one per subject."""

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
