"""Registry rules on plain data: no repository needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mlops_ci.core.promotion import PromotionFacts, plan_promotion, plan_rollback
from mlops_ci.core.registry import GitTagRecord, RegistryState, build_state, previous_holder

T0 = datetime(2026, 1, 1, tzinfo=UTC)
C1, C2, C3, C4 = ("1" * 40, "2" * 40, "3" * 40, "4" * 40)


def tag(name: str, commit: str, minute: int, *, kind: str = "tag") -> GitTagRecord:
    return GitTagRecord(
        name=name,
        object_type=kind,
        commit=commit,
        tagger_name="T",
        tagger_email="t@example.com",
        time=T0 + timedelta(minutes=minute) if kind == "tag" else None,
        message=name,
    )


def state(*tags: GitTagRecord) -> RegistryState:
    return build_state(tags)


def holders(s: RegistryState, name: str = "m") -> dict[str, str]:
    artifact = s.artifact(name)
    assert artifact is not None
    return {stage: a.version for stage, a in artifact.stages.items()}


def test_latest_is_highest_semver_and_prerelease_counts() -> None:
    s = state(tag("m@v1.10.0", C1, 1), tag("m@v1.9.0", C2, 2), tag("m@v2.0.0-rc.1", C3, 3))
    assert s.artifacts["m"].latest == "v2.0.0-rc.1"
    s = state(tag("m@v2.0.0-rc.1", C1, 1), tag("m@v2.0.0", C2, 2), tag("m@v2.0.0-rc.2", C3, 3))
    assert s.artifacts["m"].latest == "v2.0.0"


def test_deregistered_versions_and_deprecated_artifacts_have_no_latest() -> None:
    s = state(tag("m@v1.0.0", C1, 1), tag("m@v2.0.0", C2, 2), tag("m@v2.0.0!", C2, 3))
    assert s.artifacts["m"].latest == "v1.0.0"
    assert not s.artifacts["m"].versions["v2.0.0"].active
    s = state(tag("m@v1.0.0", C1, 1), tag("m@deprecated", C1, 2))
    assert s.artifacts["m"].deprecated
    assert s.artifacts["m"].latest is None
    # A later registration revives a deprecated artifact (as in GTO).
    s = state(tag("m@v1.0.0", C1, 1), tag("m@deprecated", C1, 2), tag("m@v1.1.0", C2, 3))
    assert not s.artifacts["m"].deprecated
    assert s.artifacts["m"].latest == "v1.1.0"


def test_lightweight_and_foreign_tags_are_ignored() -> None:
    s = state(
        tag("m@v1.0.0", C1, 1),
        tag("m@v9.0.0", C2, 2, kind="commit"),
        tag("release-1", C2, 3),
        tag("m@created", C2, 4),
    )
    assert list(s.artifacts) == ["m"]
    assert list(s.artifacts["m"].versions) == ["v1.0.0"]


def test_stage_holder_is_most_recent_assign_of_an_active_version() -> None:
    base = [tag("m@v1.0.0", C1, 1), tag("m@v2.0.0", C2, 2), tag("m@v3.0.0", C3, 3)]
    s = state(*base, tag("m#prod#1", C1, 10), tag("m#prod#2", C2, 11))
    assert holders(s) == {"prod": "v2.0.0"}
    # Re-assigning an older version later gives it the stage back.
    s = state(*base, tag("m#prod#1", C1, 10), tag("m#prod#2", C2, 11), tag("m#prod#3", C1, 12))
    assert holders(s) == {"prod": "v1.0.0"}
    # Deregistering the holder hands the stage to the previous active holder.
    s = state(*base, tag("m#prod#1", C1, 10), tag("m#prod#2", C2, 11), tag("m@v2.0.0!", C2, 12))
    assert holders(s) == {"prod": "v1.0.0"}
    # Unassigning the holder does the same; unassigning everyone leaves the stage empty.
    s = state(*base, tag("m#prod#1", C1, 10), tag("m#prod#2", C2, 11), tag("m#prod!#3", C2, 12))
    assert holders(s) == {"prod": "v1.0.0"}
    s = state(*base, tag("m#prod#1", C1, 10), tag("m#prod!#2", C1, 11))
    assert holders(s) == {}
    # Stages are independent.
    s = state(*base, tag("m#staging#1", C3, 10), tag("m#prod#2", C2, 11))
    assert holders(s) == {"staging": "v3.0.0", "prod": "v2.0.0"}


def test_same_second_ties_are_broken_by_counter() -> None:
    base = [tag("m@v1.0.0", C1, 1), tag("m@v2.0.0", C2, 2)]
    s = state(*base, tag("m#prod#9", C1, 10), tag("m#prod#10", C2, 10))
    assert holders(s) == {"prod": "v2.0.0"}  # by counter, not by name ("m#prod#9" > "m#prod#10")
    s = state(*base, tag("m#prod#10", C1, 10), tag("m#prod#9", C2, 10))
    assert holders(s) == {"prod": "v1.0.0"}


def test_assign_at_unregistered_commit_names_the_commit() -> None:
    s = state(tag("m@v1.0.0", C1, 1), tag("m#prod#1", C4, 2))
    assert holders(s) == {"prod": C4}
    assert s.artifacts["m"].latest == "v1.0.0"


def test_monorepo_names() -> None:
    s = state(tag("dir/sub=m@v1.0.0", C1, 1), tag("dir/sub=m#prod#1", C1, 2))
    assert holders(s, "dir/sub:m") == {"prod": "v1.0.0"}


def test_history_is_ordered_and_counters_tracked() -> None:
    s = state(tag("m#prod#2", C1, 3), tag("m@v1.0.0", C1, 1), tag("m#staging#1", C1, 2))
    artifact = s.artifacts["m"]
    assert [e.tag for e in artifact.events] == ["m@v1.0.0", "m#staging#1", "m#prod#2"]
    assert artifact.max_counter() == 2
    assert artifact.events[-1].as_dict()["version"] == "v1.0.0"


FACTS = PromotionFacts(allowed_stages=["staging", "production"])


def test_promotion_policy() -> None:
    s = state(tag("m@v1.0.0", C1, 1), tag("m@v2.0.0", C2, 2), tag("m@v2.0.0!", C2, 3))
    artifact = s.artifacts["m"]
    plan = plan_promotion(artifact, "m", "staging", version=None, facts=FACTS, counter=4)
    assert plan.allowed
    assert (plan.version, plan.tag, plan.commit) == ("v1.0.0", "m#staging#4", C1)
    refused = plan_promotion(artifact, "m", "qa", version="v2.0.0", facts=FACTS, counter=4)
    assert "was deregistered" in refused.refusals[0]
    assert "not allowed" in refused.refusals[1]
    strict = PromotionFacts(allowed_stages=["staging", "production"], order="strict")
    plan = plan_promotion(artifact, "m", "production", version="v1.0.0", facts=strict, counter=4)
    assert "must be in stage 'staging'" in plan.refusals[0]
    gated = PromotionFacts(
        allowed_stages=["staging"],
        gate_failures=["acc is 0.5, below the minimum 0.9"],
        on_default_branch=False,
        default_branch="main",
    )
    plan = plan_promotion(artifact, "m", "staging", version="v1.0.0", facts=gated, counter=4)
    assert len(plan.refusals) == 2
    assert "below the minimum" in plan.refusals[0]
    assert "not on the default branch 'main'" in plan.refusals[1]


def test_strict_order_accepts_a_version_that_held_the_previous_stage() -> None:
    s = state(tag("m@v1.0.0", C1, 1), tag("m#staging#1", C1, 2))
    strict = PromotionFacts(allowed_stages=["staging", "production"], order="strict")
    plan = plan_promotion(
        s.artifacts["m"], "m", "production", version="v1.0.0", facts=strict, counter=2
    )
    assert plan.allowed


def test_promoting_the_holder_again_is_a_noop() -> None:
    s = state(tag("m@v1.0.0", C1, 1), tag("m#staging#1", C1, 2))
    plan = plan_promotion(s.artifacts["m"], "m", "staging", version=None, facts=FACTS, counter=2)
    assert plan.noop


def test_rollback_returns_to_previous_active_holder() -> None:
    s = state(
        tag("m@v1.0.0", C1, 1),
        tag("m@v2.0.0", C2, 2),
        tag("m@v3.0.0", C3, 3),
        tag("m#production#1", C1, 4),
        tag("m#production#2", C2, 5),
        tag("m@v2.0.0!", C2, 6),
        tag("m#production#3", C3, 7),
    )
    artifact = s.artifacts["m"]
    before = previous_holder(artifact, "production")
    assert before is not None
    assert before.version == "v1.0.0"  # v2.0.0 was deregistered
    plan = plan_rollback(
        artifact, "m", "production", to_version=None, allowed_stages=["production"], counter=4
    )
    assert (plan.version, plan.previous, plan.tag) == ("v1.0.0", "v3.0.0", "m#production#4")
    plan = plan_rollback(
        artifact, "m", "production", to_version="v3.0.0", allowed_stages=None, counter=4
    )
    assert "already holds" in plan.refusals[0]
    plan = plan_rollback(artifact, "m", "staging", to_version=None, allowed_stages=None, counter=4)
    assert "nothing to roll back" in plan.refusals[0]


def test_rollback_skips_versions_unassigned_from_the_stage() -> None:
    s = state(
        tag("m@v1.0.0", C1, 1),
        tag("m@v2.0.0", C2, 2),
        tag("m@v3.0.0", C3, 3),
        tag("m#production#1", C1, 4),
        tag("m#production#2", C2, 5),
        tag("m#production!#3", C2, 6),
        tag("m#production#4", C3, 7),
    )
    before = previous_holder(s.artifacts["m"], "production")
    assert before is not None
    assert before.version == "v1.0.0"  # v2.0.0 was taken out of production on purpose
