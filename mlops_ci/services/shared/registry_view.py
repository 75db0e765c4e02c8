"""What the `registry` and `history` commands show, as JSON-ready data.

The registry as it stands (each model's latest version, stage holders and versions)
and a model's history of events, read from `Registry`; the CLI prints them as tables
or JSON.
"""

from __future__ import annotations

from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.services.shared.registry import Registry


def model_view(reg: Registry, model: str) -> dict[str, Any]:
    """One model as JSON-ready data: latest, stage holders, versions."""
    artifact = reg.artifact(model)
    stages: dict[str, str | None] = dict.fromkeys(reg.shown_stages(model))
    versions: list[dict[str, Any]] = []
    if artifact is not None:
        for stage, holder in artifact.stages.items():
            stages[stage] = holder.version
        ordered = sorted(
            artifact.versions.values(),
            key=lambda v: (v.semver.precedence() if v.semver else (), v.version),
            reverse=True,
        )
        for v in ordered:
            reg_event = v.registration
            versions.append(
                {
                    "version": v.version,
                    "commit": v.commit,
                    "registered": v.registered,
                    "active": v.active,
                    "stages": artifact.stages_of(v.version),
                    "created_at": reg_event.time.isoformat() if reg_event else None,
                    "author": reg_event.tagger_name if reg_event else None,
                    "tag": reg_event.tag if reg_event else None,
                }
            )
    return {
        "name": model,
        "latest": artifact.latest if artifact is not None else None,
        "deprecated": artifact.deprecated if artifact is not None else False,
        "stages": stages,
        "versions": versions,
    }


def registry_view(
    reg: Registry, model: str | None = None, *, include_deprecated: bool = False
) -> list[dict[str, Any]]:
    """Every model (tags and config), or one; deprecated ones only when asked or named."""
    if model is not None:
        if reg.artifact(model) is None and model not in reg.configured_models():
            raise InputError(f"model {model!r} is not in the registry or mlops-ci.yaml")
        return [model_view(reg, model)]
    names = list(dict.fromkeys([*sorted(reg.state.artifacts), *reg.configured_models()]))
    views = [model_view(reg, name) for name in names]
    return [v for v in views if include_deprecated or not v["deprecated"]]


def history_view(reg: Registry, model: str) -> list[dict[str, Any]]:
    """Every registry event of a model, oldest first."""
    artifact = reg.artifact(model)
    if artifact is None:
        raise InputError(f"model {model!r} has no registry tags")
    return [e.as_dict() for e in artifact.events]
