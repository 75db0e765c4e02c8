"""A pushed stage tag (MODEL#STAGE#N): judge it by the promotion policy, then deploy.

The tag is judged against the registry *without* it (nor earlier assigns of the same
stage to the same version, so a repeated bad tag is refused again); when the policy
allows it, a Deployment to the stage's environment is recorded and the release notes
are refreshed.
"""

from __future__ import annotations

from typing import Any

from mlops_ci.core.promotion import PromotionPlan, plan_promotion
from mlops_ci.core.registry import build_state
from mlops_ci.core.tags import Action
from mlops_ci.services.on_tag.pushed import OnTagResult, PushedTag, events_of
from mlops_ci.services.on_tag.refusal import refuse
from mlops_ci.services.shared.registry import GateCheck, TagOutcome


def promotion(pushed: PushedTag) -> OnTagResult:
    """Deploy the stage tag the policy allows; refuse (and open the issue) otherwise."""
    stage = pushed.parsed.stage or ""
    plan, gates = _judge(pushed, stage)
    details: dict[str, Any] = {
        "previous": plan.previous,
        "noop": plan.noop,
        "gates": gates.results if gates else [],
    }
    lines = [
        f"stage tag: {pushed.model} {pushed.version} assigned {stage} by {pushed.tag} at "
        f"{pushed.record.commit[:12]}; the promotion policy allows it"
    ]
    if pushed.can_post:
        lines += _deploy(pushed, stage, details)
    else:
        lines.append(pushed.local_only())
    return OnTagResult(
        pushed.tag,
        "promotion",
        model=pushed.model,
        version=pushed.version,
        stage=stage,
        reason="stage tag: the promotion policy allows it",
        lines=lines,
        details=details,
    )


def _judge(pushed: PushedTag, stage: str) -> tuple[PromotionPlan, GateCheck | None]:
    """The policy's plan for the tag; raises the refusal when the policy forbids it."""
    from mlops_ci.services.shared.promote import gather_facts
    from mlops_ci.services.shared.verify import verify

    reg, model, version = pushed.reg, pushed.model, pushed.version
    # Judged as if this version had never been given this stage: a repeat of a refused
    # tag is refused again, not waved through as "already holds the stage".
    same = {
        e.tag
        for e in events_of(reg, model)
        if e.action is Action.ASSIGN and e.stage == stage and e.version == version
    }
    judged = build_state(r for r in reg.records if r.name not in same).artifact(model)
    state = judged.versions.get(version or "") if judged else None
    registered = state is not None and state.registered
    refusals: list[str] = []
    if registered:
        check = verify(reg.root, pushed.tag)
        if not check.ok:
            refusals.append(check.summary())
    commit = pushed.record.commit if registered else None
    facts, gates = gather_facts(reg, model, commit, pushed.context)
    plan = plan_promotion(
        judged, model, stage, version=version, facts=facts, counter=pushed.parsed.counter or 0
    )
    refusals += plan.refusals
    if not refusals and commit is not None and not plan.noop:
        refusals += _prove(pushed, commit)
    if refusals:
        raise refuse(pushed, refusals)
    return plan, gates


def _prove(pushed: PushedTag, commit: str) -> list[str]:
    """The promotion proof of a stage tag pushed by hand (the promote workflow proves
    before it tags): the refusals, with the figures."""
    from mlops_ci.services.shared import serve_proof

    reg = pushed.reg
    if not serve_proof.wanted(reg, pushed.model):
        return []
    try:
        proof = serve_proof.prove(reg, pushed.model, pushed.version or "", commit)
    except serve_proof.CannotServe as exc:
        if reg.config.deploy.prove == "required":
            return [f"deploy.prove is required and the version cannot be served: {exc}"]
        return []
    return [f"{r} ({proof.figures()})" for r in proof.refusals]


def _deploy(pushed: PushedTag, stage: str, details: dict[str, Any]) -> list[str]:
    """Record the stage on GitHub (a Deployment, the release notes); the lines to print."""
    from mlops_ci.services.shared.release import record_stage_on_github

    outcome = TagOutcome(
        pushed.model, "promote", pushed.tag, pushed.record.commit, pushed.version, stage
    )
    environment = pushed.reg.model_config(pushed.model).environment_for(stage)
    github = record_stage_on_github(pushed.reg, pushed.context, outcome, environment)
    details["github"] = github
    lines = [f"deployment to environment {environment}: {github['deployment']}"]
    if github.get("release_notes"):
        lines.append(f"release notes updated: {github['release_notes']}")
    return lines
