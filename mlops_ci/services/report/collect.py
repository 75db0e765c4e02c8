"""What the PR report collects besides metrics and params: plots and data changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlops_ci.adapters.dvc_cache import DvcCache, outputs_at_rev, outputs_in_workspace
from mlops_ci.adapters.git import Git
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.data_diff import STATUSES as DATA_STATUSES
from mlops_ci.core.data_diff import Change, Node, ParseMemo, diff_data
from mlops_ci.core.formats import parse_data_file, parse_table
from mlops_ci.dvcfile import read_plot_options
from mlops_ci.errors import GitError, InputError
from mlops_ci.report.render import DataDiff, DataEntry, PlotRow, PlotSeries
from mlops_ci.services.shared.baseline import BaseReader, workspace_reader


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


def collect_plots(
    declared: list[dict[str, Any]],
    root: Path,
    base: BaseReader | None,
    max_plots: int = 4,
) -> list[PlotRow]:
    """Up to `max_plots` declared plots as numeric series at head (and base, when read)."""
    plots: list[PlotRow] = []
    props = read_plot_options(root)
    for declared_entry in declared[:max_plots]:
        entry = {**props.get(str(declared_entry.get("id", "")), {}), **declared_entry}
        plot_id = str(entry.get("id", ""))
        x_file, x = _plot_field(entry.get("x"))
        y_file, y = _plot_field(entry.get("y"))
        path = str(entry.get("path") or y_file or x_file or plot_id)
        if not path or "*" in path or (root / path).is_dir():
            continue
        head_raw = workspace_reader(root)(path)[0]
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
            if raw is None and base.reproduced is not None:
                # Confined like every read: a symlink in the base worktree is not followed out.
                raw = workspace_reader(base.reproduced)(path)[0]
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


def collect_data_diff(git: Git, root: Path, base_sha: str) -> DataDiff:
    """What `dvc diff --json BASE` reports, from the recorded hashes and the local cache.

    The base is what git holds at `base_sha`; the head is the workspace's `dvc.lock`,
    `dvc.yaml` and `.dvc` files (after the pipeline ran). No DVC process: directory
    contents come from their manifests in the local cache.
    """
    if not (root / ".dvc").is_dir():
        return DataDiff(available=False, note="Not a DVC repository: no data changes to show.")
    memo: ParseMemo = {}  # a `.dvc` file unchanged since the base is parsed once
    try:
        base = outputs_at_rev(git, base_sha, memo)
    except (GitError, InputError) as exc:
        return DataDiff(available=False, note=f"Data changes unavailable: {exc.message}")
    head = outputs_in_workspace(git, root, memo)
    cache = DvcCache(root)
    result = diff_data(base, head, cache.manifests([*base.values(), *head.values()]))
    order = {status: i for i, status in enumerate(DATA_STATUSES)}
    changes = sorted(result.changes, key=lambda c: (order[c.status], c.path))
    entries = [_data_entry(change, cache, root) for change in changes]
    return DataDiff(available=True, entries=entries, note=_unknown_note(result.unknown))


def _unknown_note(unknown: list[str]) -> str | None:
    """Which changed directories have unknown contents (plain text: the note is escaped)."""
    if not unknown:
        return None
    shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    whose = "its manifest (.dir object) is" if len(unknown) == 1 else "their manifests are"
    return (
        f"Files inside {shown} are not listed: {whose} not in the local DVC cache "
        "(dvc fetch the base revision to list them)."
    )


def _node_size(node: Node | None, cache: DvcCache, workspace: str | None) -> int | None:
    """A recorded size; for a file inside a directory, its workspace copy's or cached size."""
    if node is None:
        return None
    if node.size is not None or node.hash is None or node.is_dir:
        return node.size
    if workspace is not None:
        try:
            return os.stat(os.path.join(workspace, *node.key)).st_size
        except OSError:
            pass
    return cache.size(node.hash)


def _data_entry(change: Change, cache: DvcCache, root: Path) -> DataEntry:
    path = change.path
    if change.status == "renamed" and change.old and change.new:
        path = f"{change.old.path} → {change.new.path}"
    return DataEntry(
        path=path,
        status=change.status,  # type: ignore[arg-type, unused-ignore]
        size_base=_node_size(change.old, cache, None),
        size_head=_node_size(change.new, cache, str(root)),
    )
