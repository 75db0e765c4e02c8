"""A pushed version tag (MODEL@vX.Y.Z): release it, or refuse it when it cannot be."""

from __future__ import annotations

from mlops_ci.errors import RefusedError
from mlops_ci.services.on_tag.pushed import OnTagResult, PushedTag
from mlops_ci.services.on_tag.refusal import refuse


def release(pushed: PushedTag) -> OnTagResult:
    """Release the version (`services.shared.release`); a refusal opens the model's issue."""
    from mlops_ci.services.shared.release import release as release_version

    try:
        data = release_version(
            pushed.reg.root, pushed.tag, dry_run=pushed.dry_run, context=pushed.context
        )
    except RefusedError as exc:
        raise refuse(pushed, [exc.message], exc) from None
    return OnTagResult(
        pushed.tag,
        "release",
        model=pushed.model,
        version=pushed.version,
        reason=f"version tag: released {pushed.tag}",
        lines=list(data.get("lines", [])),
        details={"release": {k: v for k, v in data.items() if k != "lines"}},
    )
