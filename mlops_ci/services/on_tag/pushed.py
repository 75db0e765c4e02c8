"""The pushed registry tag `on-tag` acts on, with the registry around it, and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.context import RunContext
from mlops_ci.core.registry import ArtifactState, GitTagRecord, TagEvent, build_state
from mlops_ci.core.tags import RegistryTag
from mlops_ci.services.shared.registry import Registry

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo

Kind = Literal["ignored", "release", "promotion", "retirement"]


@dataclass
class OnTagResult:
    """What `on-tag` did with one tag."""

    tag: str
    kind: Kind
    model: str | None = None
    version: str | None = None
    stage: str | None = None
    reason: str = ""
    lines: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "kind": self.kind,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "reason": self.reason,
            **self.details,
        }


@dataclass(frozen=True)
class PushedTag:
    """One annotated registry tag, with the registry around it and the run it came in."""

    reg: Registry
    record: GitTagRecord
    parsed: RegistryTag
    context: RunContext
    dry_run: bool
    #: The version the tag is about (an assign tag names none: the one at its commit).
    version: str | None
    #: The model as it was before this tag: what the tag is judged against.
    before: ArtifactState | None

    @classmethod
    def read(
        cls,
        reg: Registry,
        record: GitTagRecord,
        parsed: RegistryTag,
        context: RunContext,
        *,
        dry_run: bool,
    ) -> PushedTag:
        """The tag ``record`` (parsed as ``parsed``) as the registry ``reg`` sees it."""
        model = parsed.artifact
        before = build_state(r for r in reg.records if r.name != record.name).artifact(model)
        event = next((e for e in events_of(reg, model) if e.tag == record.name), None)
        version = event.version if event is not None else parsed.version
        return cls(reg, record, parsed, context, dry_run, version, before)

    @property
    def model(self) -> str:
        return self.parsed.artifact

    @property
    def tag(self) -> str:
        return self.record.name

    @property
    def can_post(self) -> bool:
        return not self.dry_run and self.context.token is not None and bool(self.context.repository)

    def github(self) -> GitHubRepo:
        from mlops_ci.adapters.github import GitHubRepo

        return GitHubRepo.for_run(self.context)

    def local_only(self) -> str:
        """Why nothing was recorded on GitHub."""
        if self.dry_run:
            return "dry run: nothing was posted to GitHub"
        return "no GitHub token and repository: nothing was recorded on GitHub"


def events_of(reg: Registry, model: str) -> list[TagEvent]:
    """The model's registry events, oldest first (none for a model without tags)."""
    artifact = reg.artifact(model)
    return list(artifact.events) if artifact is not None else []
