"""The PR report journey: run → collect base and head → diff → gates → render → publish.

Adapters (git, DVC, GitHub, the Actions runtime) are wired here to the pure core
(`core.metrics`, `core.gates`) and the renderer (`report.render`). The command
layer turns the outcome into terminal output and an exit code.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_ci.adapters.dvc import DataChange, Dvc, stage_hashes, tracked_files
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config, LoadedConfig, load_config
from mlops_ci.core import gates as core_gates
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_data_file, parse_metrics, parse_params, parse_table
from mlops_ci.errors import DvcError, GateFailed, GitError, InputError
from mlops_ci.report.render import (
    DataDiff,
    DataEntry,
    MetricRow,
    PlotRow,
    PlotSeries,
    RenderOptions,
    ReportDocument,
    Reproducibility,
    Revision,
    render_markdown,
    summary_line,
)

Publish = Literal["auto", "github", "local", "artifact", "none"]
LineSink = Callable[[str], None]

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
BUNDLE_DIR = "bundle"
METADATA_JSON = "metadata.json"


# --- small helpers ------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file and `os.replace`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def tool_versions() -> dict[str, str]:
    """Versions that matter for reproducing a run (read without importing the packages)."""
    from importlib.metadata import PackageNotFoundError, version

    from mlops_ci import __version__

    found = {"mlops-ci": __version__, "python": platform.python_version()}
    for dist in ("dvc", "scikit-learn"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


# --- collection -----------------------------------------------------------------------


@dataclass
class Collected:
    """Parsed files at one side; `missing` maps a file to why it has no values."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


@dataclass
class BaseReader:
    """Reads files as they were at the base commit: git first, then DVC (or a worktree)."""

    git: Git
    dvc: Dvc
    sha: str
    mode: str
    reproduced: Path | None = None
    _tracked: dict[str, Any] | None = None

    def tracked(self) -> dict[str, Any]:
        """DVC outputs recorded at the base (`dvc.lock` and `.dvc` files)."""
        if self._tracked is None:
            lock = self.git.show_file(self.sha, "dvc.lock")
            listing = self.git.run("ls-tree", "-r", "--name-only", self.sha, check=False)
            names = listing.stdout.decode("utf-8", "replace").splitlines()
            dvc_files = {}
            for name in names:
                if name.endswith(".dvc"):
                    raw = self.git.show_file(self.sha, name)
                    if raw is not None:
                        dvc_files[name] = raw.decode("utf-8", "replace")
            self._tracked = dict(
                tracked_files(lock.decode("utf-8", "replace") if lock else None, dvc_files)
            )
        return self._tracked

    def read(self, path: str) -> tuple[bytes | None, str | None]:
        """(bytes, None); (None, None) when the file is new in this change; (None, why)."""
        raw = self.git.show_file(self.sha, path)
        if raw is not None:
            return raw, None
        if self.mode == "none":
            return None, "baseline: none"
        if self.reproduced is not None and (self.reproduced / path).is_file():
            return (self.reproduced / path).read_bytes(), None
        if path.rstrip("/") in self.tracked():
            if self.mode != "dvc":
                return None, f"a DVC output, not in git at the base (baseline: {self.mode})"
            try:
                return self.dvc.read_at_rev(path, self.sha), None
            except DvcError as exc:
                return None, f"not in the DVC cache or remote ({exc.message})"
        if self.git.show_file("HEAD", path) is not None:
            return None, None  # committed in this change: a new file
        if self.reproduced is not None:
            return None, "not produced by the base pipeline"
        return None, (
            "an output not committed to git nor tracked by DVC at the base "
            "(baseline: reproduce would run the base pipeline)"
        )


def _read_side(
    files: list[str],
    reader: Callable[[str], tuple[bytes | None, str | None]],
    parse: Callable[[bytes, str], dict[str, Any]],
) -> Collected:
    result = Collected()
    for name in files:
        raw, why = reader(name)
        if raw is None:
            if why is not None:
                result.missing[name] = why
            continue
        try:
            result.files[name] = parse(raw, name)
        except InputError as exc:
            result.missing[name] = exc.message
    return result


