"""Metric history over the commits of a branch, read from git in bulk.

Two processes whatever the number of commits: one `git log` lists the commits
(first parent only, so a merged pull request counts once, as the branch saw it)
and one `git cat-file --batch` is fed every `<commit>:<path>` at once. A blob
that did not change between commits is parsed once. Metrics files that are DVC
outputs kept out of git (`cache: true`) have no history here; they are reported
as missing.

`metric_history` returns plain data; `render_history_markdown` turns it into a
Markdown section (table and Mermaid line charts) for reports, such as the PR
report's "trend on main" section.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.core.metrics import flatten, format_value, is_number
from mlops_ci.errors import GitError, InputError

if TYPE_CHECKING:
    from mlops_ci.config import Config

__all__ = [
    "HistoryCommit",
    "MetricHistory",
    "history_from_json",
    "history_json",
    "metric_history",
    "read_blobs",
    "render_history_markdown",
    "trend_markdown",
]

DEFAULT_LAST = 30


@dataclass(frozen=True)
class HistoryCommit:
    """One commit of the branch and the metric values at it (absent: not reported)."""

    sha: str
    time: str
    subject: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricHistory:
    """Metrics over a branch's commits, oldest first."""

    branch: str
    ref: str
    files: list[str]
    metrics: list[str]
    commits: list[HistoryCommit]
    # file or metric → why it has no values ("not in git at any of these commits", ...)
    missing: dict[str, str] = field(default_factory=dict)

    def series(self, metric: str) -> list[tuple[HistoryCommit, float]]:
        """The commits where `metric` is a finite number, with that number."""
        points = []
        for commit in self.commits:
            value: Any = commit.values.get(metric)
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if is_number(value) and math.isfinite(value):
                points.append((commit, float(value)))
        return points


def _git(root: Path, *args: str, input_bytes: bytes | None = None) -> bytes:
    from mlops_ci.adapters.process import tool_env

    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=root,
            env=tool_env(),
            input=input_bytes,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def _resolve(root: Path, branch: str) -> str:
    """A ref for `branch`: origin's copy when fetched, else the local branch, else a rev."""
    from mlops_ci.adapters.git import Git

    git = Git(root)
    try:
        return git.branch_ref(branch)
    except GitError:
        try:
            git.rev_parse(branch)
        except GitError:
            raise GitError(
                f"branch {branch!r} not found",
                hint="fetch it (actions/checkout with fetch-depth: 0), or pass --branch",
            ) from None
        return branch


def list_commits(root: Path, ref: str, last: int | None) -> list[tuple[str, str, str]]:
    """(sha, committer date, subject) of `ref`'s first-parent history, newest first."""
    args = ["log", "-z", "--first-parent", "--format=%H%x00%cI%x00%s"]
    if last is not None:
        args.append(f"--max-count={last}")
    raw = _git(root, *args, "--end-of-options", ref, "--")
    fields = raw.decode("utf-8", "replace").split("\0")
    commits = []
    for i in range(0, len(fields) - 2, 3):
        sha = fields[i].strip()
        if sha:
            commits.append((sha, fields[i + 1], fields[i + 2]))
    return commits


def read_blobs(root: Path, specs: Sequence[str]) -> list[tuple[str, bytes] | None]:
    """The blobs `<rev>:<path>` names, in one `git cat-file --batch` process.

    Returns (object id, content) per spec, or None where there is no such blob.
    """
    if not specs:
        return []
    for spec in specs:
        if "\n" in spec or "\r" in spec:
            raise InputError(f"{spec!r}: a path with a line break cannot be read in a batch")
    out = _git(root, "cat-file", "--batch", input_bytes="".join(f"{s}\n" for s in specs).encode())
    results: list[tuple[str, bytes] | None] = []
    pos = 0
    for _ in specs:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("utf-8", "replace").split(" ")
        pos = end + 1
        if len(header) == 3 and header[2].isdigit():
            oid, kind, size = header[0], header[1], int(header[2])
            content = out[pos : pos + size]
            pos += size + 1  # the content is followed by a newline
            results.append((oid, content) if kind == "blob" else None)
        else:  # "<spec> missing" or "<spec> ambiguous"
            results.append(None)
    return results


def _prefix(root: Path) -> str:
    """Where `root` sits inside its repository (`""` at the top), for `<rev>:<path>`."""
    return _git(root, "rev-parse", "--show-prefix").decode().strip()


def _matches(name: str, key: str, file: str, wanted: str) -> bool:
    return wanted in (name, key, f"{file}:{key}")


