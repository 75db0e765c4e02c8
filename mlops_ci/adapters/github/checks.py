"""Check runs and commit statuses: the verdict shown next to a commit."""

from __future__ import annotations

from typing import Any, Literal

from mlops_ci.report.budget import CHECK_RUN_FIELD_LIMIT, fit

from .client import STATUS_DESCRIPTION_LIMIT, GitHubClient
from .results import CheckRunResult


class ChecksMixin(GitHubClient):
    """Check runs (`checks: write`) and commit statuses (`statuses: write`)."""

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