def _workspace_reader(root: Path) -> Callable[[str], tuple[bytes | None, str | None]]:
    def read(path: str) -> tuple[bytes | None, str | None]:
        candidate = root / path
        if candidate.is_file():
            return candidate.read_bytes(), None
        return None, "missing in the workspace (did the pipeline run?)"

    return read


def _plot_series(data: Any, x: str | None, y: str | None) -> tuple[PlotSeries, str, str] | None:
    """Numeric (x, y) columns from a plots file's rows; x defaults to the row index."""
    rows: Any = data
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        rows = lists[0] if len(lists) == 1 else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return None
    columns = list(rows[0])
    y_name = y or (columns[-1] if columns else None)
    if y_name is None:
        return None
    xs: list[float] = []
    ys: list[float] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        xv: Any = row.get(x, None) if x else index
        yv: Any = row.get(y_name)
        if core_metrics.is_number(xv) and core_metrics.is_number(yv):
            xs.append(float(xv))
            ys.append(float(yv))
    if not xs:
        return None
    return PlotSeries(xs=xs, ys=ys), x or "step", y_name


def _parse_plot(raw: bytes, path: str) -> Any:
    suffix = path.rsplit(".", 1)[-1].lower()
    text = raw.decode("utf-8", "replace")
    if suffix in ("csv", "tsv"):
        return parse_table(text, "," if suffix == "csv" else "\t")
    return parse_data_file(raw, path)


def _plot_field(value: Any) -> tuple[str | None, str | None]:
    """`x: fpr` or `y: {roc.csv: tpr}` → (file or None, field)."""
    if isinstance(value, str):
        return None, value
    if isinstance(value, dict) and value:
        file, column = next(iter(value.items()))
        if isinstance(column, list):
            column = column[0] if column else None
        return str(file), None if column is None else str(column)
    return None, None


def _stage_plot_props(root: Path) -> dict[str, dict[str, Any]]:
    """Options of plots declared inside stages (`- plots/roc.csv: {x: fpr, y: tpr}`)."""
    import yaml

    path = root / "dvc.yaml"
    try:
        data = yaml.safe_load(path.read_text("utf-8")) if path.is_file() else None
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    found: dict[str, dict[str, Any]] = {}
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return found
    for body in stages.values():
        entries = body.get("plots") if isinstance(body, dict) else None
        wdir = str(body.get("wdir", ".")) if isinstance(body, dict) else "."
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                for name, options in entry.items():
                    key = str(name) if wdir in ("", ".") else f"{wdir.rstrip('/')}/{name}"
                    if isinstance(options, dict):
                        found[key] = {k: v for k, v in options.items() if k in ("x", "y", "title")}
    return found


def collect_plots(
    declared: list[dict[str, Any]],
    root: Path,
    base: BaseReader | None,
    max_plots: int = 4,
) -> list[PlotRow]:
    plots: list[PlotRow] = []
    props = _stage_plot_props(root)
    for declared_entry in declared[:max_plots]:
        entry = {**props.get(str(declared_entry.get("id", "")), {}), **declared_entry}
        plot_id = str(entry.get("id", ""))
        x_file, x = _plot_field(entry.get("x"))
        y_file, y = _plot_field(entry.get("y"))
        path = str(entry.get("path") or y_file or x_file or plot_id)
        if not path or "*" in path or (root / path).is_dir():
            continue
        head_raw = _workspace_reader(root)(path)[0]
        if head_raw is None:
            continue
        try:
            head = _plot_series(_parse_plot(head_raw, path), x, y)
        except InputError:
            continue
        if head is None:
            continue
        base_series = None
        if base is not None:
            raw = base.git.show_file(base.sha, path)
            if raw is None and base.reproduced is not None and (base.reproduced / path).is_file():
                raw = (base.reproduced / path).read_bytes()
            if raw is not None:
                try:
                    parsed = _plot_series(_parse_plot(raw, path), x, y)
                    base_series = parsed[0] if parsed else None
                except InputError:
                    base_series = None
        series, x_name, y_name = head
        title = str(entry.get("title") or plot_id)
        plots.append(
            PlotRow(id=plot_id, title=title, x=x_name, y=y_name, head=series, base=base_series)
        )
    return plots