def metric_history(
    root: Path,
    branch: str | None = None,
    metrics: Sequence[str] | None = None,
    last: int | None = DEFAULT_LAST,
    *,
    files: Sequence[str] | None = None,
    config_path: Path | None = None,
) -> MetricHistory:
    """Metric values over the last `last` commits of `branch` (first parent), oldest first.

    `branch` defaults to `default_branch` from mlops-ci.yaml, else the repository's
    default branch. `metrics` selects metrics by key (`accuracy`) or `file:key`
    (default: every metric found). `files` defaults to the configured metrics files.
    """
    from mlops_ci.core.formats import parse_metrics

    root = root.resolve()
    if last is not None and last <= 0:
        raise InputError("--last must be a positive number of commits")
    if files is None or branch is None:
        from mlops_ci.config import load_config

        config = load_config(root, config_path).config
        if files is None:
            files = list(config.metrics.files)
        if branch is None:
            branch = config.default_branch
    if branch is None:
        from mlops_ci.adapters.git import Git

        branch = Git(root).default_branch()
    files = list(files)
    if not files:
        raise InputError(
            "no metrics files to follow",
            hint="declare metrics in dvc.yaml or list them under metrics.files in mlops-ci.yaml",
        )
    ref = _resolve(root, branch)
    prefix = _prefix(root)
    commits = list_commits(root, ref, last)
    commits.reverse()
    specs = [f"{sha}:{prefix}{name}" for sha, _, _ in commits for name in files]
    blobs = read_blobs(root, specs)
    qualify = len(files) > 1
    parsed: dict[str, dict[str, Any] | str] = {}
    seen_file: dict[str, bool] = dict.fromkeys(files, False)
    errors: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}  # metric name → (file, key), first seen order
    rows: list[HistoryCommit] = []
    index = 0
    for sha, when, subject in commits:
        values: dict[str, Any] = {}
        for name in files:
            blob = blobs[index]
            index += 1
            if blob is None:
                continue
            seen_file[name] = True
            oid, content = blob
            if oid not in parsed:
                try:
                    parsed[oid] = flatten(parse_metrics(content, name))
                except InputError as exc:
                    parsed[oid] = exc.message
            data = parsed[oid]
            if isinstance(data, str):
                errors.setdefault(name, f"unreadable at {sha[:12]}: {data}")
                continue
            for key, value in data.items():
                metric = f"{name}:{key}" if qualify else key
                names.setdefault(metric, (name, key))
                values[metric] = value
        rows.append(HistoryCommit(sha, when, subject, values))
    missing: dict[str, str] = {}
    for name, seen in seen_file.items():
        if not seen:
            missing[name] = "not in git at any of these commits (a DVC output kept in the cache?)"
    missing.update(errors)
    if metrics:
        chosen: list[str] = []
        for wanted in metrics:
            hits = [m for m, (f, k) in names.items() if _matches(m, k, f, wanted)]
            if not hits:
                missing[wanted] = "not reported at any of these commits"
            chosen.extend(h for h in hits if h not in chosen)
        rows = [
            HistoryCommit(
                c.sha, c.time, c.subject, {m: c.values[m] for m in chosen if m in c.values}
            )
            for c in rows
        ]
    else:
        chosen = list(names)
    return MetricHistory(
        branch=branch,
        ref=ref,
        files=files,
        metrics=chosen,
        commits=rows,
        missing=missing,
    )


