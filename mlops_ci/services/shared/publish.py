"""Where a report goes, and posting it to GitHub: the sticky comment and the check run.

`report` posts directly when its token may write; `post` posts a fork's bundle from a
trusted `workflow_run`; a sweep's leaderboard chooses its target the same way. Keeping
the one decision and the one poster here means the three cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from mlops_ci.config import Config
from mlops_ci.context import RunContext
from mlops_ci.core.markers import comment_marker
from mlops_ci.errors import GitHubError
from mlops_ci.report.render import ReportDocument, summary_line
from mlops_ci.services.shared.job import Progress

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo

Publish = Literal["auto", "github", "local", "artifact", "none"]
#: The check run `report` publishes with the pull request's own token (same repository).
CHECK_RUN_NAME = "mlops-ci report"
#: The check run `post` publishes for a fork's pull request, from the trusted base
#: repository. Its own name, so a branch rule can require the verdict that only trusted
#: code computed (see docs/report.md, "Which check to require").
FORK_CHECK_RUN_NAME = "mlops-ci report (fork)"


def choose_publish(requested: Publish | str, ctx: RunContext) -> str:
    """`auto`: artifact for a fork PR, github on a runner with a token, else local."""
    if requested != "auto":
        return requested
    if ctx.is_fork and ctx.is_pull_request:
        return "artifact"
    if ctx.on_runner and (ctx.token is not None or ctx.publishes_later):
        return "github"
    return "local"


def report_marker(workflow: str, config: Config) -> str:
    """The marker of the PR report's sticky comment for this workflow."""
    return comment_marker(workflow or "mlops-ci", config.report.marker)


def publish_to_github(
    document: ReportDocument,
    markdown: str,
    ctx: RunContext,
    config: Config,
    progress: Progress,
    *,
    workflow: str | None = None,
    head_sha: str | None = None,
    gh: GitHubRepo | None = None,
    check_name: str = CHECK_RUN_NAME,
) -> str | None:
    """Sticky comment (when there is a PR) and a check run; returns the comment URL."""
    from mlops_ci.adapters.github import GitHubRepo

    gh = gh or GitHubRepo.for_run(ctx)
    workflow_name = workflow if workflow is not None else (ctx.workflow or "mlops-ci")
    number = document.pr_number or ctx.pr_number
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    url = None
    if number:
        result = gh.upsert_comment(
            number,
            markdown,
            workflow=workflow_name,
            kind=config.report.marker,
            mode=config.report.comment,
            full_report_url=summary_url,
        )
        url = result.url if result is not None else None
    sha = head_sha or ctx.head_sha or document.head.sha
    if config.report.check_run and sha:
        conclusion = {"fail": "failure", "pass": "success"}.get(document.verdict, "neutral")
        try:
            gh.publish_check_run(
                check_name,
                sha,
                conclusion,
                title=summary_line(document),
                summary=markdown,
                details_url=ctx.run_url or None,
                full_report_url=summary_url,
            )
        except GitHubError as exc:
            # The comment is out; a missing `checks: write` should not hide it behind exit 1.
            progress.warning(f"the check run was not published: {exc.message}", exc.hint)
    return url