def collect_data_diff(
    dvc: Dvc, git: Git, root: Path, base_sha: str, base_tracked: Callable[[], dict[str, Any]]
) -> DataDiff:
    if not (root / ".dvc").is_dir():
        return DataDiff(available=False, note="Not a DVC repository: no data changes to show.")
    try:
        changes: list[DataChange] = dvc.data_diff(base_sha)
    except DvcError as exc:
        return DataDiff(available=False, note=f"Data changes unavailable: {exc.message}")
    head_lock = root / "dvc.lock"
    head_dvc_files = {
        str(p.relative_to(root)): p.read_text("utf-8", "replace") for p in _dvc_files(root)
    }
    head_tracked = tracked_files(
        head_lock.read_text("utf-8", "replace") if head_lock.is_file() else None, head_dvc_files
    )
    old = base_tracked()
    entries = []
    for change in changes:
        key = change.path.rstrip("/")
        size_head: int | None = None
        if key in head_tracked:
            size_head = head_tracked[key].size
        elif change.status != "deleted" and (root / key).is_file():
            size_head = (root / key).stat().st_size
        size_base = old[key].size if key in old else None
        if change.status == "added":
            size_base = None
        if change.status == "deleted":
            size_head = None
        status = change.status
        if status == "not in cache":
            # A fresh checkout holds only the head's data; the recorded hashes still tell.
            status = _status_from_hashes(old.get(key), head_tracked.get(key))
        entries.append(
            DataEntry(
                path=change.path,
                status=status,  # type: ignore[arg-type, unused-ignore]
                size_base=size_base,
                size_head=size_head,
            )
        )
    return DataDiff(available=True, entries=entries)


def _status_from_hashes(base: Any, head: Any) -> str:
    if base is None and head is not None:
        return "added"
    if head is None and base is not None:
        return "deleted"
    if base is not None and head is not None and base.md5 and head.md5:
        return "modified" if base.md5 != head.md5 else "not in cache"
    return "not in cache"


def _dvc_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".dvc", "node_modules", ".venv")]
        for name in filenames:
            if name.endswith(".dvc"):
                yield Path(dirpath) / name


# --- the run step ---------------------------------------------------------------------


@dataclass
class RunOutcome:
    seconds: float | None = None
    pulled: bool = False
    pushed: bool = False
    command: str | None = None
    notes: list[str] = field(default_factory=list)
    # Set when `pipeline.lock` must fail the report: dvc.lock is stale and not fixed.
    lock_problem: str | None = None


def run_pipeline(
    config: Config,
    dvc: Dvc,
    *,
    sink: LineSink | None,
    group: Callable[[str], Any],
    cwd: Path | None = None,
) -> RunOutcome:
    """`dvc pull` (per `pipeline.pull`) and then the pipeline command, streamed."""
    outcome = RunOutcome(command=config.pipeline.run)
    start = time.monotonic()
    pull = config.pipeline.pull
    if pull == "always" or (pull == "auto" and dvc.has_remote()):
        with group("dvc pull"):
            try:
                dvc.pull(sink)
                outcome.pulled = True
            except DvcError as exc:
                if pull == "always":
                    raise
                # A first run has nothing to pull yet; the pipeline will say what is missing.
                if sink is not None:
                    sink(f"warning: {exc.message}; continuing with the pipeline")
    with group(config.pipeline.run):
        dvc.run_pipeline(
            config.pipeline.run, sink=sink, cwd=cwd, timeout=config.pipeline.timeout_minutes * 60
        )
    outcome.seconds = time.monotonic() - start
    return outcome


