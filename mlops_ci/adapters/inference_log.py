"""The inference log: what a served (or batch-scored) model saw and answered, as Parquet.

Each logged row is the request's input columns, the model's outputs (`prediction`,
`proba_<class>`, ...) and three columns of provenance (`LOG_COLUMNS`): the model, its
version and when (UTC). Rows are sampled one by one (`sample` is the share kept),
buffered in memory and written as one Parquet file each time `rotate_rows` are
buffered, and on `flush`/`close`; memory holds at most one file's rows.

Layout, under the log's directory (a local path or an fsspec URL)::

    <directory>/model=<model>/<UTC yyyymmddThhmmss.ffffff>-<pid>-<seq>.parquet

Names sort by time and never collide between processes or within one. A file appears
whole or not at all: on local disk it is written under a hidden `.tmp` name and
renamed; on a URL it is written under a hidden `.tmp` name and moved (an object store
publishes an object only once its upload completes). Readers skip these names
(`adapters.tables` reads only `.parquet`/`.csv` names).

Logging never stops serving: a file that cannot be written is one warning line
(through `logging`, so on standard error) and its rows are counted in `dropped`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError

if TYPE_CHECKING:
    import pyarrow

#: Provenance columns every logged row carries: model, model version, time (UTC).
LOG_COLUMNS = ("mlops_ci_model", "mlops_ci_model_version", "mlops_ci_time")
MODEL_COLUMN, VERSION_COLUMN, TIME_COLUMN = LOG_COLUMNS
#: Columns that mlops-ci adds to data (this log's, a scored CSV's provenance): never inputs.
PROVENANCE_PREFIX = "mlops_ci_"
#: The directory of one model's files inside the log's directory.
MODEL_DIRECTORY_PREFIX = "model="
#: Parquet schema metadata key: the JSON list of the columns that are the model's outputs.
OUTPUTS_KEY = b"mlops_ci.outputs"

_log = logging.getLogger("mlops_ci.inference_log")


def model_directory(model: str) -> str:
    """`model=<name>`, the name made safe for a path and an object key."""
    return MODEL_DIRECTORY_PREFIX + (re.sub(r"[^A-Za-z0-9_.-]", "_", model) or "model")


def _is_url(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


class InferenceLog:
    """Sampled input and output rows of one model version, written as rotating Parquet
    files. Safe to call from several threads."""

    def __init__(
        self,
        url: str,
        *,
        model: str,
        version: str,
        sample: float = 1.0,
        rotate_rows: int = 10_000,
        storage_options: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        import numpy as np

        if not 0 < sample <= 1:
            raise ValueError(f"sample {sample}: expected a share in (0, 1]")
        if rotate_rows < 1:
            raise ValueError(f"rotate_rows {rotate_rows}: expected a positive number")
        self.url = url
        self.model = model
        self.version = version
        self.sample = float(sample)
        self.rotate_rows = int(rotate_rows)
        #: Rows logged but not written (their file failed), and rows written.
        self.dropped = 0
        self.written = 0
        #: The files written so far, as paths or URLs.
        self.files: list[str] = []
        self._fs, self.directory = _destination(url, model, storage_options)
        self._rng = np.random.default_rng(seed)
        self._buffer: list[pyarrow.Table] = []
        self._buffered = 0
        self._schema: pyarrow.Schema | None = None
        self._seq = 0
        self._closed = False
        # One lock guards the buffer and the random generator (neither is thread-safe);
        # another orders the writes, so a slow upload never holds up `record`.
        self._lock = threading.Lock()
        self._writing = threading.Lock()

    def record(self, inputs: pyarrow.Table, outputs: pyarrow.Table) -> int:
        """Log the sampled rows of one request (or batch); return how many were kept."""
        if inputs.num_rows != outputs.num_rows:
            raise ValueError(
                f"inputs have {inputs.num_rows} rows but outputs {outputs.num_rows}; "
                "expected one output row per input row"
            )
        rows = inputs.num_rows
        if rows == 0:
            return 0
        with self._lock:
            keep = self._rng.random(rows) < self.sample if self.sample < 1 else None
        table = _logged_rows(inputs, outputs, keep, self.model, self.version)
        kept = int(table.num_rows)
        if kept == 0:
            return 0
        with self._lock:
            if self._closed:
                self.dropped += kept
                return kept
            full = self._append(table)
        for part in full:
            self._write(part)
        return kept

    def flush(self) -> None:
        """Write the buffered rows as one Parquet file (nothing when none are buffered)."""
        with self._lock:
            parts = self._take_all()
        for part in parts:
            self._write(part)

    def close(self) -> None:
        """Flush, and log nothing more (later rows count as dropped). Idempotent."""
        with self._lock:
            self._closed = True
            parts = self._take_all()
        for part in parts:
            self._write(part)

    def __enter__(self) -> InferenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- buffer (called under self._lock) ---------------------------------------------

    def _append(self, table: pyarrow.Table) -> list[pyarrow.Table]:
        """Buffer `table`; return the whole files that are ready to write."""
        ready: list[pyarrow.Table] = []
        if self._schema is not None and not table.schema.equals(self._schema):
            # A file holds one schema: what was buffered under the old one goes first.
            ready.extend(self._take_all())
        self._schema = table.schema
        self._buffer.append(table)
        self._buffered += table.num_rows
        while self._buffered >= self.rotate_rows:
            ready.append(self._take(self.rotate_rows))
        return ready

    def _take(self, rows: int) -> pyarrow.Table:
        import pyarrow as pa

        joined = pa.concat_tables(self._buffer)
        part, rest = joined.slice(0, rows), joined.slice(rows)
        self._buffer = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows
        return part

    def _take_all(self) -> list[pyarrow.Table]:
        if not self._buffered:
            return []
        part = self._take(self._buffered)
        self._schema = None
        return [part]

    def _next_name(self) -> str:
        with self._lock:
            self._seq += 1
            seq = self._seq
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        return f"{stamp}-{os.getpid()}-{seq:06d}.parquet"

    # --- writing ------------------------------------------------------------------------

    def _write(self, table: pyarrow.Table) -> None:
        with self._writing:
            name = self._next_name()
            try:
                target = self._write_file(table, name)
            except Exception as exc:  # whatever the storage raises, serving goes on
                with self._lock:
                    self.dropped += table.num_rows
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                _log.warning(
                    "inference log: %d rows dropped, cannot write %s/%s: %s",
                    table.num_rows,
                    self.directory,
                    name,
                    reason[:300] or type(exc).__name__,
                )
                return
            with self._lock:
                self.written += table.num_rows
                self.files.append(target)

    def _write_file(self, table: pyarrow.Table, name: str) -> str:
        import pyarrow.parquet as pq

        if self._fs is None:
            from mlops_ci.adapters.files import writing_atomic

            path = Path(self.directory) / name
            with writing_atomic(path) as handle:
                pq.write_table(table, handle)
            return str(path)
        final = f"{self.directory}/{name}"
        temporary = f"{self.directory}/.{name}.tmp"
        try:
            self._fs.makedirs(self.directory, exist_ok=True)
            with self._fs.open(temporary, "wb") as handle:
                pq.write_table(table, handle)
            self._fs.mv(temporary, final)
        except BaseException:
            _remove_quietly(self._fs, temporary)
            raise
        return self._url_of(final)

    def _url_of(self, path: str) -> str:
        protocol = self._fs.protocol
        protocol = protocol[0] if isinstance(protocol, tuple) else protocol
        return path if "://" in path else f"{protocol}://{path.lstrip('/')}"


def _remove_quietly(fs: Any, path: str) -> None:
    try:
        if fs.exists(path):
            fs.rm(path)
    except Exception:  # noqa: S110 - the write's own error is the one reported
        pass


def _destination(
    url: str, model: str, storage_options: Mapping[str, Any] | None
) -> tuple[Any, str]:
    """(fsspec filesystem, or None for local disk; the model's directory on it)."""
    if not _is_url(url):
        local = Path(url.removeprefix("file://"))
        return None, str(local / model_directory(model))
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    except (ValueError, ImportError, OSError) as exc:
        raise InputError(f"{url}: cannot log inferences there: {exc}".splitlines()[0]) from None
    return fs, f"{str(path).rstrip('/')}/{model_directory(model)}"


def _logged_rows(
    inputs: pyarrow.Table, outputs: pyarrow.Table, keep: Any, model: str, version: str
) -> pyarrow.Table:
    """Inputs, then outputs (an output replaces an input of the same name), then the
    provenance columns, of the kept rows only."""
    import pyarrow as pa

    replaced = set(outputs.column_names)
    columns: dict[str, Any] = {}
    for table, skip in ((inputs, replaced), (outputs, set())):
        for name, column in zip(table.column_names, table.columns, strict=True):
            if name not in skip and not name.startswith(PROVENANCE_PREFIX):
                columns.setdefault(name, column)
    rows = inputs.num_rows
    if keep is not None:
        mask = pa.array(keep)
        columns = {name: column.filter(mask) for name, column in columns.items()}
        rows = int(keep.sum())
    now = datetime.now(UTC)
    columns[MODEL_COLUMN] = pa.array([model] * rows, pa.string())
    columns[VERSION_COLUMN] = pa.array([version] * rows, pa.string())
    columns[TIME_COLUMN] = pa.array([now] * rows, pa.timestamp("us", tz="UTC"))
    # Which columns the model answered: the monitor never takes them for inputs.
    outputs_named = json.dumps(outputs.column_names).encode("utf-8")
    return pa.table(columns, metadata={OUTPUTS_KEY: outputs_named})


# --- reading, for the monitor -------------------------------------------------------------


@dataclass(frozen=True)
class LoggedVersion:
    """One model version's rows in an inference log: how many, first and last (UTC)."""

    version: str
    rows: int
    first: datetime | None
    last: datetime | None


@dataclass
class LogSummary:
    """What an inference log's files say about themselves: the versions that answered
    (oldest first) and the columns that are the model's outputs."""

    versions: list[LoggedVersion] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(v.rows for v in self.versions)


def of_model(files: Sequence[str], model: str) -> list[str]:
    """The files of `model`: those in its `model=<name>` directory, when the files are
    an inference log of several models; otherwise all of them."""
    wanted = model_directory(model)

    def directory(name: str) -> str | None:
        parts = PurePosixPath(name.replace("\\", "/")).parent.parts
        found = [p for p in parts if p.startswith(MODEL_DIRECTORY_PREFIX)]
        return found[-1] if found else None

    tagged = {name: directory(name) for name in files}
    if not any(tagged.values()):
        return list(files)
    return [name for name, found in tagged.items() if found in (wanted, None)]


def read_log_summary(fs: Any, files: Sequence[str]) -> LogSummary | None:
    """The summary of the inference log among `files` (None when no file is one).

    Reads each Parquet file's footer and its version and time columns, nothing else.
    """
    import pyarrow.parquet as pq

    seen: dict[str, list[Any]] = {}
    outputs: list[str] = []
    for name in files:
        if not name.lower().endswith(".parquet"):
            continue
        with open(name, "rb") if fs is None else fs.open(name, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            schema = parquet.schema_arrow
            if VERSION_COLUMN not in schema.names:
                continue
            for column in _outputs_of(schema):
                if column not in outputs:
                    outputs.append(column)
            has_time = TIME_COLUMN in schema.names
            wanted = [VERSION_COLUMN, TIME_COLUMN] if has_time else [VERSION_COLUMN]
            for batch in parquet.iter_batches(columns=wanted, batch_size=262_144):
                _count_versions(batch, has_time, seen)
    if not seen:
        return None
    found = [LoggedVersion(v, int(r), first, last) for v, (r, first, last) in seen.items()]
    found.sort(key=lambda f: (f.first is None, f.first or datetime.min.replace(tzinfo=UTC)))
    return LogSummary(found, outputs)


def _outputs_of(schema: Any) -> list[str]:
    raw = (schema.metadata or {}).get(OUTPUTS_KEY)
    try:
        named = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(n) for n in named] if isinstance(named, list) else []


def _count_versions(batch: Any, has_time: bool, seen: dict[str, list[Any]]) -> None:
    import pyarrow as pa

    table = pa.Table.from_batches([batch])
    if not has_time:
        table = table.append_column(
            TIME_COLUMN, pa.nulls(table.num_rows, pa.timestamp("us", tz="UTC"))
        )
    grouped = table.group_by(VERSION_COLUMN).aggregate(
        [([], "count_all"), (TIME_COLUMN, "min"), (TIME_COLUMN, "max")]
    )
    for version, rows, first, last in zip(
        grouped.column(VERSION_COLUMN).to_pylist(),
        grouped.column("count_all").to_pylist(),
        grouped.column(f"{TIME_COLUMN}_min").to_pylist(),
        grouped.column(f"{TIME_COLUMN}_max").to_pylist(),
        strict=True,
    ):
        key = str(version) if version is not None else "unknown"
        entry = seen.setdefault(key, [0, None, None])
        entry[0] += rows
        if first is not None and (entry[1] is None or first < entry[1]):
            entry[1] = first
        if last is not None and (entry[2] is None or last > entry[2]):
            entry[2] = last
