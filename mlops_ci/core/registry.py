"""Registry state from tag events: versions, latest version, stage holders, history.

Pure: it takes the tags git reported (``GitTagRecord``) and returns plain data.

The rules, in one place (docs/registry.md explains them and compares with GTO and DVC):

- Only annotated tags that point at a commit count; lightweight tags and names outside
  the grammar (``core.tags``) are ignored. An event's time is its tagger date.
- Events are ordered by (time, counter, action priority, tag name). Counters break
  same-second ties; at the same instant a cancelling event (deregister, unassign)
  comes after the event it cancels.
- A version is *active* when its most recent register/deregister event is a register.
- An artifact is *deprecated* when its most recent event of any kind is a deprecation
  (a later register or assign revives it, as in GTO).
- *latest*: the highest SemVer among active registered versions of an artifact that is
  not deprecated; pre-releases take part by SemVer precedence (``v2.0.0-rc.1`` is
  above ``v1.9.0``), as in GTO. Equal precedence (build metadata only) → the most
  recently registered.
- *stage holder*: the most recent assign event of that stage (by the order above) whose
  version is still active and that no later unassign of the same version and stage
  cancelled.
- An assign/unassign tag names no version: it applies to the version registered at the
  tag's commit (the active one with the highest SemVer if several); at a commit with no
  registered version the version is the commit's hexsha, as GTO shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mlops_ci.core.tags import Action, RegistryTag, SemVer, parse_tag

_PRIORITY = {
    Action.REGISTER: 0,
    Action.ASSIGN: 1,
    Action.DEREGISTER: 2,
    Action.UNASSIGN: 3,
    Action.DEPRECATE: 4,
}


@dataclass(frozen=True)
class GitTagRecord:
    """One tag as git reports it (the adapter fills this; nothing here runs git)."""

    name: str
    object_type: str  # "tag" for annotated tags, "commit" for lightweight ones
    commit: str  # the commit the tag points at (peeled)
    target_type: str = "commit"
    tagger_name: str = ""
    tagger_email: str = ""
    time: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class TagEvent:
    """One registry event: a parsed annotated tag."""

    tag: str
    parsed: RegistryTag
    commit: str
    tagger_name: str
    tagger_email: str
    time: datetime
    message: str
    version: str | None = None  # resolved for assign/unassign

    @property
    def action(self) -> Action:
        return self.parsed.action

    @property
    def artifact(self) -> str:
        return self.parsed.artifact

    @property
    def stage(self) -> str | None:
        return self.parsed.stage

    @property
    def counter(self) -> int | None:
        return self.parsed.counter

    def sort_key(self) -> tuple[datetime, int, int, str]:
        return (self.time, self.parsed.counter or 0, _PRIORITY[self.parsed.action], self.tag)

    def as_dict(self) -> dict[str, object]:
        return {
            "time": self.time.isoformat(),
            "action": self.action.value,
            "artifact": self.artifact,
            "version": self.version,
            "stage": self.stage,
            "counter": self.counter,
            "tag": self.tag,
            "commit": self.commit,
            "author": self.tagger_name,
            "author_email": self.tagger_email,
            "message": self.message,
        }


@dataclass
class VersionState:
    """One version of an artifact."""

    version: str
    commit: str
    registered: bool  # an explicit register tag exists (else: a commit hexsha version)
    active: bool
    events: list[TagEvent] = field(default_factory=list)
    _semver: SemVer | None = field(default=None, repr=False, compare=False)

    @property
    def registration(self) -> TagEvent | None:
        regs = [e for e in self.events if e.action is Action.REGISTER]
        return regs[-1] if regs else None

    @property
    def semver(self) -> SemVer | None:
        if self._semver is None and SemVer.is_valid(self.version):
            self._semver = SemVer.parse(self.version)
        return self._semver


@dataclass(frozen=True)
class StageAssignment:
    """Who holds a stage, and the event that made it so."""

    stage: str
    version: str
    commit: str
    event: TagEvent


@dataclass
class ArtifactState:
    """Everything the tags say about one artifact."""

    name: str
    events: list[TagEvent]
    versions: dict[str, VersionState]
    deprecated: bool
    latest: str | None
    stages: dict[str, StageAssignment]

    def active_versions(self) -> list[VersionState]:
        """Active registered versions, highest SemVer first."""
        found = [v for v in self.versions.values() if v.registered and v.active and v.semver]
        return sorted(found, key=_version_sort_key, reverse=True)

    def holder(self, stage: str) -> StageAssignment | None:
        return self.stages.get(stage)

    def stages_of(self, version: str) -> list[str]:
        return [s for s, a in self.stages.items() if a.version == version]

    def stage_assignments(self, stage: str) -> list[TagEvent]:
        """Assign events of ``stage``, oldest first."""
        return [e for e in self.events if e.action is Action.ASSIGN and e.stage == stage]

    def max_counter(self) -> int:
        return max((e.counter or 0 for e in self.events), default=0)


@dataclass
class RegistryState:
    """The whole registry, by artifact name."""

    artifacts: dict[str, ArtifactState]
    used_stages: list[str]

    def artifact(self, name: str) -> ArtifactState | None:
        return self.artifacts.get(name)


def _version_sort_key(v: VersionState) -> tuple[object, ...]:
    semver = v.semver
    assert semver is not None
    reg = v.registration
    return (semver.precedence(), reg.sort_key() if reg else ())


def events_from_tags(records: Iterable[GitTagRecord]) -> list[TagEvent]:
    """Registry events from git tags, oldest first; non-registry and lightweight tags dropped."""
    events: list[TagEvent] = []
    for record in records:
        if record.object_type != "tag" or record.target_type != "commit" or record.time is None:
            continue
        parsed = parse_tag(record.name)
        if parsed is None:
            continue
        events.append(
            TagEvent(
                tag=record.name,
                parsed=parsed,
                commit=record.commit,
                tagger_name=record.tagger_name,
                tagger_email=record.tagger_email,
                time=record.time,
                message=record.message,
                version=parsed.version,
            )
        )
    events.sort(key=TagEvent.sort_key)
    return events


def build_state(records: Iterable[GitTagRecord]) -> RegistryState:
    """Registry state from the tags of a repository."""
    by_artifact: dict[str, list[TagEvent]] = {}
    for event in events_from_tags(records):
        by_artifact.setdefault(event.artifact, []).append(event)
    artifacts = {name: _artifact_state(name, events) for name, events in by_artifact.items()}
    used: set[str] = set()
    for events in by_artifact.values():
        used.update(e.stage for e in events if e.stage is not None)
    return RegistryState(artifacts=artifacts, used_stages=sorted(used))


def _artifact_state(name: str, events: list[TagEvent]) -> ArtifactState:
    versions: dict[str, VersionState] = {}
    for event in events:
        if event.action in (Action.REGISTER, Action.DEREGISTER):
            assert event.version is not None
            state = versions.get(event.version)
            if state is None:
                state = versions[event.version] = VersionState(
                    event.version, event.commit, registered=False, active=False
                )
            if event.action is Action.REGISTER:
                state.registered = True
                state.commit = event.commit
            state.active = event.action is Action.REGISTER
            state.events.append(event)

    # Resolve the version of stage events from their commit.
    by_commit: dict[str, list[VersionState]] = {}
    for v in versions.values():
        if v.registered:
            by_commit.setdefault(v.commit, []).append(v)
    resolved: list[TagEvent] = []
    for event in events:
        if event.action in (Action.ASSIGN, Action.UNASSIGN):
            version = _version_at_commit(by_commit.get(event.commit, []), event.commit)
            if version not in versions:
                versions[version] = VersionState(
                    version, event.commit, registered=False, active=True
                )
            event = TagEvent(**{**event.__dict__, "version": version})  # noqa: PLW2901
            versions[version].events.append(event)
        resolved.append(event)

    deprecated = bool(resolved) and resolved[-1].action is Action.DEPRECATE
    stages = _stage_holders(resolved, versions)
    latest = None
    if not deprecated:
        candidates = [v for v in versions.values() if v.registered and v.active and v.semver]
        if candidates:
            latest = max(candidates, key=_version_sort_key).version
    return ArtifactState(
        name=name,
        events=resolved,
        versions=versions,
        deprecated=deprecated,
        latest=latest,
        stages=stages,
    )


def _version_at_commit(candidates: list[VersionState], commit: str) -> str:
    if not candidates:
        return commit
    active = [v for v in candidates if v.active] or candidates
    return max(active, key=_version_sort_key).version


def _stage_holders(
    events: Sequence[TagEvent],
    versions: dict[str, VersionState],
    excluded: frozenset[str] = frozenset(),
) -> dict[str, StageAssignment]:
    holders: dict[str, StageAssignment] = {}
    # Walk newest first; an unassign cancels the earlier assigns of that version and stage.
    cancelled: set[tuple[str, str]] = set()
    for event in reversed(events):
        stage, version = event.stage, event.version
        if stage is None or version is None or version in excluded:
            continue
        if event.action is Action.UNASSIGN:
            cancelled.add((stage, version))
            continue
        if event.action is not Action.ASSIGN or stage in holders:
            continue
        if (stage, version) in cancelled or not versions[version].active:
            continue
        holders[stage] = StageAssignment(stage, version, event.commit, event)
    return holders


def previous_holder(artifact: ArtifactState, stage: str) -> StageAssignment | None:
    """Who would hold ``stage`` if the current holder were unassigned (used by rollback).

    The same rule as the holder, with the current holder's version left out: the most
    recent assign of another active version that no later unassign cancelled.
    """
    current = artifact.holder(stage)
    if current is None:
        return None
    others = [e for e in artifact.events if e.stage == stage]
    return _stage_holders(others, artifact.versions, frozenset({current.version})).get(stage)


def allowed_stages(
    model_stages: Sequence[str] | None, gto_stages: Sequence[str] | None
) -> list[str] | None:
    """Stages allowed for a model: its own config first, else GTO's ``.gto``, else any."""
    if model_stages:
        return list(model_stages)
    if gto_stages:
        return list(gto_stages)
    return None


def display_stages(allowed: Sequence[str] | None, artifact: ArtifactState | None) -> list[str]:
    """Stages to show for a model: the allowed ones in order, then any others used in tags."""
    shown = list(allowed or [])
    if artifact is not None:
        for event in artifact.events:
            if event.stage is not None and event.stage not in shown:
                shown.append(event.stage)
    return shown