def after_run(
    config: Config,
    dvc: Dvc,
    git: Git,
    outcome: RunOutcome,
    *,
    ctx: Any,
    sink: LineSink | None,
    group: Callable[[str], Any],
) -> None:
    """Keep `dvc.lock` true (`pipeline.lock`) and push outputs (`pipeline.push`).

    `check` fails the report when the run changed `dvc.lock` (or a `.dvc` file);
    `commit` commits them back to a same-repository PR branch instead, and fails the
    report with the reason when it may not. Outputs are pushed only when this job may
    write to the remote (never from a fork); a failed push is a note, not a gate.
    """
    from mlops_ci.services.shared.lock import check_lock, commit_lock_back, may_push_outputs

    mode = config.pipeline.lock
    if mode != "off" and (git.root / "dvc.lock").is_file():
        status = check_lock(git.root)
        if status.stale and mode == "commit":
            committed = commit_lock_back(git.root, ctx)
            if committed.status == "committed":
                outcome.notes.append(
                    "dvc.lock was out of date; committed it to the PR branch as "
                    f"{committed.sha[:8]}"
                )
            elif committed.status == "refused":
                outcome.lock_problem = f"{status.describe()} (not committed: {committed.reason})"
        elif status.stale:
            outcome.lock_problem = status.describe()
    allowed, why = may_push_outputs(ctx, config.pipeline.push)
    if not dvc.has_remote():
        return
    if not allowed:
        if getattr(ctx, "on_runner", False):
            outcome.notes.append(f"DVC outputs were not pushed: {why}")
        return
    with group("dvc push"):
        try:
            dvc.push(sink)
            outcome.pushed = True
        except DvcError as exc:
            outcome.notes.append(f"dvc push failed (not a gate failure): {exc.message}")


@contextmanager
def base_worktree(git: Git, sha: str, cache_from: Path) -> Iterator[Path]:
    """A temporary `git worktree` at `sha` sharing the repository's DVC cache."""
    parent = Path(tempfile.mkdtemp(prefix="mlops-ci-base-"))
    path = parent / "base"
    git.run("worktree", "add", "--detach", "--force", str(path), sha)
    try:
        cache = cache_from / ".dvc" / "cache"
        if (path / ".dvc").is_dir():
            (path / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {cache}\n")
        yield path
    finally:
        git.run("worktree", "remove", "--force", str(path), check=False)
        shutil.rmtree(parent, ignore_errors=True)


# --- the whole journey ----------------------------------------------------------------


@dataclass
class ReportRequest:
    root: Path
    config_path: Path | None = None
    base: str | None = None
    run: bool = True
    output: Path = Path(".mlops-ci")
    publish: Publish = "auto"
    dry_run: bool = False
    fail_on_gate: bool | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # The demo's pipeline is ours: run it with mlops-ci's own Python first on PATH.
    own_python_first: bool = False


@dataclass
class ReportOutcome:
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

    @property
    def gate_failed(self) -> bool:
        return self.document.verdict == "fail"


def resolve_base(
    git: Git, config: Config, ctx: Any, explicit: str | None
) -> tuple[str, str | None, list[str]]:
    """(sha, ref label, notes): `--base`, else the merge base with the PR's base branch
    (from the event) or with the default branch."""
    notes: list[str] = []
    if explicit:
        return git.rev_parse(explicit), explicit, notes
    head = "HEAD"
    branch = getattr(ctx, "base_ref", "") or config.default_branch
    if not branch:
        branch = git.default_branch()
    try:
        ref = git.branch_ref(branch)
    except GitError:
        base_sha = getattr(ctx, "base_sha", "")
        if base_sha:
            notes.append(f"branch {branch} is not fetched; compared with the event's base commit")
            return git.rev_parse(base_sha), branch, notes
        raise
    merge_base = git.merge_base(ref, head)
    if merge_base is None:
        raise GitError(
            f"HEAD and {branch} share no history",
            hint="fetch full history (actions/checkout with fetch-depth: 0), or pass --base",
        )
    return merge_base, branch, notes


def _head_ref(git: Git, ctx: Any) -> str | None:
    head_ref = getattr(ctx, "head_ref", "")
    if head_ref:
        return str(head_ref)
    proc = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.decode().strip() or None if proc.returncode == 0 else None


def render_options(loaded: LoadedConfig, ctx: Any, full_report_url: str | None) -> RenderOptions:
    config = loaded.config
    template_text = None
    template_name = "pr_report.md.j2"
    if config.report.template:
        path = loaded.root / config.report.template
        if not path.is_file():
            raise InputError(
                f"{config.report.template}: report template not found",
                file=config.report.template,
            )
        try:
            template_text = path.read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{config.report.template}: the report template is not UTF-8 text "
                f"(byte {exc.start})",
                file=config.report.template,
            ) from None
        template_name = config.report.template
    from mlops_ci.services.post import report_marker

    return RenderOptions(
        marker=report_marker(getattr(ctx, "workflow", "") or "", config),
        fold_unchanged=config.report.fold_unchanged,
        max_rows=config.report.max_rows,
        precision=config.report.precision,
        template_text=template_text,
        template_name=template_name,
        full_report_url=full_report_url,
        plot_points=min(config.plots.max_points, 100),
    )


