"""Promotion and rollback planning: policy checks over registry state, before any write.

Pure: the service gathers the facts (registry state, gate results, reachability) and
this module decides what tag to write or why not.

Promotion policy, in the order it is checked (every failed check is reported):

1. the artifact exists, is not deprecated, and the version is registered and active;
2. the stage is one of the model's allowed stages;
3. with ``order: strict``, the version was assigned the previous stage in the list and
   no later unassign cancelled that (it need not still hold it: a newer version may
   have moved into the previous stage since);
4. with ``require_gates``, the version's own metrics pass the model's gates;
5. with ``require_default_branch``, the version's commit is reachable from the default
   branch.

A version that already holds the stage is not promoted again (re-runs are no-ops).
Rollback re-assigns the previous holder (who would hold the stage if the current
holder were unassigned) or ``--to``; it checks that the version is active and the
stage allowed, and skips gates and order: it returns to a state the registry had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mlops_ci.core.registry import ArtifactState, previous_holder
from mlops_ci.core.tags import Action, format_tag


@dataclass(frozen=True)
class PromotionFacts:
    """What the service found out, for the policy to judge."""

    allowed_stages: Sequence[str] | None
    order: str = "any"  # "any" | "strict"
    require_gates: bool = True
    gate_failures: Sequence[str] = ()
    require_default_branch: bool = True
    on_default_branch: bool | None = None  # None: not checked
    default_branch: str = ""


@dataclass
class PromotionPlan:
    """The tag to write (or nothing, when the version already holds the stage)."""

    model: str
    stage: str
    version: str
    commit: str
    tag: str
    counter: int
    action: str = "promote"  # "promote" | "rollback"
    previous: str | None = None  # version that held the stage before
    noop: bool = False
    refusals: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals

    def message(self) -> str:
        if self.action == "rollback":
            return (
                f"Rolling back stage {self.stage} of artifact {self.model} to version "
                f"{self.version} (was {self.previous})"
            )
        return f"Assigning stage {self.stage} to artifact {self.model} version {self.version}"


def resolve_version(artifact: ArtifactState | None, version: str | None) -> str | None:
    """The version asked for, or the latest when none was."""
    if version is not None:
        return version
    return artifact.latest if artifact is not None else None


def _version_refusals(artifact: ArtifactState | None, model: str, version: str | None) -> list[str]:
    if artifact is None:
        return [f"model {model!r} has no registered versions"]
    if artifact.deprecated:
        return [f"model {model!r} is deprecated"]
    if version is None:
        return [f"model {model!r} has no active version to promote; pass --version"]
    state = artifact.versions.get(version)
    if state is None or not state.registered:
        return [f"{model}@{version} is not registered"]
    if not state.active:
        return [f"{model}@{version} was deregistered"]
    return []


def _stage_refusals(stage: str, allowed: Sequence[str] | None) -> list[str]:
    if allowed is not None and stage not in allowed:
        return [f"stage {stage!r} is not allowed (allowed: {', '.join(allowed)})"]
    return []


def held_stage(artifact: ArtifactState, version: str, stage: str) -> bool:
    """True when ``version`` was assigned ``stage`` and no later unassign cancelled it."""
    held = False
    for event in artifact.events:
        if event.stage != stage or event.version != version:
            continue
        if event.action is Action.ASSIGN:
            held = True
        elif event.action is Action.UNASSIGN:
            held = False
    return held


def plan_promotion(
    artifact: ArtifactState | None,
    model: str,
    stage: str,
    *,
    version: str | None,
    facts: PromotionFacts,
    counter: int,
) -> PromotionPlan:
    """Check the policy and name the stage tag to write."""
    version = resolve_version(artifact, version)
    refusals = _version_refusals(artifact, model, version)
    refusals += _stage_refusals(stage, facts.allowed_stages)
    commit = ""
    previous = None
    noop = False
    if artifact is not None and version is not None and not refusals:
        commit = artifact.versions[version].commit
        current = artifact.holder(stage)
        previous = current.version if current is not None else None
        noop = current is not None and current.version == version
        if facts.order == "strict" and facts.allowed_stages and not noop:
            index = list(facts.allowed_stages).index(stage)
            if index > 0:
                before = facts.allowed_stages[index - 1]
                if not held_stage(artifact, version, before):
                    refusals.append(
                        f"promotion order is strict: {model}@{version} must be in stage "
                        f"{before!r} before {stage!r}"
                    )
        if facts.require_gates and facts.gate_failures:
            refusals.append("gates failed: " + "; ".join(facts.gate_failures))
        if facts.require_default_branch and facts.on_default_branch is False:
            refusals.append(
                f"commit {commit[:12]} of {model}@{version} is not on the default branch "
                f"{facts.default_branch!r}"
            )
    tag = format_tag(model, Action.ASSIGN, stage=stage, counter=counter) if not refusals else ""
    return PromotionPlan(
        model=model,
        stage=stage,
        version=version or "",
        commit=commit,
        tag=tag,
        counter=counter,
        previous=previous,
        noop=noop and not refusals,
        refusals=refusals,
    )


def plan_rollback(
    artifact: ArtifactState | None,
    model: str,
    stage: str,
    *,
    to_version: str | None,
    allowed_stages: Sequence[str] | None,
    counter: int,
) -> PromotionPlan:
    """Re-assign the previous holder of ``stage`` (or ``to_version``) with a new tag."""
    refusals = _stage_refusals(stage, allowed_stages)
    current = artifact.holder(stage) if artifact is not None else None
    version = to_version
    if artifact is None:
        refusals.append(f"model {model!r} has no registered versions")
    elif current is None:
        refusals.append(f"nobody holds stage {stage!r} of {model!r}: nothing to roll back")
    elif version is None:
        before = previous_holder(artifact, stage)
        if before is None:
            refusals.append(
                f"no earlier active version of {model!r} held stage {stage!r}; pass --to"
            )
        else:
            version = before.version
    if artifact is not None and version is not None and not refusals:
        state = artifact.versions.get(version)
        if state is None or not state.registered:
            refusals.append(f"{model}@{version} is not registered")
        elif not state.active:
            refusals.append(f"{model}@{version} was deregistered")
        elif current is not None and current.version == version:
            refusals.append(f"{model}@{version} already holds stage {stage!r}")
    commit = ""
    if artifact is not None and version is not None and not refusals:
        commit = artifact.versions[version].commit
    tag = format_tag(model, Action.ASSIGN, stage=stage, counter=counter) if not refusals else ""
    return PromotionPlan(
        model=model,
        stage=stage,
        version=version or "",
        commit=commit,
        tag=tag,
        counter=counter,
        action="rollback",
        previous=current.version if current is not None else None,
        refusals=refusals,
    )
