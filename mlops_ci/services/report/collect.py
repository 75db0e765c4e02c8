"""What the PR report collects besides metrics and params: plots and data changes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlops_ci.adapters.dvc import DataChange, Dvc, tracked_files
from mlops_ci.adapters.git import Git
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_data_file, parse_table
from mlops_ci.errors import DvcError, InputError
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
