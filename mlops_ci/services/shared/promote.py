"""Promote a version to a stage, or roll a stage back: policy first, then one tag.

The order never changes: the version's commit must be reproducible from the DVC remote
(`services.verify`) → gather facts (registry state, the version's gates on its own
metrics, reachability from the default branch) → `core.promotion` decides → write the
stage tag (and push it, one tag per push) → on GitHub, record a Deployment to the
stage's environment and add the stage to the release notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_ci.context import RunContext
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


def _on_default_branch(reg: Registry, commit: str, context: RunContext) -> tuple[bool, str]:
    branch = reg.config.default_branch or context.default_branch or reg.git.default_branch()
    try:
        ref = reg.git.branch_ref(branch)
    except GitError:
        return False, branch
    return reg.git.is_ancestor(commit, ref), branch


def gather_facts(
    reg: Registry, model: str, commit: str | None, context: RunContext
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
            on_branch, branch = _on_default_branch(reg, commit, context)
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
    context: RunContext | None = None,
) -> TagOutcome:
    """Assign ``stage`` to ``version`` (default: the latest) after the policy allows it.

    The version's commit must first be reproducible from the DVC remote. ``context`` is
    the run's (the default branch it names; its token records the stage on GitHub);
    without one, a local run: nothing is recorded on GitHub.
    """
    context = RunContext() if context is None else context
    reg = open_registry(root, fetch=push)
    artifact = reg.artifact(model)
    target = version or (artifact.latest if artifact else None)
    commit = _reproducible_commit(reg, model, target, stage)
    facts, gates = gather_facts(reg, model, commit, context)
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
    if commit is not None and not plan.noop:
        extra["proof"] = _prove(reg, plan, commit, context)
    if gates is not None:
        extra["gates"] = gates.results
    if plan.noop:
        holder = artifact.holder(stage) if artifact else None
        tag = holder.event.tag if holder else plan.tag
        created, pushed = False, _push_again(reg, tag, push=push)
    else:
        tag = plan.tag
        created, pushed = write_tag(reg, tag, plan.commit, plan.message(), push=push)
    outcome = TagOutcome(
        model,
        "promote",
        tag,
        plan.commit,
        plan.version,
        stage,
        created=created,
        pushed=pushed,
        extra=extra,
    )
    outcome.extra["github"] = _record_on_github(reg, outcome, context)
    return outcome


def _prove(
    reg: Registry, plan: PromotionPlan, commit: str, context: RunContext
) -> dict[str, Any] | None:
    """Serve the version and prove it (`services.shared.serve_proof`); a refusal is
    recorded as a failed Deployment (with the figures) when GitHub can be told."""
    from mlops_ci.services.shared import serve_proof

    if not serve_proof.wanted(reg, plan.model):
        return None
    try:
        proof = serve_proof.prove(reg, plan.model, plan.version or "", commit)
    except serve_proof.CannotServe as exc:
        if reg.config.deploy.prove == "required":
            raise PolicyRefused(
                f"promotion of {plan.model}@{plan.version} to {plan.stage!r} refused: "
                f"deploy.prove is required and the version cannot be served: {exc}"
            ) from None
        return {"skipped": str(exc)}
    if proof.refusals:
        if context.token is not None and context.repository:
            environment = reg.model_config(plan.model).environment_for(plan.stage)
            serve_proof.record_refusal(context, proof, commit, plan.stage, environment)
        raise PolicyRefused(
            f"promotion of {plan.model}@{plan.version} to {plan.stage!r} refused: "
            + "; ".join(proof.refusals)
            + f" ({proof.figures()})",
            hint="the served model must answer its release's sample exactly, in time; "
            "see docs/serving.md",
        )
    return proof.as_dict()


def _reproducible_commit(reg: Registry, model: str, version: str | None, stage: str) -> str | None:
    """The registered commit of ``version`` (None when it is not registered), once it is
    known to be reproducible from the DVC remote (refused otherwise)."""
    from mlops_ci.services.shared.release import ensure_reproducible

    artifact = reg.artifact(model)
    state = artifact.versions.get(version) if artifact and version else None
    if state is None or not state.registered:
        return None
    registration = state.registration
    ensure_reproducible(
        reg.root,
        registration.tag if registration is not None else state.commit,
        f"promotion of {model}@{version} to {stage!r} refused",
    )
    return state.commit


def _push_again(reg: Registry, tag: str, *, push: bool) -> bool:
    """Push a tag that already exists (a re-run): True when pushed."""
    if push:
        reg.git.push_tag(tag)
    return push


def rollback(
    root: Path,
    model: str,
    stage: str,
    *,
    to_version: str | None = None,
    push: bool = False,
    context: RunContext | None = None,
) -> TagOutcome:
    """Re-assign the previous holder of ``stage`` (or ``to_version``) with a new tag.

    ``context`` as for `promote`: without one, nothing is recorded on GitHub.
    """
    context = RunContext() if context is None else context
    reg = open_registry(root, fetch=push)
    artifact = reg.artifact(model)
    holder = artifact.holder(stage) if artifact is not None else None
    if to_version is not None and holder is not None and holder.version == to_version:
        # Already rolled back (a re-run after a failure on GitHub, say): nothing to tag;
        # make sure the holder's tag is pushed and GitHub shows it.
        event = holder.event
        outcome = TagOutcome(
            model,
            "rollback",
            event.tag,
            event.commit,
            to_version,
            stage,
            pushed=_push_again(reg, event.tag, push=push),
            extra={"previous": to_version, "noop": True},
        )
    else:
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
            model, "rollback", plan.tag, plan.commit, plan.version, stage, created=created
        )
        outcome.pushed = pushed
        outcome.extra["previous"] = plan.previous
    outcome.extra["github"] = _record_on_github(reg, outcome, context)
    return outcome


def _record_on_github(
    reg: Registry, outcome: TagOutcome, context: RunContext
) -> dict[str, Any] | None:
    """A Deployment of the version to the stage's environment, and the release notes.

    Only with a token and a repository (a runner, or a person who exported both).
    """
    if context.token is None or not context.repository:
        return None
    from mlops_ci.services.shared.release import record_stage_on_github

    environment = reg.model_config(outcome.model).environment_for(outcome.stage or "")
    return record_stage_on_github(reg, context, outcome, environment)
