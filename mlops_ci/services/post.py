"""Publishing a report to GitHub, and the fork-safe second phase (`mlops-ci post`).

A pull request from a fork runs with a read-only token, so `report` saves a
bundle (report data plus where it belongs) as an artifact, and a `workflow_run`
workflow in the base repository runs `mlops-ci post --bundle DIR`. That bundle
was written by code from the fork, so everything in it is untrusted:

- size is capped and only `report.json` and `metadata.json` are read (no
  Markdown from the bundle is ever used);
- both are validated by strict pydantic models (unknown fields are errors);
- the repository must be this one, the head commit must be the one the
  triggering workflow run built, and the PR number must be one of that run's
  pull requests (or, when GitHub leaves that list empty, as it does for forks,
  a PR of this repository whose head is that commit);
- gates are evaluated again with this repository's trusted config, and the
  comment is rendered again from the data, with every string escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_ci.config import load_config
from mlops_ci.context import RunContext
from mlops_ci.core import gates as core_gates
from mlops_ci.core.metrics import DiffResult
from mlops_ci.errors import InputError
from mlops_ci.report.render import RenderOptions, ReportDocument, render_markdown
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.publish import publish_to_github, report_marker
from mlops_ci.services.shared.trend import collect_trend

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo

MAX_BUNDLE_BYTES = 4 * 1024 * 1024
BUNDLE_FILES = ("report.json", "metadata.json")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


class BundleMetadata(BaseModel):
    """`metadata.json` of a fork bundle."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(1, ge=1, le=1)
    repository: str
    pr_number: int = Field(gt=0, lt=10**9)
    head_sha: str
    run_id: str | int | None = None

    @field_validator("repository")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not _REPO.match(value):
            raise ValueError("expected owner/name")
        return value

    @field_validator("head_sha")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not _SHA.match(value):
            raise ValueError("expected a 40-character lowercase hex commit SHA")
        return value


# --- the fork bundle ------------------------------------------------------------------


@dataclass
class PostOutcome:
    """The comment re-rendered from a fork's bundle, and where it was posted."""

    document: ReportDocument
    markdown: str
    comment_url: str | None = None
    dry_run: bool = False
    messages: list[str] = field(default_factory=list)


def read_bundle(bundle: Path) -> tuple[BundleMetadata, ReportDocument]:
    """Validate a bundle's shape and size and parse its two files (nothing else is read)."""
    if not bundle.is_dir():
        raise InputError(f"{bundle}: no such bundle directory")
    total = 0
    texts: dict[str, bytes] = {}
    for name in BUNDLE_FILES:
        path = bundle / name
        if path.is_symlink() or not path.is_file():
            raise InputError(f"{bundle}: the bundle lacks {name} (or it is not a regular file)")
        size = path.stat().st_size
        total += size
        if total > MAX_BUNDLE_BYTES:
            raise InputError(
                f"{bundle}: the bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB"
            )
        with path.open("rb") as handle:
            texts[name] = handle.read(MAX_BUNDLE_BYTES + 1)
    try:
        metadata = BundleMetadata.model_validate_json(texts["metadata.json"])
    except ValidationError as exc:
        raise InputError(f"{bundle}/metadata.json: invalid: {_first_error(exc)}") from None
    try:
        document = ReportDocument.model_validate_json(texts["report.json"])
    except ValidationError as exc:
        raise InputError(f"{bundle}/report.json: invalid: {_first_error(exc)}") from None
    return metadata, document


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {err['msg']}"[:300]


