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

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_ci.config import Config, load_config
from mlops_ci.core import gates as core_gates
from mlops_ci.core.metrics import DiffResult
from mlops_ci.errors import GitHubError, InputError
from mlops_ci.report.render import RenderOptions, ReportDocument, render_markdown, summary_line

MAX_BUNDLE_BYTES = 4 * 1024 * 1024
BUNDLE_FILES = ("report.json", "metadata.json")
CHECK_RUN_NAME = "mlops-ci report"
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


def report_marker(workflow: str, config: Config) -> str:
    from mlops_ci.adapters.github import comment_marker

    return comment_marker(workflow or "mlops-ci", config.report.marker)


def publish_to_github(
    document: ReportDocument,
    markdown: str,
    ctx: Any,
    config: Config,
    *,
    workflow: str | None = None,
    head_sha: str | None = None,
    gh: Any = None,
) -> str | None:
    """Sticky comment (when there is a PR) and a check run; returns the comment URL."""
    from mlops_ci.adapters.github import GitHubRepo

    gh = gh or GitHubRepo.for_run(ctx)
    workflow_name = workflow if workflow is not None else (ctx.workflow or "mlops-ci")
    number = document.pr_number or ctx.pr_number
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    url = None
    if number:
        result = gh.upsert_comment(
            number,
            markdown,
            workflow=workflow_name,
            kind=config.report.marker,
            mode=config.report.comment,
            full_report_url=summary_url,
        )
        url = result.url if result is not None else None
    sha = head_sha or ctx.head_sha or document.head.sha
    if config.report.check_run and sha:
        conclusion = {"fail": "failure", "pass": "success"}.get(document.verdict, "neutral")
        try:
            gh.publish_check_run(
                CHECK_RUN_NAME,
                sha,
                conclusion,
                title=summary_line(document),
                summary=markdown,
                details_url=ctx.run_url or None,
                full_report_url=summary_url,
            )
        except GitHubError as exc:
            # The comment is out; a missing `checks: write` should not hide it behind exit 1.
            _warn(f"the check run was not published: {exc.message}", exc.hint)
    return url


def _warn(message: str, hint: str | None = None) -> None:
    import sys

    from mlops_ci.adapters.actions import ActionsRuntime

    print(f"warning: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    ActionsRuntime.from_environ(os.environ).warning(message)


# --- the fork bundle ------------------------------------------------------------------


@dataclass
class PostOutcome:
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
    ctx: Any,
    run_id: str | None,
    pull_head: Any = None,
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
    *,
    root: Path,
    env: Mapping[str, str] | None = None,
    run_id: str | None = None,
    config_path: Path | None = None,
    dry_run: bool = False,
    gh: Any = None,
) -> PostOutcome:
    """Validate a fork's bundle and publish a comment re-rendered from its data."""
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.context import RunContext

    env = dict(os.environ if env is None else env)
    ctx = RunContext.from_environ(env)
    runtime = ActionsRuntime.from_environ(env)
    if ctx.token is not None:
        runtime.mask(ctx.token.get_secret_value())
    metadata, untrusted = read_bundle(bundle)
    from mlops_ci.adapters.github import GitHubRepo
    from mlops_ci.services.report import collect_trend

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
            document, markdown, ctx, config,
            workflow=workflow_name, head_sha=metadata.head_sha, gh=gh,
        )  # fmt: skip
    if runtime.on_runner:
        runtime.append_summary(markdown)
        runtime.set_output("gate", document.verdict)
        runtime.set_output("comment-url", outcome.comment_url or "")
    return outcome
