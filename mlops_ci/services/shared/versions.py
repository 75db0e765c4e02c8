"""Which registered version a command acts on: the holder of a stage, or a named one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_ci.errors import InputError

if TYPE_CHECKING:
    from mlops_ci.services.shared.registry import Registry


def resolve_version(
    reg: Registry, model: str, stage: str | None, version: str | None
) -> tuple[str, str]:
    """(version, commit) of the version holding `stage` (default production), or of
    `version`; one clear line when there is none."""
    artifact = reg.artifact(model)
    if artifact is None:
        raise InputError(f"{model}: no such model in the registry", hint="register a version first")
    if version is not None:
        found = artifact.versions.get(version)
        if found is None:
            raise InputError(f"{model}: no version {version!r} in the registry")
        return found.version, found.commit
    held = artifact.holder(stage or "production")
    if held is None:
        raise InputError(
            f"{model}: no version holds the stage {stage or 'production'!r}",
            hint="promote a version first, or pass --version",
        )
    return str(held.version), str(held.commit)
