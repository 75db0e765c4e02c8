"""The issue that says a pushed registry tag broke the policy, and how to roll it back.

One issue per model, found again by its hidden marker; every refused tag of that model
rewrites it. The tagger's name, the reasons and the model come from whoever pushed
the tag, so they are escaped here like any other untrusted text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlops_ci.core.markers import registry_policy_issue_marker
from mlops_ci.report.escape import md_code, md_text


@dataclass(frozen=True)
class RefusedTag:
    """A registry tag the policy refused, as the issue describes it."""

    model: str
    tag: str
    commit: str
    #: "Name <email>" of whoever made the tag.
    tagger: str
    #: When the tag was made (ISO 8601), or "".
    time: str
    version: str | None
    #: A version tag (MODEL@vX.Y.Z) rather than a stage tag (MODEL#STAGE#N).
    is_version_tag: bool
    #: The stage a stage tag assigns.
    stage: str | None = None
    #: How to push the unassign tag that cancels a stage tag (a Markdown code span).
    unassign_command: str = ""


def policy_issue(refused: RefusedTag, reasons: Sequence[str], run_url: str) -> tuple[str, str]:
    """The (title, body) of the model's registry-policy issue for this refusal."""
    model = refused.model
    lines = [
        registry_policy_issue_marker(model),
        f"## A registry tag of {md_code(model)} broke the policy",
        "",
        f"The tag {md_code(refused.tag)} at commit {md_code(refused.commit[:12])}, "
        f"made by {md_text(refused.tagger)} at {md_text(refused.time)}, was **refused**"
        + (f" by [this run]({run_url})." if run_url else "."),
        "",
        "Rules it broke:",
        "",
        *[f"- {md_text(reason, 1000)}" for reason in reasons],
        "",
        "A pushed tag cannot be taken back by mlops-ci, so the registry now records "
        "something the policy does not allow. Nothing was deployed for it.",
        "",
        "**How to roll back**",
        "",
        *_roll_back(refused),
        "",
        "To keep this from happening, protect stage tags with a repository ruleset "
        "(see docs/registry.md, *Protecting registry tags*).",
        "",
        f"This issue is updated whenever another tag of {md_code(model)} is refused; "
        "close it when the registry is in order again.",
    ]
    title = f"Registry policy: tag {refused.tag} of {model} was refused"
    return title, "\n".join(lines) + "\n"


def _roll_back(refused: RefusedTag) -> list[str]:
    model = refused.model
    if refused.is_version_tag:
        return [
            f"- withdraw the version: `gto deprecate {model} {refused.version} --push` "
            f"(pushes {md_code(refused.tag + '!')}), or",
            "- fix what is missing (push the outputs with `dvc push`, or fix the "
            "metrics) and re-run the release workflow.",
        ]
    stage = refused.stage
    return [
        f"- give the stage back to its previous holder: "
        f"`mlops-ci rollback {model} --stage {stage} --push`, or",
        f"- push an unassign tag: {refused.unassign_command} "
        f"(a tag `{model.replace(':', '=')}#{stage}!#N`).",
    ]
