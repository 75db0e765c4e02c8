"""`mlops-ci on-tag`: act on a registry tag someone pushed, as the registry's guard.

A tag arrives by `push`, `create` or `release: published` (or `--tag`). The tags are
fetched again first with `git fetch --force --tags origin`, because actions/checkout
turns the triggering annotated tag into a lightweight copy. Then the tag is parsed
with the GTO grammar (`core.tags`) and dispatched:

- a version tag → the release (`version_tag`, through `services.shared.release`);
- a stage assign tag → the promotion policy (`stage_tag`: `core.promotion.plan_promotion`,
  with facts from `services.shared.promote.gather_facts`) judged against the registry
  *without* this tag (nor earlier assigns of the same stage to the same version, so a
  repeated bad tag is refused again), then a Deployment to the stage's environment and
  fresh release notes;
- an unassign, deregister or deprecate tag → the environment's latest deployment of
  that version marked inactive and the release notes refreshed (`retirement`);
- anything else (not in the grammar, or a lightweight tag) → ignored, said plainly.

A pushed tag cannot be taken back by us, and a tag that breaks the policy must not
pass quietly: the run is refused (exit 2) with the reason, nothing is deployed, and
one issue per model (found by a hidden marker) says which tag broke which rule and
how to roll back (`refusal`).
"""

from __future__ import annotations

from pathlib import Path

from mlops_ci.adapters.git import Git
from mlops_ci.core.tags import Action, parse_tag
from mlops_ci.errors import GitError, InputError
from mlops_ci.services.on_tag.pushed import Kind, OnTagResult, PushedTag
from mlops_ci.services.on_tag.retirement import retirement
from mlops_ci.services.on_tag.stage_tag import promotion
from mlops_ci.services.on_tag.version_tag import release
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.registry import open_registry

__all__ = ["Kind", "OnTagResult", "fetch_tags", "on_tag"]


def fetch_tags(git: Git) -> bool:
    """`git fetch --force --tags origin` when there is an origin; True when it ran.

    `--force` lets the remote's annotated tag replace the lightweight copy that
    actions/checkout made of the triggering tag.
    """
    if not git.has_remote():
        return False
    proc = git.run("fetch", "--quiet", "--force", "--tags", "origin", check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"cannot fetch tags from origin: {detail[-1] if detail else proc.returncode}",
            hint="the job needs `contents: read` and a checkout with fetch-depth: 0",
        )
    return True


def on_tag(root: Path, job: Job, tag: str | None = None, *, dry_run: bool = False) -> OnTagResult:
    """Handle the pushed registry tag ``tag`` (default: the one that triggered the run)."""
    tag = tag or job.context.tag
    if not tag:
        raise InputError(
            "pass --tag TAG (no tag push, tag creation or published release triggered this run)"
        )
    git = Git(root)
    if not git.is_repo():
        raise InputError(f"{root}: not a git repository", hint="run inside your project's clone")
    fetched = fetch_tags(git)
    parsed = parse_tag(tag)
    if parsed is None:
        return OnTagResult(
            tag, "ignored", reason=f"{tag!r} is not a registry tag (GTO grammar): nothing to do"
        )
    reg = open_registry(root)
    record = next((r for r in reg.records if r.name == tag), None)
    if record is None:
        raise InputError(
            f"tag {tag!r} does not exist in this clone",
            hint="check out with fetch-tags: true, or fetch tags from origin",
        )
    if record.object_type != "tag" or record.target_type != "commit" or record.time is None:
        return OnTagResult(
            tag,
            "ignored",
            model=parsed.artifact,
            reason=f"{tag!r} is a lightweight tag, not a registry tag "
            "(registry tags are annotated; GTO ignores lightweight ones): nothing to do",
        )
    result = _act(PushedTag.read(reg, record, parsed, job.context, dry_run=dry_run))
    if fetched:
        result.lines.insert(0, "fetched tags from origin (git fetch --force --tags)")
    return result


def _act(pushed: PushedTag) -> OnTagResult:
    """Release a version tag, judge a stage tag, retire what any other tag ends."""
    action = pushed.parsed.action
    if action is Action.REGISTER:
        return release(pushed)
    if action is Action.ASSIGN:
        return promotion(pushed)
    return retirement(pushed)
