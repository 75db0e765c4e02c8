"""Running one cell: its values written into the params files, the pipeline run as the PR
report runs it, the metrics read, and the bundle written.

A failing pipeline gives a bundle too, with status `failed` and the error, so `merge`
can show every cell of the matrix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_ci.adapters.files import write_atomic, write_bytes_atomic
from mlops_ci.config import Config, load_config
from mlops_ci.core import experiments as core_exp
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.errors import GitError, InputError, MlopsCIError
from mlops_ci.services.shared.job import Job, Progress, QuietProgress
from mlops_ci.services.sweep.params import apply_params, group_assignments, params_path
from mlops_ci.services.sweep.plan import DEFAULT_RUNS_DIR, SET_VARIABLE, cell_id_for, settings
from mlops_ci.services.sweep.records import FILES_DIR, RunRecord, write_record


@dataclass
class RunRequest:
    """One cell to run: its values (dotted keys, optionally `FILE:key`) and where to."""

    root: Path
    assignments: dict[str, Any]
    config_path: Path | None = None
    cell_id: str | None = None
    output: Path | None = None
    keep_params: bool = False


@dataclass
class CellOutcome:
    """What running one cell wrote: its record and where the bundle is."""

    record: RunRecord
    bundle: Path
    record_path: Path


def run_cell(request: RunRequest, job: Job | None = None) -> CellOutcome:
    """Run one cell and write its bundle. A failing pipeline gives a `failed` record."""
    progress: Progress = job.progress if job is not None else QuietProgress()
    root = request.root.resolve()
    config = load_config(root, request.config_path).config
    if not request.assignments:
        raise InputError(
            "no parameter values for this run",
            hint=f"pass --set KEY=VALUE (or set {SET_VARIABLE}, as the sweep workflow does)",
        )
    cell_id = request.cell_id or cell_id_for(root, request.config_path, request.assignments)
    if not core_exp.CELL_ID.match(cell_id):
        raise InputError(f"run id {cell_id!r}: use letters, digits, '.', '_' or '-' (max 64)")
    output = request.output or DEFAULT_RUNS_DIR / cell_id
    bundle = output if output.is_absolute() else root / output
    record = _new_record(root, config, cell_id, request.assignments)
    copies = _run(request, root, config, record, progress)
    for name, raw in copies.items():
        write_bytes_atomic(bundle / FILES_DIR / name, raw)
    record_path = write_record(bundle, record)
    return CellOutcome(record=record, bundle=bundle, record_path=record_path)


def _checkout(root: Path) -> tuple[str | None, str | None]:
    """(commit SHA, branch name) of the code the cell runs, when `root` is a git repo."""
    from mlops_ci.adapters.git import Git

    git = Git(root)
    if not git.is_repo():
        return None, None
    try:
        code_sha: str | None = git.current_sha()
    except GitError:
        code_sha = None
    proc = git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    ref = proc.stdout.decode().strip() or None if proc.returncode == 0 else None
    return code_sha, ref


def _new_record(root: Path, config: Config, cell_id: str, assignments: dict[str, Any]) -> RunRecord:
    from mlops_ci.services.shared.pipeline import tool_versions

    code_sha, ref = _checkout(root)
    return RunRecord(
        id=cell_id,
        status="ok",
        set=dict(assignments),
        code_sha=code_sha,
        ref=ref,
        pipeline=config.pipeline.run,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=tool_versions(),
    )


def _run(
    request: RunRequest, root: Path, config: Config, record: RunRecord, progress: Progress
) -> dict[str, bytes]:
    """Write the values, run the pipeline, fill `record`; the metrics files' bytes.

    The params files are put back afterwards (unless `keep_params`), whatever happened.
    """
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.services.shared.pipeline import run_pipeline

    grouped = group_assignments(request.assignments, settings(config).params_file)
    originals: dict[Path, bytes | None] = {}
    copies: dict[str, bytes] = {}
    clock = time.monotonic()
    try:
        _write_params(root, grouped, originals)
        params_files = list(dict.fromkeys([*config.params.files, *grouped]))
        record.params = {
            name: parse_params((root / name).read_bytes(), name)
            for name in params_files
            if (root / name).is_file()
        }
        run_pipeline(config, Dvc(root), sink=progress.line, group=progress.group)
        record.run_seconds = round(time.monotonic() - clock, 3)
        _read_metrics(root, config, record, copies)
    except (MlopsCIError, core_exp.SweepError, OSError, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, MlopsCIError) else str(exc)
        record.status = "failed"
        record.error = message[:4000]
        if record.run_seconds is None:
            record.run_seconds = round(time.monotonic() - clock, 3)
    finally:
        if record.status == "ok":
            # After a failure dvc.lock still describes an earlier run: not recorded.
            _record_lock(root, record)
        if not request.keep_params:
            _restore(originals)
    return copies


def _write_params(
    root: Path, grouped: dict[str, dict[str, Any]], originals: dict[Path, bytes | None]
) -> None:
    """Set the values in each params file; `originals` gets each file's bytes before."""
    for name, values in grouped.items():
        path = params_path(root, name)
        before = path.read_bytes() if path.is_file() else None
        originals[path] = before
        text = before.decode("utf-8") if before is not None else ""
        write_atomic(path, apply_params(text, name, values))


def _restore(originals: dict[Path, bytes | None]) -> None:
    for path, before in originals.items():
        if before is None:
            path.unlink(missing_ok=True)
        else:
            write_bytes_atomic(path, before)


def _read_metrics(root: Path, config: Config, record: RunRecord, copies: dict[str, bytes]) -> None:
    """Parse each metrics file into `record`; `copies` gets the bytes for the bundle."""
    missing = []
    for name in config.metrics.files:
        path = root / name
        if not path.is_file():
            missing.append(name)
            continue
        raw = path.read_bytes()
        copies[name] = raw
        record.metrics[name] = parse_metrics(raw, name)
    if missing:
        raise InputError(
            "the pipeline succeeded but wrote no " + ", ".join(missing),
            hint="check metrics.files in mlops-ci.yaml or the metrics in dvc.yaml",
        )
    if not config.metrics.files:
        raise InputError("no metrics files: declare them in dvc.yaml or metrics.files")


def _record_lock(root: Path, record: RunRecord) -> None:
    """The data and stage hashes `dvc.lock` recorded for this run."""
    from mlops_ci.adapters.dvc import stage_hashes
    from mlops_ci.core.lockfile import read_lock, recorded_hashes

    lock = root / "dvc.lock"
    lock_text = lock.read_text("utf-8", "replace") if lock.is_file() else None
    record.data = recorded_hashes(read_lock(lock_text))
    record.stages = stage_hashes(lock_text)