def build_document(
    root: Path,
    loaded: LoadedConfig,
    *,
    ctx: Any,
    base: str | None,
    run: RunOutcome | None,
    git: Git,
    dvc: Dvc,
    sink: LineSink | None = None,
    group: Callable[[str], Any] | None = None,
) -> ReportDocument:
    """Collect base and head, diff, evaluate gates: the report as data."""
    from mlops_ci.dvcfile import read_dvc_yaml

    config = loaded.config
    base_sha, base_ref, notes = resolve_base(git, config, ctx, base)
    head_sha = git.current_sha()
    declared = read_dvc_yaml(root)
    metric_files = list(config.metrics.files)
    param_files = list(config.params.files)

    with _maybe_reproduce(
        config, git=git, dvc=dvc, root=root, base_sha=base_sha, sink=sink, group=group
    ) as reproduced:
        reader = BaseReader(git, dvc, base_sha, config.baseline, reproduced)
        head_metrics = _read_side(metric_files, _workspace_reader(root), parse_metrics)
        head_params = _read_side(param_files, _workspace_reader(root), parse_params)
        if config.baseline == "none":
            base_metrics = Collected(missing=dict.fromkeys(metric_files, "baseline: none"))
            base_params = Collected(missing=dict.fromkeys(param_files, "baseline: none"))
        else:
            base_metrics = _read_side(metric_files, reader.read, parse_metrics)
            base_params = _read_side(param_files, reader.read, parse_params)
        plots = (
            collect_plots(declared.plots, root, reader if config.baseline != "none" else None)
            if config.plots.enabled
            else []
        )
        data = (
            collect_data_diff(dvc, git, root, base_sha, reader.tracked)
            if config.data.diff
            else DataDiff(available=False, note="Data diff is off (data.diff: false).")
        )

    metrics_diff = core_metrics.diff(
        base_metrics.files,
        {**head_metrics.files, **dict.fromkeys(head_metrics.missing)},
        files=metric_files,
        no_base=base_metrics.missing,
    )
    params_diff = core_metrics.diff(
        base_params.files,
        {**head_params.files, **dict.fromkeys(head_params.missing)},
        files=param_files,
        no_base=base_params.missing,
    )
    summary = core_gates.evaluate(metrics_diff, config.metrics.gates, config.report.precision)
    if run is not None:
        notes.extend(run.notes)
    for name, why in head_metrics.missing.items():
        notes.append(f"{name}: {why}")
    if not metric_files:
        notes.append("No metrics files: declare them in dvc.yaml or metrics.files")
    lock = root / "dvc.lock"
    document = ReportDocument(
        repository=getattr(ctx, "repository", "") or None,
        pr_number=getattr(ctx, "pr_number", None),
        run_url=getattr(ctx, "run_url", "") or None,
        base=Revision(ref=base_ref, sha=base_sha),
        head=Revision(ref=_head_ref(git, ctx), sha=head_sha),
        baseline=config.baseline,
        metrics=[MetricRow.from_delta(r) for r in metrics_diff.rows],
        params=[MetricRow.from_delta(r) for r in params_diff.rows],
        metrics_no_base=base_metrics.missing,
        params_no_base=base_params.missing,
        data=data,
        plots=plots,
        reproducibility=Reproducibility(
            run_seconds=run.seconds if run else None,
            pipeline=run.command if run else None,
            stages=stage_hashes(lock.read_text("utf-8", "replace") if lock.is_file() else None),
            versions=tool_versions(),
        ),
        notes=notes,
    )
    if config.report.trend:
        document = document.model_copy(update={"trend": collect_trend(root, loaded, base_ref)})
    return document.with_gates(summary)


