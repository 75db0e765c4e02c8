"""Publishing a fork PR's report from its bundle (`mlops-ci post`), the fork-safe phase two.

A pull request from a fork runs with a read-only token, so `report` saves a bundle
(report data plus where it belongs, see `services/shared/bundle.py`) as an artifact, and
a `workflow_run` workflow in the base repository runs `mlops-ci post --bundle DIR`. That
bundle was written by code from the fork, so everything in it is untrusted:

- its shape, size and JSON are checked and both files validated by strict models;
- the repository must be this one, the head commit must be the one the triggering
  workflow run built, the run id must be that run's, and the PR number must be one of
  that run's pull requests (or, when GitHub leaves that list empty, as it does for
  forks, a PR of this repository whose head is that commit);
- only the head values are taken from it. The base values are read from this trusted
  checkout at the pull request's base commit (as GitHub names it), and every status,
  delta, gate and the verdict are computed again here with this repository's config:
  the bundle's own statuses, base values, "no baseline" marks, gates and verdict are
  never used;
- the comment is rendered again from the data, with every string escaped, and the
  check run is named `mlops-ci report (fork)`, apart from the same-repository one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.config import LoadedConfig, load_config
from mlops_ci.context import RunContext
from mlops_ci.core import gates as core_gates
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.errors import GitError, InputError
from mlops_ci.report.render import (
    MetricRow,
    RenderOptions,
    ReportDocument,
    Revision,
    render_markdown,
)
from mlops_ci.services.shared.baseline import BaseReader, Collected, read_side
from mlops_ci.services.shared.baselines import (
    Baselines,
    collect_baselines,
    split_gates,
    with_baselines,
)
from mlops_ci.services.shared.bundle import BundleMetadata, read_bundle
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.publish import (
    FORK_CHECK_RUN_NAME,
    publish_to_github,
    report_marker,
)
from mlops_ci.services.shared.trend import collect_trend

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHubRepo

__all__ = [
    "BundleMetadata",
    "PostOutcome",
    "post_bundle",
    "read_bundle",
    "recompute",
    "verify_bundle",
]


@dataclass
class PostOutcome:
    """The comment re-rendered from a fork's bundle, and where it was posted."""

    document: ReportDocument
    markdown: str
    comment_url: str | None = None
    dry_run: bool = False
    messages: list[str] = field(default_factory=list)


