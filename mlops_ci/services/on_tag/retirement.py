"""A pushed unassign, deregister or deprecate tag: retire the deployments it ends.

The environment's latest deployment of each version that loses a stage is marked
inactive (when it is that version's), and the release notes are refreshed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlops_ci.core.tags import Action
from mlops_ci.services.on_tag.pushed import OnTagResult, PushedTag

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo


def retirement(pushed: PushedTag) -> OnTagResult:
    """Mark inactive the deployments of every stage this tag takes away."""
    model, version, stage = pushed.model, pushed.version, pushed.parsed.stage
    what = {
        Action.UNASSIGN: f"unassign tag: {model} {version} leaves {stage}",
        Action.DEREGISTER: f"deregister tag: {model} {version} is withdrawn",
        Action.DEPRECATE: f"deprecation tag: {model} is deprecated",
    }[pushed.parsed.action]
    left = left_stages(pushed)
    lines = [what]
    if not left:
        lines.append("it held no stage before this tag: no deployment to retire")
    details: dict[str, Any] = {"stages": [s for s, _, _ in left], "deployments": []}
    if not pushed.can_post:
        lines.append(pushed.local_only())
        return _retired(pushed, lines, details)
    gh = pushed.github()
    pushed.reg.refresh()
    config = pushed.reg.model_config(model)
    for held in left:
        entry, line = _retire(pushed, gh, config.environment_for(held[0]), held)
        details["deployments"].append(entry)
        lines.append(line)
    details["release_notes"] = _refresh_notes(pushed, gh, {v: c for _, v, c in left})
    lines += [f"release notes updated: {url}" for url in details["release_notes"]]
    return _retired(pushed, lines, details)


def left_stages(pushed: PushedTag) -> list[tuple[str, str, str]]:
    """(stage, version, commit) of every stage this tag takes away."""
    before = pushed.before
    if before is None:
        return []
    action = pushed.parsed.action
    left = []
    for stage, holder in before.stages.items():
        if action is Action.UNASSIGN and (
            stage != pushed.parsed.stage or holder.version != pushed.version
        ):
            continue
        if action is Action.DEREGISTER and holder.version != pushed.version:
            continue
        left.append((stage, holder.version, holder.commit))
    return left


def _retire(
    pushed: PushedTag, gh: GitHubRepo, environment: str, held: tuple[str, str, str]
) -> tuple[dict[str, Any], str]:
    """Mark the environment's latest deployment inactive when it is that of the version
    that held the stage (``held``: stage, version, commit); the entry and line to show."""
    stage, version, commit = held
    latest = gh.latest_deployment(environment)
    entry: dict[str, Any] = {"stage": stage, "environment": environment}
    if latest is None or latest.sha != commit:
        entry["deployment"] = "none of this version"
        return entry, (
            f"{environment}: its latest deployment is not {pushed.model} {version}; left as it is"
        )
    if latest.state == "inactive":
        entry.update(deployment="already inactive", deployment_id=latest.id)
        return entry, f"{environment}: deployment {latest.id} is already inactive"
    gh.mark_deployment_inactive(
        latest.id, description=f"{pushed.model} {version} left {stage} ({pushed.tag})"
    )
    entry.update(deployment="inactive", deployment_id=latest.id)
    return entry, f"{environment}: deployment {latest.id} marked inactive"


def _refresh_notes(pushed: PushedTag, gh: GitHubRepo, versions: Mapping[str, str]) -> list[str]:
    from mlops_ci.services.shared.release import refresh_release_notes

    targets = dict(versions)
    if pushed.version and pushed.version not in targets:
        current = pushed.reg.artifact(pushed.model)
        state = current.versions.get(pushed.version) if current else None
        if state is not None and state.registered:
            targets[pushed.version] = state.commit
    urls = []
    for version, commit in targets.items():
        url = refresh_release_notes(gh, pushed.reg, pushed.model, version, commit)
        if url is not None:
            urls.append(url)
    return urls


def _retired(pushed: PushedTag, lines: list[str], details: dict[str, Any]) -> OnTagResult:
    return OnTagResult(
        pushed.tag,
        "retirement",
        model=pushed.model,
        version=pushed.version,
        stage=pushed.parsed.stage,
        reason=lines[0],
        lines=lines,
        details=details,
    )
