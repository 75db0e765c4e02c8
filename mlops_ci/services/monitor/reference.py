"""Reading what the monitor compares: the reference data (through DVC at the commit of
the version holding the stage), the current data, and the model file at that commit."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError, MlopsCIError
from mlops_ci.services.monitor.request import DataSource, MonitorRequest

if TYPE_CHECKING:
    from mlops_ci.adapters.inference_log import LogSummary
    from mlops_ci.adapters.table_stream import SummaryTable
    from mlops_ci.adapters.tables import Table
    from mlops_ci.config import Config
    from mlops_ci.services.shared.registry import Registry


@dataclass
class Holder:
    """The version that holds the monitored stage, and its commit."""

    version: str
    commit: str


def stage_holder(registry: Registry | None, model: str, stage: str) -> Holder | None:
    """Who holds `stage` of `model` in the registry, if anyone."""
    if registry is None:
        return None
    artifact = registry.artifact(model)
    if artifact is None:
        return None
    assignment = artifact.holder(stage)
    if assignment is None:
        return None
    return Holder(str(assignment.version), str(assignment.commit))


def relative(files: list[str], root: Path) -> list[str]:
    """Files inside the root as paths relative to it; others as they are."""
    shown = []
    for name in files:
        try:
            shown.append(Path(name).relative_to(root).as_posix())
        except ValueError:
            shown.append(name)
    return shown


@dataclass
class Located:
    """A data source found but not read: its files, on which filesystem, at which commit."""

    source: str
    fs: Any
    files: list[str]
    #: Files as drift.json lists them.
    shown: list[str]
    revision: str | None = None
    #: Read through DVC: its errors become one line naming this.
    dvc_label: str | None = None


def locate_current(request: MonitorRequest, source: str) -> Located:
    """The current data: a path, directory, glob or URL, as it is now."""
    from mlops_ci.adapters.tables import resolve_files, storage_options_from_env

    root = request.root
    options = storage_options_from_env(source, request.job.env)
    fs, files = resolve_files(source, root, options)
    return Located(source, fs, files, relative(files, root))


def inference_log_of(located: Located, model: str) -> tuple[Located, LogSummary | None]:
    """The current data narrowed to `model`'s files when it is an inference log of
    several models, and what the log says (served versions, output columns); None
    when it is not an inference log."""
    import pyarrow as pa

    from mlops_ci.adapters.inference_log import model_directory, of_model, read_log_summary

    files = of_model(located.files, model)
    if not files:
        raise InputError(
            f"{located.source}: no inference log of {model!r} "
            f"(expected a {model_directory(model)}/ directory)",
            file=located.source,
        )
    if len(files) != len(located.files):
        kept = set(files)
        shown = [s for f, s in zip(located.files, located.shown, strict=True) if f in kept]
        located = Located(located.source, located.fs, files, shown, located.revision)
    try:
        summary = read_log_summary(located.fs, files)
    except (pa.ArrowException, OSError, ValueError):
        summary = None  # the table reader names the unreadable file
    return located, summary


def read_located(request: MonitorRequest, located: Located) -> tuple[Table, DataSource]:
    """The located files read into one table of numpy columns."""
    from mlops_ci.adapters.tables import read_files

    with _dvc_errors(located.dvc_label) if located.dvc_label else nullcontext():
        table = read_files(
            located.fs,
            located.files,
            source=located.source,
            root=request.root,
            progress=request.reading(located.source),
            revision=located.revision,
        )
    return table, _data_source(located, table.rows)


def summarise_located(request: MonitorRequest, located: Located) -> tuple[SummaryTable, DataSource]:
    """The located files streamed into per-column summaries (data beyond memory)."""
    from mlops_ci.adapters.table_stream import summarise_files

    with _dvc_errors(located.dvc_label) if located.dvc_label else nullcontext():
        table = summarise_files(
            located.fs,
            located.files,
            root=request.root,
            progress=request.reading(located.source),
            revision=located.revision,
        )
    return table, _data_source(located, table.rows)


def estimated_bytes(located: Located) -> int:
    """What the exact method would hold of these files (8 bytes a value)."""
    from mlops_ci.adapters.table_stream import estimate_bytes

    with _dvc_errors(located.dvc_label) if located.dvc_label else nullcontext():
        return estimate_bytes(located.fs, located.files)


def _data_source(located: Located, rows: int) -> DataSource:
    return DataSource(located.source, rows, located.shown, located.revision)


def _dvc_fs(root: Path, rev: str) -> Any:
    from mlops_ci.adapters.dvc import Dvc

    return Dvc(root).fs_at_rev(rev)


def training_data_paths(lock_text: str, model_path: str | None) -> list[str]:
    """Data deps of the stage that writes the model, from `dvc.lock` text (either format).

    The training stage is the one whose outs contain the model path (or, without a
    model path, a stage named `train`). Its deps that are data (`core.dvcfiles.is_data`)
    are the training data; a directory dep is expanded by the caller.
    """
    from mlops_ci.core.dvcfiles import training_data
    from mlops_ci.core.lockfile import read_lock

    return training_data(read_lock(lock_text), model_path)


@contextmanager
def _dvc_errors(what: str) -> Iterator[None]:
    """DVC's own exceptions (missing cache, unreachable remote) as one line."""
    try:
        yield
    except MlopsCIError:
        raise
    except Exception as exc:
        if not type(exc).__module__.startswith(("dvc", "dvc_data", "dvc_objects", "fsspec")):
            raise
        from mlops_ci.errors import DvcError

        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DvcError(
            f"{what}: cannot read through DVC: {reason[:300]}",
            hint="run `dvc pull` or check the DVC remote",
        ) from None