def history_json(history: MetricHistory) -> dict[str, Any]:
    """The history as JSON-ready data (NaN and infinities as strings)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return value

    return {
        "branch": history.branch,
        "ref": history.ref,
        "files": history.files,
        "metrics": history.metrics,
        "commits": [
            {
                "sha": c.sha,
                "time": c.time,
                "subject": c.subject,
                "values": {k: clean(v) for k, v in c.values.items()},
            }
            for c in history.commits
        ],
        "missing": history.missing,
    }


def history_from_json(data: Mapping[str, Any]) -> MetricHistory:
    """The inverse of `history_json` (e.g. a history carried inside report.json).

    The data is treated as untrusted: wrong shapes raise `InputError`; strings are
    escaped when rendered, as always.
    """
    revive = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    try:
        commits = [
            HistoryCommit(
                str(c["sha"])[:64],
                str(c["time"])[:64],
                str(c["subject"])[:1000],
                {
                    str(k): revive.get(v, v) if isinstance(v, str) else v
                    for k, v in dict(c["values"]).items()
                },
            )
            for c in data["commits"]
        ]
        return MetricHistory(
            branch=str(data["branch"]),
            ref=str(data["ref"]),
            files=[str(f) for f in data["files"]],
            metrics=[str(m) for m in data["metrics"]],
            commits=commits,
            missing={str(k): str(v) for k, v in dict(data.get("missing") or {}).items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"metric history: unexpected shape ({exc})") from None


def render_history_markdown(
    history: MetricHistory,
    *,
    precision: int = 4,
    heading: str | None = None,
    max_charts: int = 4,
    max_rows: int = 30,
    directions: Mapping[str, str] | None = None,
) -> str:
    """A Markdown section: a Mermaid line chart per metric (up to `max_charts`) and a
    folded table of the values per commit (newest first). Every string is escaped."""
    import html

    from mlops_ci.report import mermaid
    from mlops_ci.report.escape import ZWJ, md_code, md_text, plain

    title = heading if heading is not None else f"Trend on {history.branch}"
    lines = [f"### {md_text(title, 100)}", ""]
    if not history.commits:
        lines.append("No commits to show.")
        return "\n".join(lines) + "\n"
    charted = 0
    for metric in history.metrics:
        if charted >= max_charts:
            break
        series = history.series(metric)
        if len(series) < 2:
            continue
        xs = [float(i) for i in range(1, len(series) + 1)]
        # The chart's axis starts at zero, which would flatten 0.95 → 0.97 into a flat
        # line: draw the change since the oldest commit shown instead.
        first_commit, first = series[0]
        ys = [value - first for _, value in series]
        better = (directions or {}).get(metric)
        suffix = f", {better} is better" if better else ""
        chart = mermaid.line_chart(
            f"{metric} over the last {len(series)} commits{suffix}",
            "commit, oldest to newest",
            f"change since {first_commit.sha[:8]}, was {format_value(first, precision)}",
            [(xs, ys)],
            points=min(len(xs), 50),
        )
        if chart:
            lines += [chart, ""]
            charted += 1
    if charted == 0:
        lines += ["Too few commits with numeric values to draw a trend.", ""]
    shown = history.metrics[:8]
    newest = list(reversed(history.commits))[:max_rows]
    header = "| commit | date | " + " | ".join(md_text(m, 60) for m in shown) + " |"
    rule = "|---|---|" + "--:|" * len(shown)
    # Inside the <details> HTML block Markdown is not parsed: a code span would show its
    # content as raw HTML, so the (untrusted) branch name is HTML-escaped here instead.
    branch = html.escape(plain(history.branch, 80), quote=True).replace("@", "@" + ZWJ)
    lines += [
        f"<details><summary>{len(history.commits)} commit(s) of <code>{branch}</code></summary>",
        "",
        header,
        rule,
    ]
    for commit in newest:
        cells = []
        for metric in shown:
            value = commit.values.get(metric)
            text = format_value(value, precision) if metric in commit.values else "—"
            cells.append(md_text(text, 40))
        lines.append(
            f"| {md_code(commit.sha[:8], 12)} {md_text(commit.subject, 60)} "
            f"| {md_text(commit.time[:10], 12)} | " + " | ".join(cells) + " |"
        )
    lines += ["", "</details>"]
    for name, why in list(history.missing.items())[:10]:
        lines += ["", f"> {md_code(name, 100)}: {md_text(why, 200)}"]
    return "\n".join(lines).rstrip() + "\n"


def trend_markdown(
    root: Path,
    config: Config,
    branch: str | None = None,
    *,
    last: int = 20,
) -> str:
    """The PR report's "trend on BRANCH" section (for `report.trend: true`).

    Follows the gated metrics (all metrics when there are no gates) over the newest
    `last` commits of `branch` (default: `default_branch`, else the repository's).
    Never raises for a missing branch or unreadable history: the section then says why.
    """
    from mlops_ci.errors import MlopsCIError
    from mlops_ci.report.escape import md_text

    gates: Mapping[str, Any] = config.metrics.gates
    wanted = list(gates) or None
    shown = branch or config.default_branch or "the default branch"
    try:
        history = metric_history(
            root, branch or config.default_branch, wanted, last, files=list(config.metrics.files)
        )
    except MlopsCIError as exc:
        return f"### Trend on {md_text(shown, 100)}\n\nNo trend: {md_text(exc.message, 300)}\n"
    directions = {}
    for metric in history.metrics:
        gate = gates.get(metric) or gates.get(metric.rsplit(":", 1)[-1])
        if gate is not None:
            directions[metric] = gate.direction
    return render_history_markdown(
        history,
        precision=config.report.precision,
        directions=directions,
        max_rows=last,
    )
