"""On GitHub: one issue per model (opened or reopened on drift, updated on every run,
closed with a comment when the drift clears) and the retrain dispatch, at most once
while a retrain pull request is open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.core.markers import drift_issue_marker
from mlops_ci.errors import MlopsCIError
from mlops_ci.services.monitor.request import GitHubOutcome, MonitorOutcome
from mlops_ci.services.shared.retraining import retrain_branch_prefix

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo
    from mlops_ci.config import Config
    from mlops_ci.config.models import OnDrift
    from mlops_ci.context import RunContext


def _dispatch_ref(context: RunContext, config: Config, root: Path) -> str:
    """The branch the retrain workflow runs on: the repository's default branch."""
    known = context.default_branch or config.default_branch
    if known:
        return known
    from mlops_ci.adapters.git import Git

    try:
        return Git(root).default_branch()
    except MlopsCIError:
        return "main"


def publish_github(
    outcome: MonitorOutcome, config: Config, context: RunContext, root: Path
) -> GitHubOutcome:
    """Open/update/close the model's drift issue; dispatch retraining at most once."""
    on_drift = config.monitor.on_drift
    result = GitHubOutcome()
    if not on_drift.issue and not on_drift.dispatch:
        return result
    from mlops_ci.adapters.github import GitHubRepo
    from mlops_ci.report.drift import dispatch_note

    gh = GitHubRepo.for_run(context)
    dispatched_note: str | None = None
    dispatch_ref: str | None = None
    if outcome.attention and on_drift.dispatch:
        open_heads = gh.open_pull_heads(retrain_branch_prefix(outcome.model))
        if open_heads:
            result.dispatch_skipped = f"a retrain pull request is open ({open_heads[0]})"
        else:
            dispatch_ref = _dispatch_ref(context, config, root)
            dispatched_note = dispatch_note(on_drift.dispatch, dispatch_ref)
    # The issue first, the dispatch last: a failure before the dispatch leaves nothing a
    # re-run would repeat (a dispatch cannot be looked up, so it must happen once).
    _publish_issue(gh, outcome, on_drift, result, dispatched_note)
    if dispatch_ref is not None and on_drift.dispatch:
        gh.dispatch_workflow(
            on_drift.dispatch,
            dispatch_ref,
            {"model": outcome.model, "stage": outcome.stage},
        )
        result.dispatched = True
    return result


def _publish_issue(
    gh: GitHubRepo,
    outcome: MonitorOutcome,
    on_drift: OnDrift,
    result: GitHubOutcome,
    dispatched_note: str | None,
) -> None:
    """Open or update the model's drift issue, or close it when the drift has cleared."""
    if not on_drift.issue:
        return
    from mlops_ci.report.drift import cleared_comment, render_issue

    marker = drift_issue_marker(outcome.model)
    labels = list(on_drift.labels)
    if outcome.attention:
        title, body = render_issue(outcome.findings(), dispatched_note)
        issue = gh.upsert_issue(marker=marker, title=title, body=body, labels=labels)
        result.issue_number, result.issue_url = issue.number, issue.url
        result.issue_action = issue.action
        return
    found = gh.find_issue(marker, labels)
    if found is not None and found.state == "open":
        closed = gh.close_issue(found.number, cleared_comment(outcome.findings()))
        result.issue_number, result.issue_url = closed.number, closed.url
        result.issue_action = closed.action