def collect_trend(root: Path, loaded: LoadedConfig, branch: str | None) -> dict[str, Any]:
    """`report.trend`: the gated metrics over the newest commits of the base branch."""
    from mlops_ci.core.metric_history import history_json
    from mlops_ci.errors import MlopsCIError
    from mlops_ci.services.metric_history import metric_history

    config = loaded.config
    branch = (branch or config.default_branch or "").removeprefix("origin/") or None
    try:
        history = metric_history(
            root,
            branch,
            list(config.metrics.gates) or None,
            20,
            files=list(config.metrics.files),
            config_path=loaded.path,
        )
    except MlopsCIError as exc:
        return {"branch": branch or "", "error": exc.message}
    return history_json(history)


@contextmanager
def _maybe_reproduce(
    config: Config,
    *,
    git: Git,
    dvc: Dvc,
    root: Path,
    base_sha: str,
    sink: LineSink | None,
    group: Callable[[str], Any] | None,
) -> Iterator[Path | None]:
    if config.baseline != "reproduce":
        yield None
        return
    with base_worktree(git, base_sha, root) as path:
        base_dvc = Dvc(path)
        run_pipeline(config, base_dvc, sink=sink, group=group or no_group, cwd=path)
        yield path


@contextmanager
def no_group(title: str) -> Iterator[None]:
    yield


def choose_publish(requested: Publish, ctx: Any) -> str:
    """`auto`: artifact for a fork PR, github on a runner with a token, else local."""
    if requested != "auto":
        return requested
    if getattr(ctx, "is_fork", False) and getattr(ctx, "is_pull_request", False):
        return "artifact"
    if getattr(ctx, "on_runner", False) and getattr(ctx, "token", None) is not None:
        return "github"
    return "local"


def write_outputs(outcome_dir: Path, document: ReportDocument, markdown: str) -> tuple[Path, Path]:
    md_path = outcome_dir / REPORT_MD
    json_path = outcome_dir / REPORT_JSON
    write_atomic(json_path, document.model_dump_json(indent=2) + "\n")
    write_atomic(md_path, markdown)
    return md_path, json_path


def write_bundle(outcome_dir: Path, document: ReportDocument, ctx: Any) -> Path:
    """The fork bundle: report data and where it belongs; never Markdown."""
    bundle = outcome_dir / BUNDLE_DIR
    write_atomic(bundle / REPORT_JSON, document.model_dump_json() + "\n")
    metadata = {
        "schema_version": 1,
        "repository": getattr(ctx, "repository", "") or None,
        "pr_number": getattr(ctx, "pr_number", None),
        "head_sha": getattr(ctx, "head_sha", "") or document.head.sha,
        "run_id": getattr(ctx, "run_id", "") or None,
    }
    write_atomic(bundle / METADATA_JSON, json.dumps(metadata, indent=2) + "\n")
    return bundle


