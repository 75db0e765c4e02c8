"""Metric history over the commits of a branch, as data.

The service reads the commits and the metrics files at each of them from git in
bulk; here those bytes become values per commit (a blob that did not change between
commits is parsed once), the metrics asked for are picked out, and the history
travels as JSON (inside `report.json`, or printed for scripts) and back.

Pure: bytes and data in, data out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.core.metrics import flatten, is_number
from mlops_ci.errors import InputError

__all__ = [
    "HistoryCommit",
    "MetricHistory",
    "build_history",
    "history_from_json",
    "history_json",
]

NOT_IN_GIT = "not in git at any of these commits (a DVC output kept in the cache?)"
NOT_REPORTED = "not reported at any of these commits"

# A blob as `git cat-file --batch` gave it: (object id, content), None when absent.
Blob = tuple[str, bytes] | None


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


@dataclass
class _Reading:
    """What the blobs said: rows per commit, the metrics in first-seen order, problems."""

    rows: list[HistoryCommit] = field(default_factory=list)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # metric → (file, key)
    missing: dict[str, str] = field(default_factory=dict)


def build_history(
    branch: str,
    ref: str,
    files: Sequence[str],
    commits: Sequence[tuple[str, str, str]],
    blobs: Sequence[Blob],
    *,
    metrics: Sequence[str] | None = None,
) -> MetricHistory:
    """The history from the commits (sha, time, subject; oldest first) and the blob of
    every file at every commit (commit-major, as `<sha>:<file>` was asked for).

    `metrics` selects metrics by key (`accuracy`) or `file:key` (default: all found);
    one that no commit reports is named in `missing`.
    """
    reading = _read_values(list(files), commits, blobs)
    rows = reading.rows
    if metrics:
        chosen = _select(reading.names, metrics, reading.missing)
        rows = [
            HistoryCommit(
                c.sha, c.time, c.subject, {m: c.values[m] for m in chosen if m in c.values}
            )
            for c in rows
        ]
    else:
        chosen = list(reading.names)
    return MetricHistory(
        branch=branch,
        ref=ref,
        files=list(files),
        metrics=chosen,
        commits=rows,
        missing=reading.missing,
    )


def _read_values(
    files: list[str], commits: Sequence[tuple[str, str, str]], blobs: Sequence[Blob]
) -> _Reading:
    from mlops_ci.core.formats import parse_metrics

    reading = _Reading()
    qualify = len(files) > 1
    parsed: dict[str, dict[str, Any] | str] = {}  # object id → values, or why unreadable
    seen_file: dict[str, bool] = dict.fromkeys(files, False)
    errors: dict[str, str] = {}
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
                reading.names.setdefault(metric, (name, key))
                values[metric] = value
        reading.rows.append(HistoryCommit(sha, when, subject, values))
    reading.missing = {name: NOT_IN_GIT for name, seen in seen_file.items() if not seen}
    reading.missing.update(errors)
    return reading


def _select(
    names: Mapping[str, tuple[str, str]], wanted: Sequence[str], missing: dict[str, str]
) -> list[str]:
    """The metrics `wanted` names, in the order asked; the ones never seen go to `missing`."""
    chosen: list[str] = []
    for one in wanted:
        hits = [m for m, (f, k) in names.items() if _matches(m, k, f, one)]
        if not hits:
            missing[one] = NOT_REPORTED
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def _matches(name: str, key: str, file: str, wanted: str) -> bool:
    return wanted in (name, key, f"{file}:{key}")


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
