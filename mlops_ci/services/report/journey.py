"""The PR report journey: run → collect base and head → diff → gates → render → publish.

Adapters (git, DVC, GitHub) are wired here to the pure core (`core.metrics`,
`core.gates`) and the renderer (`report.render`). The command layer builds the `Job`,
turns the outcome into terminal output, Actions outputs and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mlops_ci.adapters.dvc import Dvc
from mlops_ci.adapters.files import write_atomic
from mlops_ci.adapters.git import Git
from mlops_ci.config import LoadedConfig, load_config
from mlops_ci.context import RunContext, pull_request_problem
from mlops_ci.errors import GateFailed, GitError, InputError
from mlops_ci.report.render import RenderOptions, ReportDocument, render_markdown
from mlops_ci.services.report.deferred import defer_publish
from mlops_ci.services.report.document import build_document, render_options
from mlops_ci.services.shared.bundle import write_bundle
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.pipeline import PipelineRun, after_run, run_pipeline
from mlops_ci.services.shared.publish import Publish, choose_publish, publish_to_github

REPORT_MD = "report.md"
REPORT_JSON = "report.json"


@dataclass
class ReportRequest:
    """What `mlops-ci report` was asked to do."""

    root: Path
    config_path: Path | None = None
    base: str | None = None
    run: bool = True
    output: Path = Path(".mlops-ci")
    publish: Publish = "auto"
    dry_run: bool = False
    fail_on_gate: bool | None = None
    # The demo's pipeline is ours: run it with mlops-ci's own Python first on PATH.
    own_python_first: bool = False


@dataclass
class ReportOutcome:
    """What the report did: the document, where it was written and where it went."""

    document: ReportDocument
    markdown: str
    output_dir: Path
    report_md: Path
    report_json: Path
    publish: str
    comment_url: str | None = None
    bundle_dir: Path | None = None
    dry_run_preview: str | None = None
    fail_on_gate: bool = False
    #: The whole report, never cut to the comment's size: what a job summary shows.
    full_markdown: str = ""

    @property
    def gate_failed(self) -> bool:
        return self.document.verdict == "fail"


def write_outputs(outcome_dir: Path, document: ReportDocument, markdown: str) -> tuple[Path, Path]:
    """`report.json` and `report.md` in the output directory (`--output`).

    An `--output` that names a file (or lies under one), or cannot be written, is one
    `InputError` line; nothing is written then.
    """
    md_path = outcome_dir / REPORT_MD
    json_path = outcome_dir / REPORT_JSON
    existing = next((p for p in (outcome_dir, *outcome_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise InputError(
            f"--output {outcome_dir}: {existing} is a file; expected a directory",
            hint="name a directory (it is created when missing)",
        )
    try:
        write_atomic(json_path, document.model_dump_json(indent=2) + "\n")
        write_atomic(md_path, markdown)
    except OSError as exc:
        raise InputError(f"--output {outcome_dir}: cannot write: {exc.strerror}") from None
    return md_path, json_path


def _check_event(job: Job) -> None:
    ctx = job.context
    problem = pull_request_problem(ctx.event_name, ctx.event)
    if problem is not None:
        raise InputError(
            f"the {ctx.event_name} event payload has {problem}",
            hint="run report from a pull_request event as GitHub sends it",
            file=job.env.get("GITHUB_EVENT_PATH") or None,
        )


def _open_repository(root: Path) -> Git:
    git = Git(root)
    if not git.is_repo():
        raise GitError(
            f"{root}: not a git repository", hint="run mlops-ci report in your repository"
        )
    return git


def _choose_target(request: ReportRequest, ctx: RunContext) -> str:
    target = choose_publish(request.publish, ctx)
    if target == "artifact" and not (ctx.pr_number and ctx.repository):
        # The bundle says which pull request it belongs to; `post` rejects one that does not.
        raise InputError(
            "--publish artifact makes a fork bundle for a pull request, and this run has none"
            + (f" (event: {ctx.event_name})" if ctx.event_name else ""),
            hint="run it from a pull_request event, or use --publish local",
        )
    return target


def _run(request: ReportRequest, job: Job, loaded: LoadedConfig, git: Git, dvc: Dvc) -> PipelineRun:
    progress = job.progress
    run = run_pipeline(loaded.config, dvc, sink=progress.line, group=progress.group)
    after_run(
        loaded.config, dvc, git, run, ctx=job.context, sink=progress.line, group=progress.group
    )
    return run


def generate_report(request: ReportRequest, job: Job) -> ReportOutcome:
    """The whole `mlops-ci report`: returns what was done; `check_gates` raises last."""
    ctx = job.context
    if ctx.token is not None:
        job.actions.mask(ctx.token.get_secret_value())
    _check_event(job)
    root = request.root.resolve()
    git = _open_repository(root)
    loaded = load_config(root, request.config_path)
    dvc = Dvc(root, own_python_first=request.own_python_first)
    run = _run(request, job, loaded, git, dvc) if request.run else None
    document = build_document(root, loaded, job, base=request.base, run=run, git=git, dvc=dvc)
    if run is not None and run.lock_problem:
        document = document.with_lock_problem(run.lock_problem)
    output_dir = request.output if request.output.is_absolute() else root / request.output
    target = _choose_target(request, ctx)
    options = render_options(loaded, ctx, f"{ctx.run_url}#summary" if ctx.run_url else None)
    markdown = render_markdown(document, options)
    md_path, json_path = write_outputs(output_dir, document, markdown)
    fail_on_gate = request.fail_on_gate
    if fail_on_gate is None:
        fail_on_gate = ctx.on_runner or job.env.get("CI", "").lower() in ("true", "1")
    outcome = ReportOutcome(
        document=document, markdown=markdown, output_dir=output_dir, report_md=md_path,
        report_json=json_path, publish=target, fail_on_gate=fail_on_gate,
    )  # fmt: skip
    if target == "artifact":
        outcome.bundle_dir = write_bundle(output_dir, document, ctx)
    if target == "github":
        if request.dry_run:
            outcome.dry_run_preview = markdown
        elif ctx.publishes_later:  # the action's next step holds the token and posts
            defer_publish(Path(ctx.publish_dir), document, fail_on_gate=fail_on_gate)
            outcome.fail_on_gate = False  # `mlops-ci publish` exits 2 after posting
        else:
            outcome.comment_url = publish_to_github(
                document, markdown, ctx, loaded.config, job.progress
            )
    if job.on_runner:
        # The full report (not cut) is what the summary link in a cut comment points at.
        outcome.full_markdown = render_markdown(document, _uncut(options))
    return outcome


def _uncut(options: RenderOptions) -> RenderOptions:
    # A job summary may hold up to 1 MiB (bytes; leave room for multi-byte characters).
    return replace(options, limit=900_000)


def check_gates(outcome: ReportOutcome) -> None:
    """Raise `GateFailed` (exit 2) when a gate failed and failing is on."""
    if outcome.gate_failed and outcome.fail_on_gate:
        failed = outcome.document.failed_gates
        detail = "; ".join(f"{g.gate}: {g.reason}" for g in failed[:5])
        raise GateFailed(
            f"{len(failed)} quality gate(s) failed: {detail}",
            hint=f"the full report is in {outcome.report_md}",
        )
