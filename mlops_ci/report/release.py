"""A release's Markdown: the model card and the release notes, from plain data.

The services gather the facts (the registered version, its metrics, parameters, gates
and data lineage); this module shapes them into the templates' context and renders
`model_card.md.j2` and `release_notes.md.j2` in the sandboxed environment of
`report.render`, where every value is escaped (a tagger name, an owner or a metric
name is untrusted text).

Pure: no I/O except reading the packaged templates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

#: Untrusted text (descriptions, commands, requirement lines) is cut to this length.
TEXT_LIMIT = 2000


class ReleaseFacts(Protocol):
    """What a release says about its version (`services.shared.release.ReleaseBundle`)."""

    tag: str
    model: str
    version: str
    commit: str
    tagger: str
    date: str
    model_file: str
    model_sha256: str
    model_size: int
    pointer: bool
    #: Why the release has no `signature.json` ("" when it has one, or has no model).
    signature_missing: str


class CardText(Protocol):
    """The model card's prose, as configured (`models.<name>.card`)."""

    intended_use: str
    limitations: str
    owners: list[str]


def size_text(size: int | None) -> str:
    """A size for people: `812 B`, `48.2 KiB`, `1.5 GiB`; `-` when unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def card_context(
    facts: ReleaseFacts,
    *,
    description: str,
    card: CardText,
    metrics: Mapping[str, Any],
    params: Mapping[str, Any],
    gates: Sequence[Mapping[str, Any]],
    gate_verdict: str,
    lineage: Mapping[str, Any],
    requirements_file: str,
    requirements: Sequence[str],
    tool_version: str,
) -> dict[str, Any]:
    """The model card's context; the release notes start from it too.

    `metrics` and `params` are flat (`file:key` names); `lineage` is what
    `services.shared.lineage.lineage_at` returns.
    """
    return {
        "model": facts.model,
        "version": facts.version,
        "commit": facts.commit,
        "commit_short": facts.commit[:12],
        "tag": facts.tag,
        "date": facts.date,
        "tagger": facts.tagger,
        "description": description,
        "intended_use": card.intended_use,
        "limitations": card.limitations,
        "owners": card.owners,
        "model_file": facts.model_file or "(no model path configured)",
        "model_size_text": size_text(facts.model_size)
        + (" — DVC pointer" if facts.pointer else ""),
        "model_sha256": facts.model_sha256 or "-",
        "metrics": sorted(metrics.items()),
        "params": sorted(
            (k, json.dumps(v) if not isinstance(v, str) else v) for k, v in params.items()
        ),
        "gates": gates,
        "gate_verdict": gate_verdict,
        "data": [{**d, "size_text": size_text(d.get("size"))} for d in lineage["data"]],
        "stages": lineage["stages"],
        "requirements": list(requirements),
        "requirements_file": requirements_file,
        "tool_version": tool_version,
    }


def model_card(context: Mapping[str, Any]) -> str:
    """`model-card.md` from `card_context`."""
    return _render("model_card.md.j2", context)


def release_notes(
    facts: ReleaseFacts, stages: Sequence[str], context: Mapping[str, Any] | None = None
) -> str:
    """The release body: the version, who registered it, the stages it holds now, and
    (from the card's `context`, when there is one) its metrics and gates."""
    base = dict(context or {})
    base.update(
        {
            "model": facts.model,
            "version": facts.version,
            "commit": facts.commit,
            "date": facts.date,
            "tagger": facts.tagger,
            "stages": list(stages),
            "model_file": facts.model_file or "-",
            "model_sha256": facts.model_sha256 or "-",
        }
    )
    base.setdefault("metrics", [])
    base.setdefault("gates", [])
    base.setdefault("gate_verdict", "none")
    notes = _render("release_notes.md.j2", base)
    missing = facts.signature_missing
    if missing:
        from mlops_ci.report.escape import md_text

        notes = notes.rstrip("\n") + f"\n\n**Signature missing:** {md_text(missing, 300)}\n"
    return notes


def _render(template: str, context: Mapping[str, Any]) -> str:
    from mlops_ci.report.render import render_packaged

    return render_packaged(template, context, text_limit=TEXT_LIMIT)