def verify_bundle(
    metadata: BundleMetadata,
    ctx: RunContext,
    run_id: str | None,
    pull_head: Callable[[int], str | None] | None = None,
) -> Mapping[str, Any]:
    """Check that the bundle belongs to this repository and to the triggering run.

    Returns the `workflow_run` object of the event. `pull_head(number)` returns
    the head SHA of a PR of this repository (used when the event lists no PRs).
    """
    if ctx.event_name != "workflow_run":
        raise InputError(
            "mlops-ci post runs from a workflow_run event",
            hint="see docs/report.md, 'Pull requests from forks'",
        )
    run = ctx.event.get("workflow_run")
    if not isinstance(run, Mapping):
        raise InputError("the workflow_run event has no workflow_run object")
    if metadata.repository.lower() != (ctx.repository or "").lower():
        raise InputError(
            f"the bundle is for {metadata.repository}, not this repository ({ctx.repository})"
        )
    expected_run = str(run.get("id", ""))
    if run_id is not None and str(run_id) != expected_run:
        raise InputError(f"--run-id {run_id} is not the triggering workflow run ({expected_run})")
    if metadata.run_id is not None and str(metadata.run_id) != expected_run:
        raise InputError(
            f"the bundle was made by run {metadata.run_id}, not the triggering run {expected_run}"
        )
    if metadata.head_sha != str(run.get("head_sha", "")):
        raise InputError("the bundle's head commit is not the commit the workflow run built")
    pulls = run.get("pull_requests") or []
    numbers = {int(p["number"]) for p in pulls if isinstance(p, Mapping) and "number" in p}
    if numbers:
        if metadata.pr_number not in numbers:
            raise InputError(
                f"PR #{metadata.pr_number} is not a pull request of the triggering workflow run"
            )
    else:
        # GitHub leaves `pull_requests` empty for fork PRs: ask for the PR itself.
        if pull_head is None:
            raise InputError("cannot verify the PR number: the event lists no pull requests")
        head = pull_head(metadata.pr_number)
        if head is None:
            raise InputError(
                f"cannot verify PR #{metadata.pr_number}: GitHub did not return it",
                hint="post needs a token that can read pull requests, even with --dry-run",
            )
        if head != metadata.head_sha:
            raise InputError(
                f"PR #{metadata.pr_number} of {ctx.repository} is not at the bundle's head commit"
            )
    return run


def post_bundle(
    bundle: Path,
    job: Job,
    *,
    root: Path,
    run_id: str | None = None,
    config_path: Path | None = None,
    dry_run: bool = False,
    gh: GitHubRepo | None = None,
) -> PostOutcome:
    """Validate a fork's bundle and publish a comment re-rendered from its data."""
    from mlops_ci.adapters.github import GitHubRepo

    ctx = job.context
    if ctx.token is not None:
        job.actions.mask(ctx.token.get_secret_value())
    metadata, untrusted = read_bundle(bundle)
    loaded = load_config(root, config_path)
    config = loaded.config
    if gh is None and (not dry_run or ctx.token is not None):
        gh = GitHubRepo.for_run(ctx)

    def pull_head(number: int) -> str | None:
        return None if gh is None else gh.pull_head_sha(number)

    run = verify_bundle(metadata, ctx, run_id, pull_head)
    # Trusted facts replace whatever the bundle claims about where it belongs.
    workflow_name = str(run.get("name") or "mlops-ci")
    run_url = str(run.get("html_url") or "") or None
    document = untrusted.model_copy(
        update={
            "repository": ctx.repository,
            "pr_number": metadata.pr_number,
            "run_url": run_url,
            "head": untrusted.head.model_copy(update={"sha": metadata.head_sha}),
            # A fork's idea of the base branch's history is not evidence: recompute it
            # from this trusted checkout, or show none.
            "trend": collect_trend(root, loaded, None) if config.report.trend else None,
        }
    )
    metrics = DiffResult(rows=[row.to_delta() for row in document.metrics])
    summary = core_gates.evaluate(metrics, config.metrics.gates, config.report.precision)
    document = document.with_gates(summary)
    options = RenderOptions(
        marker=report_marker(workflow_name, config),
        fold_unchanged=config.report.fold_unchanged,
        max_rows=config.report.max_rows,
        precision=config.report.precision,
        full_report_url=f"{run_url}#summary" if run_url else None,
        plot_points=min(config.plots.max_points, 100),
    )
    markdown = render_markdown(document, options)
    outcome = PostOutcome(document=document, markdown=markdown, dry_run=dry_run)
    if not dry_run:
        outcome.comment_url = publish_to_github(
            document, markdown, ctx, config, job.progress,
            workflow=workflow_name, head_sha=metadata.head_sha, gh=gh,
        )  # fmt: skip
    return outcome
