"""Promote a version to a stage, or roll a stage back: policy first, then one tag.

The order never changes: the version's commit must be reproducible from the DVC remote
(`services.verify`) → gather facts (registry state, the version's gates on its own
metrics, reachability from the default branch) → `core.promotion` decides → write the
stage tag (and push it, one tag per push) → on GitHub, record a Deployment to the
stage's environment and add the stage to the release notes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_ci.core.promotion import PromotionFacts, PromotionPlan, plan_promotion, plan_rollback
from mlops_ci.core.tags import next_counter
from mlops_ci.errors import GitError, PolicyRefused
from mlops_ci.services.shared.registry import (
    GateCheck,
    Registry,
    TagOutcome,
    check_gates,
    open_registry,
    read_metrics_at,
    write_tag,
)


def _refuse(plan: PromotionPlan) -> PolicyRefused:
    what = "rollback" if plan.action == "rollback" else "promotion"
    target = f"{plan.model}@{plan.version}" if plan.version else plan.model
    return PolicyRefused(
        f"{what} of {target} to {plan.stage!r} refused: " + "; ".join(plan.refusals)
    )


def _on_default_branch(reg: Registry, commit: str, env: Mapping[str, str]) -> tuple[bool, str]:
    from mlops_ci.context import RunContext

    branch = (
        reg.config.default_branch
        or RunContext.from_environ(env).default_branch
        or reg.git.default_branch()
    )
    try:
        ref = reg.git.branch_ref(branch)
    except GitError:
        return False, branch
    return reg.git.is_ancestor(commit, ref), branch


def gather_facts(
    reg: Registry, model: str, commit: str | None, env: Mapping[str, str]
) -> tuple[PromotionFacts, GateCheck | None]:
    """What the promotion policy judges, for the version at ``commit`` (None: the
    version is not registered, so only the stage and version checks apply)."""
    policy = reg.model_config(model).promotion
    gates: GateCheck | None = None
    on_branch: bool | None = None
    branch = ""
    if commit is not None:
        if policy.require_gates:
            gates = check_gates(reg, model, read_metrics_at(reg, model, commit))
        if policy.require_default_branch:
            on_branch, branch = _on_default_branch(reg, commit, env)
    facts = PromotionFacts(
        allowed_stages=reg.allowed_stages(model),
        order=policy.order,
        require_gates=policy.require_gates,
        gate_failures=gates.failures if gates else (),
        require_default_branch=policy.require_default_branch,
        on_default_branch=on_branch,
        default_branch=branch,
    )
    return facts, gates


def promote(
    root: Path,
    model: str,
    stage: str,
    *,
    version: str | None = None,
    push: bool = False,
    env: Mapping[str, str] | None = None,
) -> TagOutcome:
    """Assign ``stage`` to ``version`` (default: the latest) after the policy allows it.

    The version's commit must first be reproducible from the DVC remote.
    """
    from mlops_ci.services.shared.release import ensure_reproducible

    env = os.environ if env is None else env
    reg = open_registry(root, fetch=push)
    artifact = reg.artifact(model)
    target = version or (artifact.latest if artifact else None)
    state = artifact.versions.get(target) if artifact and target else None
    commit = state.commit if state is not None and state.registered else None
    if state is not None and commit is not None:
        registration = state.registration
        ensure_reproducible(
            root,
            registration.tag if registration is not None else commit,
            f"promotion of {model}@{target} to {stage!r} refused",
        )
    facts, gates = gather_facts(reg, model, commit, env)
    plan = plan_promotion(
        artifact,
        model,
        stage,
        version=target,
        facts=facts,
        counter=next_counter(model, reg.tag_names()),
    )
    if not plan.allowed:
        raise _refuse(plan)
    extra: dict[str, Any] = {"previous": plan.previous, "noop": plan.noop}
    if gates is not None:
        extra["gates"] = gates.results
    if plan.noop:
        holder = artifact.holder(stage) if artifact else None
        tag = holder.event.tag if holder else plan.tag
        pushed = False
        if push:
            reg.git.push_tag(tag)
            pushed = True
        outcome = TagOutcome(
            model, "promote", tag, plan.commit, plan.version, stage, pushed=pushed, extra=extra
        )
    else:
        created, pushed = write_tag(reg, plan.tag, plan.commit, plan.message(), push=push)
        outcome = TagOutcome(
            model,
            "promote",
            plan.tag,
            plan.commit,
            plan.version,
            stage,
            created=created,
            pushed=pushed,
            extra=extra,
        )
    outcome.extra["github"] = _record_on_github(reg, outcome, env)
    return outcome


def rollback(
    root: Path,
    model: str,
    stage: str,
    *,
    to_version: str | None = None,
    push: bool = False,
    env: Mapping[str, str] | None = None,
) -> TagOutcome:
    """Re-assign the previous holder of ``stage`` (or ``to_version``) with a new tag."""
    env = os.environ if env is None else env
    reg = open_registry(root, fetch=push)
    artifact = reg.artifact(model)
    holder = artifact.holder(stage) if artifact is not None else None
    if to_version is not None and holder is not None and holder.version == to_version:
        # Already rolled back (a re-run after a failure on GitHub, say): nothing to tag;
        # make sure the holder's tag is pushed and GitHub shows it.
        pushed = False
        if push:
            reg.git.push_tag(holder.event.tag)
            pushed = True
        outcome = TagOutcome(
            model,
            "rollback",
            holder.event.tag,
            holder.event.commit,
            to_version,
            stage,
            pushed=pushed,
            extra={"previous": to_version, "noop": True},
        )
        outcome.extra["github"] = _record_on_github(reg, outcome, env)
        return outcome
    plan = plan_rollback(
        artifact,
        model,
        stage,
        to_version=to_version,
        allowed_stages=reg.allowed_stages(model),
        counter=next_counter(model, reg.tag_names()),
    )
    if not plan.allowed:
        raise _refuse(plan)
    created, pushed = write_tag(reg, plan.tag, plan.commit, plan.message(), push=push)
    outcome = TagOutcome(
        model,
        "rollback",
        plan.tag,
        plan.commit,
        plan.version,
        stage,
        created=created,
        pushed=pushed,
        extra={"previous": plan.previous},
    )
    outcome.extra["github"] = _record_on_github(reg, outcome, env)
    return outcome


def _record_on_github(
    reg: Registry, outcome: TagOutcome, env: Mapping[str, str]
) -> dict[str, Any] | None:
    """A Deployment of the version to the stage's environment, and the release notes.

    Only with a token and a repository (a runner, or a person who exported both).
    """
    from mlops_ci.context import RunContext

    context = RunContext.from_environ(env)
    if context.token is None or not context.repository:
        return None
    from mlops_ci.services.shared.release import record_stage_on_github

    environment = reg.model_config(outcome.model).environment_for(outcome.stage or "")
    return record_stage_on_github(reg, context, outcome, environment)