def generate_report(
    request: ReportRequest,
    *,
    sink: LineSink | None = None,
    group: Callable[[str], Any] | None = None,
    publisher: Callable[[ReportOutcome, Any, LoadedConfig], None] | None = None,
) -> ReportOutcome:
    """The whole `mlops-ci report`: returns what was done; raises `GateFailed` last."""
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.context import RunContext, pull_request_problem

    env = dict(request.env)
    ctx = RunContext.from_environ(env)
    runtime = ActionsRuntime.from_environ(env)
    if ctx.token is not None:
        runtime.mask(ctx.token.get_secret_value())
    problem = pull_request_problem(ctx.event_name, ctx.event)
    if problem is not None:
        event_path = env.get("GITHUB_EVENT_PATH") or None
        raise InputError(
            f"the {ctx.event_name} event payload has {problem}",
            hint="run report from a pull_request event as GitHub sends it",
            file=event_path,
        )
    root = request.root.resolve()
    git = Git(root)
    if not git.is_repo():
        raise GitError(
            f"{root}: not a git repository", hint="run mlops-ci report in your repository"
        )
    loaded = load_config(root, request.config_path)
    dvc = Dvc(root, own_python_first=request.own_python_first)
    grouping = group or runtime.group
    run_outcome = None
    if request.run:
        run_outcome = run_pipeline(loaded.config, dvc, sink=sink, group=grouping)
        after_run(loaded.config, dvc, git, run_outcome, ctx=ctx, sink=sink, group=grouping)
    document = build_document(
        root, loaded, ctx=ctx, base=request.base, run=run_outcome, git=git, dvc=dvc,
        sink=sink, group=grouping,
    )  # fmt: skip
    if run_outcome is not None and run_outcome.lock_problem:
        document = document.with_lock_problem(run_outcome.lock_problem)
    output_dir = request.output if request.output.is_absolute() else root / request.output
    target = choose_publish(request.publish, ctx)
    if target == "artifact" and not (ctx.pr_number and ctx.repository):
        # The bundle says which pull request it belongs to; `post` rejects one that does not.
        raise InputError(
            "--publish artifact makes a fork bundle for a pull request, and this run has none"
            + (f" (event: {ctx.event_name})" if ctx.event_name else ""),
            hint="run it from a pull_request event, or use --publish local",
        )
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    options = render_options(loaded, ctx, summary_url)
    markdown = render_markdown(document, options)
    md_path, json_path = write_outputs(output_dir, document, markdown)
    fail_on_gate = request.fail_on_gate
    if fail_on_gate is None:
        fail_on_gate = ctx.on_runner or env.get("CI", "").lower() in ("true", "1")
    outcome = ReportOutcome(
        document=document,
        markdown=markdown,
        output_dir=output_dir,
        report_md=md_path,
        report_json=json_path,
        publish=target,
        fail_on_gate=fail_on_gate,
    )
    if target == "artifact":
        outcome.bundle_dir = write_bundle(output_dir, document, ctx)
    if target == "github":
        if request.dry_run:
            outcome.dry_run_preview = markdown
        else:
            (publisher or publish_github)(outcome, ctx, loaded)
    if runtime.on_runner:
        # The full report (not cut) is what the summary link in a cut comment points at.
        full = render_markdown(document, _uncut(options))
        runtime.append_summary(full)
        runtime.set_output("gate", document.verdict)
        runtime.set_output("report-path", str(md_path))
        runtime.set_output("comment-url", outcome.comment_url or "")
    return outcome


def _uncut(options: RenderOptions) -> RenderOptions:
    from dataclasses import replace

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


def publish_github(outcome: ReportOutcome, ctx: Any, loaded: LoadedConfig) -> None:
    """Sticky comment and check run through the GitHub adapter."""
    from mlops_ci.services.post import publish_to_github

    outcome.comment_url = publish_to_github(outcome.document, outcome.markdown, ctx, loaded.config)


__all__ = [
    "ReportOutcome",
    "ReportRequest",
    "check_gates",
    "generate_report",
    "summary_line",
    "write_atomic",
]
