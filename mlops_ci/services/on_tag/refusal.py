"""Refusing a tag that breaks the registry policy: the error, the model's issue, the undo.

A pushed tag cannot be taken back by us, and a tag that breaks the policy must not
pass quietly: the run is refused (exit 2) with the reason and how to roll back, and
one issue per model (found by a hidden marker) says the same on GitHub.
"""

from __future__ import annotations

from mlops_ci.core.markers import registry_policy_issue_marker
from mlops_ci.core.tags import Action, SemVer, format_tag, next_counter
from mlops_ci.errors import GitHubError, PolicyRefused, RefusedError
from mlops_ci.report.registry_issue import RefusedTag, policy_issue
from mlops_ci.services.on_tag.pushed import PushedTag

ISSUE_LABELS = ("mlops-ci", "registry")


def refuse(
    pushed: PushedTag, reasons: list[str], cause: RefusedError | None = None
) -> RefusedError:
    """The refusal to raise, after opening or updating the model's issue."""
    kind = "version tag" if pushed.parsed.action is Action.REGISTER else "stage tag"
    message = f"{kind} {pushed.tag} breaks the registry policy: " + "; ".join(reasons)
    if pushed.can_post:
        title, body = policy_issue(refused_tag(pushed), reasons, pushed.context.run_url)
        try:
            issue = pushed.github().upsert_issue(
                marker=registry_policy_issue_marker(pushed.model),
                title=title,
                body=body,
                labels=ISSUE_LABELS,
            )
        except GitHubError as exc:
            # The refusal is the news; a failed issue must not turn it into exit 1.
            why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            message += f" (the issue could not be opened: {why})"
        else:
            message += f" (issue #{issue.number} {issue.action}: {issue.url})"
    elif not pushed.dry_run:
        message += " (no GitHub token and repository: no issue opened)"
    hint = undo_hint(pushed)
    error: RefusedError = (
        type(cause)(message, hint=hint) if cause is not None else PolicyRefused(message, hint)
    )
    return error


def refused_tag(pushed: PushedTag) -> RefusedTag:
    """The refused tag as the policy issue describes it."""
    record = pushed.record
    is_version_tag = pushed.parsed.action is Action.REGISTER
    return RefusedTag(
        model=pushed.model,
        tag=pushed.tag,
        commit=record.commit,
        tagger=f"{record.tagger_name} <{record.tagger_email}>".strip(),
        time=record.time.isoformat() if record.time else "",
        version=pushed.version,
        is_version_tag=is_version_tag,
        stage=pushed.parsed.stage,
        unassign_command="" if is_version_tag else unassign_command(pushed),
    )


def undo_hint(pushed: PushedTag) -> str:
    """How to undo the refused tag, in one line."""
    model = pushed.model
    if pushed.parsed.action is Action.REGISTER:
        return (
            f"withdraw the version: `gto deprecate {model} {pushed.version} --push` "
            f"(tag {pushed.tag}!), or fix what is missing and re-run this workflow"
        )
    stage = pushed.parsed.stage
    return (
        f"roll back: `mlops-ci rollback {model} --stage {stage} --push`, or push an "
        f"unassign tag: {unassign_command(pushed)}"
    )


def unassign_command(pushed: PushedTag) -> str:
    """How to push the unassign tag that cancels this stage tag."""
    model = pushed.model
    stage = pushed.parsed.stage or ""
    if pushed.version and SemVer.is_valid(pushed.version):
        return f"`gto deprecate {model} {pushed.version} {stage} --push`"
    # No registered version at the commit: gto cannot name it; git can.
    name = format_tag(
        model,
        Action.UNASSIGN,
        stage=stage,
        counter=next_counter(model, pushed.reg.tag_names()),
    )
    return (
        f"`git tag -a '{name}' -m 'Unassign {stage}' {pushed.record.commit[:12]} && "
        f"git push origin 'refs/tags/{name}'`"
    )