def _listed_pulls(run: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
    pulls = run.get("pull_requests") or []
    return {int(p["number"]): p for p in pulls if isinstance(p, Mapping) and "number" in p}


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
    if str(metadata.run_id) != expected_run:
        raise InputError(
            f"the bundle was made by run {metadata.run_id}, not the triggering run {expected_run}"
        )
    if metadata.head_sha != str(run.get("head_sha", "")):
        raise InputError("the bundle's head commit is not the commit the workflow run built")
    numbers = _listed_pulls(run)
    if numbers:
        if metadata.pr_number not in numbers:
            raise InputError(
                f"PR #{metadata.pr_number} is not a pull request of the triggering workflow run"
            )
        return run
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


# --- the trusted base and the recomputed report -----------------------------------------


@dataclass
class TrustedBase:
    """The base side as this repository knows it: never taken from the bundle."""

    ref: str | None
    sha: str | None
    metrics: Collected
    params: Collected
    notes: list[str] = field(default_factory=list)


def pull_base(
    run: Mapping[str, Any], number: int, gh: GitHubRepo | None
) -> tuple[str | None, str | None]:
    """(base branch, base commit) of the PR: from the event when it lists the PR, else
    from GitHub; (None, None) when neither says."""
    listed = _listed_pulls(run).get(number)
    base = listed.get("base") if listed is not None else None
    if isinstance(base, Mapping) and base.get("sha"):
        return str(base.get("ref") or "") or None, str(base["sha"])
    found = gh.pull_base(number) if gh is not None else None
    return found if found is not None else (None, None)


def _unreadable(files: list[str], why: str) -> Collected:
    return Collected(missing=dict.fromkeys(files, why))


def read_trusted_base(
    root: Path, loaded: LoadedConfig, ref: str | None, sha: str | None
) -> TrustedBase:
    """Metrics and params of this repository's config, read from this checkout at `sha`."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git

    config = loaded.config
    metric_files, param_files = list(config.metrics.files), list(config.params.files)
    if config.baseline == "none":
        return TrustedBase(ref, sha, _unreadable(metric_files, "baseline: none"),
                           _unreadable(param_files, "baseline: none"))  # fmt: skip
    git = Git(root)
    why = None
    if sha is None:
        why = "GitHub did not say which commit the pull request is based on"
    elif not git.is_repo():
        why = "the trusted checkout is not a git repository"
    else:
        try:
            sha = git.rev_parse(sha)
        except GitError:
            why = (
                f"the pull request's base commit {sha[:12]} is not in the trusted checkout "
                "(check it out with fetch-depth: 0)"
            )
    if why is not None or sha is None:
        why = why or "no base commit"
        note = f"No base values: {why}; regressions against the base were not checked."
        return TrustedBase(ref, sha, _unreadable(metric_files, why),
                           _unreadable(param_files, why), [note])  # fmt: skip
    reader = BaseReader(git, Dvc(root), sha, config.baseline)
    return TrustedBase(
        ref,
        sha,
        read_side(metric_files, reader.read, parse_metrics),
        read_side(param_files, reader.read, parse_params),
    )


def _head_values(rows: list[MetricRow]) -> dict[str, dict[str, Any]]:
    """The fork's head values by file; a row is absent at the head only when it has no
    head value (the bundle's `status` is not believed)."""
    files: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.head is None and row.status == "removed":
            continue
        files.setdefault(row.file, {})[row.key] = row.head
    return files


def _rediff(
    base: Collected, rows: list[MetricRow], files: list[str], notes: list[str]
) -> core_metrics.DiffResult:
    head = _head_values(rows)
    extra = [name for name in head if name not in files]
    if extra:
        # Names only the bundle gives are never looked up in the trusted checkout: the
        # base config does not list them, so to the base they are new (shown as added).
        notes.append(
            f"{len(extra)} file(s) in the report are not in this repository's config: "
            "shown as added, not compared with the base."
        )
    return core_metrics.diff(base.files, head, files=[*files, *extra], no_base=base.missing)


def recompute(
    untrusted: ReportDocument, base: TrustedBase, loaded: LoadedConfig, *, root: Path | None = None
) -> ReportDocument:
    """The report with the fork's head values only: statuses, deltas, "no baseline"
    marks, gates and the verdict computed here against the trusted base. The extra
    baselines (`report.baselines`) are read from the trusted checkout at `root`; without
    one there are none: the bundle's are never shown."""
    config = loaded.config
    notes = list(base.notes)
    files = list(config.metrics.files)
    metrics = _rediff(base.metrics, untrusted.metrics, files, notes)
    params = _rediff(base.params, untrusted.params, list(config.params.files), notes)
    own_gates, vs_gates = split_gates(config.metrics.gates)
    summary = core_gates.evaluate(metrics, own_gates, config.report.precision)
    found = Baselines()
    if root is not None:
        found = collect_baselines(
            root,
            config,
            diff_with=lambda side: _rediff(side, untrusted.metrics, files, []),
            branch=base.ref,
        )
    document = untrusted.model_copy(
        update={
            "base": Revision(ref=base.ref, sha=base.sha),
            "baseline": config.baseline,
            "metrics": [MetricRow.from_delta(r) for r in metrics.rows],
            "params": [MetricRow.from_delta(r) for r in params.rows],
            "metrics_no_base": metrics.no_base,
            "params_no_base": params.no_base,
            "notes": [*notes, *untrusted.notes],
            "baselines": [],
        }
    )
    if root is not None:
        from mlops_ci.adapters.git import Git

        document = with_baselines(document, found, git=Git(root))
    return document.with_gates(summary, found.judge(config, vs_gates))


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
    base = read_trusted_base(root, loaded, *pull_base(run, metadata.pr_number, gh))
    # Trusted facts replace whatever the bundle claims about where it belongs.
    workflow_name = str(run.get("name") or "mlops-ci")
    run_url = str(run.get("html_url") or "") or None
    document = recompute(untrusted, base, loaded, root=root).model_copy(
        update={
            "repository": ctx.repository,
            "pr_number": metadata.pr_number,
            "run_url": run_url,
            "head": untrusted.head.model_copy(
                update={"sha": metadata.head_sha, "age_seconds": None}
            ),
            # A fork's idea of the base branch's history is not evidence: recompute it
            # from this trusted checkout, or show none.
            "trend": collect_trend(root, loaded, None) if config.report.trend else None,
        }
    )
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
            document, markdown, ctx, config, job.progress, workflow=workflow_name,
            head_sha=metadata.head_sha, gh=gh, check_name=FORK_CHECK_RUN_NAME,
        )  # fmt: skip
    return outcome