def _auto_reference(
    root: Path, holder: Holder | None, model: str, config: Config, stage: str
) -> tuple[Any, list[str], str, str]:
    """(DVC filesystem at the holder's commit, training data files, label, commit)."""
    from mlops_ci.adapters.git import Git

    if holder is None:
        raise InputError(
            f"reference `auto`: no version of {model!r} holds the stage {stage!r}",
            hint="promote a version first, or pass --reference PATH",
        )
    raw = Git(root).show_file(holder.commit, "dvc.lock")
    if raw is None:
        raise InputError(
            f"reference `auto`: dvc.lock is absent at {holder.commit[:12]} "
            f"({model} {holder.version})",
            hint="pass --reference PATH",
        )
    model_path = config.model(model).path
    deps = training_data_paths(raw.decode("utf-8", "replace"), model_path)
    if not deps:
        raise InputError(
            f"reference `auto`: dvc.lock at {holder.commit[:12]} has no stage that writes "
            f"{model_path or 'the model'} with data deps",
            hint="set models.<name>.path, or pass --reference PATH",
        )
    from mlops_ci.adapters.tables import training_tables

    fs = _dvc_fs(root, holder.commit)
    files = training_tables(fs, deps)
    if not files:
        raise InputError(
            f"reference `auto`: no CSV or Parquet file among {', '.join(deps)} "
            f"at {holder.commit[:12]}",
            hint="pass --reference PATH",
        )
    return fs, files, ", ".join(files), holder.commit


def locate_reference(
    request: MonitorRequest,
    source: str,
    *,
    holder: Holder | None,
    model: str,
    config: Config,
    stage: str,
) -> Located:
    """The reference data: `auto` (the holder's training data), a path in the
    repository (at the holder's commit), or an absolute path or URL (as it is now)."""
    from mlops_ci.adapters.tables import is_url

    root = request.root
    if source == "auto":
        with _dvc_errors("reference `auto`"):
            fs, files, label, rev = _auto_reference(root, holder, model, config, stage)
        return Located(label, fs, files, list(files), rev, dvc_label="reference `auto`")
    if is_url(source) or Path(source).is_absolute() or holder is None:
        return locate_current(request, source)
    # A path in the repository: the version the stage holder was trained with.
    label = f"{source}@{holder.commit[:12]}"
    with _dvc_errors(label):
        fs = _dvc_fs(root, holder.commit)
        files = _files_at_commit(fs, source, holder, model=model, stage=stage)
    return Located(source, fs, files, files, holder.commit, dvc_label=label)


def _files_at_commit(fs: Any, source: str, holder: Holder, *, model: str, stage: str) -> list[str]:
    from mlops_ci.adapters.tables import DATA_SUFFIXES

    try:
        if any(c in source for c in "*?["):
            files = sorted(str(p) for p in fs.glob(source))
        elif fs.isdir(source):
            files = sorted(str(p) for p in fs.find(source) if str(p).endswith(DATA_SUFFIXES))
        elif fs.exists(source):
            files = [source]
        else:
            files = []
    except (OSError, ValueError) as exc:
        raise InputError(f"{source}@{holder.commit[:12]}: cannot list: {exc}") from None
    if not files:
        raise InputError(
            f"{source}: not in the repository at {holder.commit[:12]} "
            f"({model} {holder.version} holds {stage})",
            hint="pass --reference with a path that existed at that commit",
        )
    return files


def load_model(request: MonitorRequest, holder: Holder | None, path: str | None) -> Any:
    """The model object: --model-path, else the model file at the holder's commit.

    Unpickling runs code from the file: only the project's own model file is loaded.
    """
    import pickle

    root = request.root
    if request.model_path:
        candidate = Path(request.model_path)
        candidate = candidate if candidate.is_absolute() else root / candidate
        try:
            data = candidate.read_bytes()
        except OSError as exc:
            raise InputError(
                f"{request.model_path}: cannot read the model: {exc.strerror}"
            ) from None
    elif path is None:
        return None
    elif holder is not None:
        from mlops_ci.adapters.dvc import Dvc

        data = Dvc(root).read_at_rev(path, holder.commit)
    else:
        file = root / path
        if not file.is_file():
            return None
        data = file.read_bytes()
    try:
        import joblib

        return joblib.load(io.BytesIO(data))
    except ImportError:  # pragma: no cover - scikit-learn brings joblib
        return pickle.loads(data)  # noqa: S301 - the project's own model file
    except Exception as exc:
        shown = request.model_path or path
        raise InputError(f"{shown}: not a loadable pickle/joblib model: {exc}") from None
