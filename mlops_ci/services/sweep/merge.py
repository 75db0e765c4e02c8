"""`sweep merge`: the cells' bundles into one leaderboard, written and published.

Bundles are read as untrusted data (`records`), each run is diffed against the base
metrics and gated (`leaderboard`), and the leaderboard is published like the PR
report: one sticky comment per workflow, marker kind `sweep`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_ci.adapters.files import write_atomic
from mlops_ci.config import Config, LoadedConfig, load_config
from mlops_ci.context import RunContext
from mlops_ci.core.formats import parse_metrics
from mlops_ci.core.markers import comment_marker
from mlops_ci.errors import ConfigError, GitError, InputError
from mlops_ci.report.leaderboard import Leaderboard, render_leaderboard
from mlops_ci.report.render import Revision
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.publish import choose_publish
from mlops_ci.services.sweep.leaderboard import build_leaderboard
from mlops_ci.services.sweep.plan import plan_sweep
from mlops_ci.services.sweep.records import (
    RunRecord,
    find_records,
    read_record,
    unreadable_record,
)

Publish = Literal["auto", "github", "local", "none"]

LEADERBOARD_MD = "leaderboard.md"
LEADERBOARD_JSON = "leaderboard.json"
MARKER_KIND = "sweep"
DEFAULT_OUTPUT = Path(".mlops-ci/sweep")


@dataclass
class MergeRequest:
    """Which bundles to merge, where the leaderboard goes, and what to compare with."""

    root: Path
    dirs: list[Path]
    config_path: Path | None = None
    output: Path = DEFAULT_OUTPUT
    publish: Publish = "auto"
    base: str | None = None
    dry_run: bool = False


@dataclass
class MergeOutcome:
    """The leaderboard, where it was written, and where it was published."""

    board: Leaderboard
    markdown: str
    output_dir: Path
    markdown_path: Path
    json_path: Path
    publish: str
    comment_url: str | None = None
    dry_run_preview: str | None = None
    messages: list[str] = field(default_factory=list)
    #: The whole leaderboard, never cut to a comment's size: what a job summary shows.
    full_markdown: str = ""


def merge_sweep(request: MergeRequest, job: Job) -> MergeOutcome:
    """Merge cell bundles into one leaderboard; write it; publish it."""
    ctx = job.context
    if ctx.token is not None:
        job.actions.mask(ctx.token.get_secret_value())
    root = request.root.resolve()
    loaded = load_config(root, request.config_path)
    board = _leaderboard(request, root, loaded, ctx)
    target = choose_publish(request.publish, ctx)
    if target == "artifact":
        target = "local"
        board.notes.append("A pull request from a fork: the leaderboard is in the job summary.")
    marker = comment_marker(ctx.workflow or "mlops-ci", MARKER_KIND)
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    precision = loaded.config.report.precision
    markdown = render_leaderboard(
        board, marker=marker, precision=precision, full_report_url=summary_url
    )
    output_dir = request.output if request.output.is_absolute() else root / request.output
    outcome = MergeOutcome(
        board=board,
        markdown=markdown,
        output_dir=output_dir,
        markdown_path=output_dir / LEADERBOARD_MD,
        json_path=output_dir / LEADERBOARD_JSON,
        publish=target,
    )
    write_atomic(outcome.json_path, board.model_dump_json(indent=2) + "\n")
    write_atomic(outcome.markdown_path, markdown)
    if target == "github":
        _post(outcome, request.dry_run, ctx, loaded.config, summary_url)
    if job.on_runner:
        outcome.full_markdown = render_leaderboard(
            board, marker=marker, precision=precision, limit=1_000_000
        )
    return outcome


def _leaderboard(
    request: MergeRequest, root: Path, loaded: LoadedConfig, ctx: RunContext
) -> Leaderboard:
    """Every bundle read, diffed against the base metrics and ranked."""
    dirs = [d if d.is_absolute() else root / d for d in request.dirs]
    records = _read_bundles(dirs, root)
    try:
        planned_keys = plan_sweep(root, request.config_path).keys
    except ConfigError:
        planned_keys = []
    base_files, base_missing, base_rev, notes = base_metrics(root, loaded.config, ctx, request.base)
    board = build_leaderboard(
        records,
        config=loaded.config,
        base_files=base_files,
        base_missing=base_missing,
        base=base_rev,
        keys=planned_keys or None,
    )
    board.notes.extend(notes)
    return board


def _read_bundles(dirs: Sequence[Path], root: Path) -> list[tuple[RunRecord, str]]:
    """(record, where it was read from); an unreadable bundle becomes a failed run."""
    records: list[tuple[RunRecord, str]] = []
    for path in find_records(dirs):
        shown = _shown(path.parent, root)
        try:
            records.append((read_record(path), shown))
        except InputError as exc:
            records.append((unreadable_record(path, exc.message), shown))
    return records


def base_metrics(
    root: Path, config: Config, ctx: RunContext, explicit: str | None
) -> tuple[dict[str, dict[str, Any]], dict[str, str], Revision, list[str]]:
    """Metrics at the base (the merge base with the default branch, or `--base`):
    (parsed files, why others are missing, the base revision, notes)."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.services.shared.baseline import BaseReader, read_side, resolve_base

    files = list(config.metrics.files)
    git = Git(root)
    if config.baseline == "none":
        return {}, dict.fromkeys(files, "baseline: none"), Revision(), []
    if not git.is_repo():
        return {}, dict.fromkeys(files, "not a git repository"), Revision(), []
    try:
        sha, ref, notes = resolve_base(git, config, ctx, explicit)
    except GitError as exc:
        if explicit:
            raise
        reason = f"no base: {exc.message}"
        return {}, dict.fromkeys(files, reason), Revision(), [reason]
    reader = BaseReader(git, Dvc(root), sha, config.baseline)
    side = read_side(files, reader.read, parse_metrics)
    return side.files, side.missing, Revision(ref=ref, sha=sha), notes


def _post(
    outcome: MergeOutcome,
    dry_run: bool,
    ctx: RunContext,
    config: Config,
    summary_url: str | None,
) -> None:
    """The sticky comment on the pull request (a preview on a dry run)."""
    if dry_run:
        outcome.dry_run_preview = outcome.markdown
        return
    if not ctx.pr_number:
        outcome.messages.append("No pull request: the leaderboard goes to the job summary.")
        return
    from mlops_ci.adapters.github import GitHubRepo

    result = GitHubRepo.for_run(ctx).upsert_comment(
        ctx.pr_number,
        outcome.markdown,
        workflow=ctx.workflow or "mlops-ci",
        kind=MARKER_KIND,
        mode=config.report.comment,
        full_report_url=summary_url,
    )
    outcome.comment_url = result.url if result is not None else None


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
