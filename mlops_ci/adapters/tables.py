"""Reading monitoring data: CSV and Parquet into numpy columns, in batches.

A source is a local file, a directory (every CSV/Parquet file under it), a glob
(`data/2024-*.parquet`), or an fsspec URL (`s3://bucket/prefix/*.csv`). Numeric
columns become float64 with NaN for nulls; everything else (text, booleans,
dictionaries) becomes categorical codes with their labels. Files are read batch by
batch through pyarrow (no per-row Python), telling a progress callback when given one.

Every problem is one `InputError` line naming the file and what was expected.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np

from mlops_ci.adapters.inference_log import PROVENANCE_PREFIX
from mlops_ci.adapters.table_columns import Accumulator, is_text
from mlops_ci.core.drift import Column
from mlops_ci.errors import InputError

CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_BLOCK_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 262_144
#: Environment variables that give an S3-compatible endpoint, most specific first.
S3_ENDPOINT_VARIABLES = ("MLOPS_CI_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
#: Told how far reading got: (bytes read so far, total bytes when known).
ReadProgress = Callable[[int, int | None], None]


@dataclass
class Table:
    """Columns by name, and the files they came from."""

    columns: dict[str, Column]
    files: list[str] = field(default_factory=list)
    rows: int = 0

    def labels(self, name: str) -> np.ndarray[Any, Any]:
        """A column's values as an array: floats, or labels (None = missing)."""
        column = self.columns[name]
        if column.kind == "numeric":
            return column.values
        labels = np.array([*column.categories, None], dtype=object)
        picked: np.ndarray[Any, Any] = labels[column.values]  # code -1 picks the trailing None
        return picked


def storage_options_from_env(url: str, env: Mapping[str, str]) -> dict[str, Any]:
    """fsspec options an URL needs from the environment (an S3-compatible endpoint)."""
    if url.startswith(("s3://", "s3a://")):
        for name in S3_ENDPOINT_VARIABLES:
            if env.get(name):
                return {"client_kwargs": {"endpoint_url": env[name]}}
    return {}


def is_data_column(name: str) -> bool:
    """False for the columns mlops-ci adds (a scored CSV's provenance, the inference
    log's model, version and time): they describe the rows, they are not data."""
    return not name.startswith(PROVENANCE_PREFIX)


def is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def _has_magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def _format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    return None


#: What a stage's data dependency must end with to be read as a table.
DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".parq", ".csv.gz")


def training_tables(fs: Any, deps: Sequence[str]) -> list[str]:
    """The CSV/Parquet files among a training stage's data deps, on `fs` (a revision's
    DVC filesystem); a split directory (train/test) gives its training part."""

    files: list[str] = []
    for dep in deps:
        if fs.isdir(dep):
            inside = sorted(str(p) for p in fs.find(dep) if str(p).endswith(DATA_SUFFIXES))
            training = [p for p in inside if "train" in PurePosixPath(p).name.lower()]
            files.extend(training or inside)
        elif dep.endswith(DATA_SUFFIXES):
            files.append(dep)
    return files


def resolve_files(
    source: str, root: Path, storage_options: Mapping[str, Any] | None = None
) -> tuple[Any, list[str]]:
    """(filesystem or None for local, the data files a source names, sorted)."""
    if is_url(source):
        import fsspec

        try:
            fs, path = fsspec.core.url_to_fs(source, **dict(storage_options or {}))
            if _has_magic(path):
                found = sorted(str(p) for p in fs.glob(path))
            elif fs.isdir(path):
                found = sorted(str(p) for p in fs.find(path) if not _hidden(str(p)))
            elif fs.exists(path):
                found = [path]
            else:
                found = []
        except (OSError, ValueError, ImportError) as exc:
            raise InputError(f"{source}: cannot list: {_reason(exc)}", file=source) from None
        protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
        files = [f for f in found if _format_of(f)]
        _require(files, source, found)
        return fs, [f"{protocol}://{f}" if "://" not in f else f for f in files]
    local = source.removeprefix("file://")
    base = Path(local) if Path(local).is_absolute() else root / local
    if _has_magic(local):
        found = sorted(globlib.glob(str(base), recursive=True))
    elif base.is_dir():
        found = sorted(str(p) for p in base.rglob("*") if p.is_file() and not _hidden(p.name))
    elif base.exists():
        found = [str(base)]
    else:
        raise InputError(f"{source}: no such file or directory", file=source)
    files = [f for f in found if _format_of(f)]
    _require(files, source, found)
    return None, files


def _hidden(path: str) -> bool:
    """A hidden file (a writer's temporary name, say) is never data of a directory."""
    return PurePosixPath(path).name.startswith(".")


def _require(files: list[str], source: str, found: list[str]) -> None:
    if files:
        return
    if found:
        raise InputError(
            f"{source}: expected CSV or Parquet files "
            f"({', '.join(CSV_SUFFIXES[:2] + PARQUET_SUFFIXES[:1])}), found {found[0]}",
            file=source,
        )
    raise InputError(f"{source}: no files match", file=source)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


class _Counter:
    """Bytes read so far against the total, reported to a callback (or to nobody)."""

    def __init__(self, report: ReadProgress | None, total: int) -> None:
        self._report = report
        self._total = total or None
        self._done = 0

    def advance(self, amount: int) -> None:
        if self._report is not None and amount:
            self._done += amount
            self._report(self._done, self._total)


def _open(fs: Any, name: str) -> IO[bytes]:
    if fs is None:
        return open(name, "rb")
    return fs.open(name, "rb")  # type: ignore[no-any-return]


def _size(fs: Any, name: str) -> int:
    try:
        return int(fs.size(name)) if fs is not None else Path(name).stat().st_size
    except (OSError, TypeError, ValueError):
        return 0


def _float_numbers_reader(handle: IO[bytes], read: Any, parse: Any) -> Any:
    """A CSV reader that reads every number column as float64.

    Types are inferred from the first block; a column of whole numbers there may hold
    decimals further down, so numbers are read as float64 from the start. The first
    block is probed from a copy of its bytes, never by a second reader of the same
    handle: a streaming reader reads ahead, and two on one handle race.
    """
    import io

    import pyarrow as pa
    from pyarrow import csv

    head = handle.read(CSV_BLOCK_BYTES)
    handle.seek(0)
    if len(head) == CSV_BLOCK_BYTES and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # whole lines only
    try:
        probe = csv.open_csv(io.BytesIO(head), read_options=read, parse_options=parse)
    except pa.ArrowInvalid:
        # A quoted field with a line break across the cut: let the real reader judge.
        return csv.open_csv(handle, read_options=read, parse_options=parse)
    integers = [f.name for f in probe.schema if pa.types.is_integer(f.type)]
    convert = csv.ConvertOptions(column_types=dict.fromkeys(integers, pa.float64()))
    return csv.open_csv(handle, read_options=read, parse_options=parse, convert_options=convert)


def _csv_batches(handle: IO[bytes], name: str, columns: Sequence[str] | None) -> Iterator[Any]:
    import pyarrow as pa
    from pyarrow import csv

    lower = name.lower()
    parse = csv.ParseOptions(delimiter="\t" if ".tsv" in lower else ",")
    codec = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}.get(Path(lower).suffix)
    compressed = codec is not None
    stream = pa.input_stream(handle, compression=codec) if compressed else handle
    read = csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    if compressed or not handle.seekable():
        reader = csv.open_csv(stream, read_options=read, parse_options=parse)
    else:
        reader = _float_numbers_reader(handle, read, parse)
    names = reader.schema.names
    wanted = [
        c for c in (names if columns is None else columns) if c in names and is_data_column(c)
    ]
    for batch in reader:
        yield batch.select(wanted) if wanted != names else batch


def _parquet_file(handle: IO[bytes]) -> Any:
    """A Parquet file whose text columns read as dictionaries (codes, not strings), one
    column chunk at a time (no read-ahead of a whole row group)."""
    import pyarrow.parquet as pq

    text = [f.name for f in pq.ParquetFile(handle).schema_arrow if is_text(f.type)]
    handle.seek(0)
    return pq.ParquetFile(handle, read_dictionary=text, pre_buffer=False, buffer_size=1 << 20)


def _parquet_columns(parquet: Any, columns: Sequence[str] | None) -> list[str]:
    names: list[str] = parquet.schema_arrow.names
    asked = names if columns is None else columns
    return [c for c in asked if c in names and is_data_column(c)]


def read_table(
    source: str,
    *,
    root: Path | None = None,
    columns: Sequence[str] | None = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: ReadProgress | None = None,
) -> Table:
    """Read every file a source names into one table of numpy columns.

    ``columns`` limits what is read (absent ones are simply not returned). Raises
    `InputError` with the file and the problem for anything unreadable.
    """
    root = root or Path.cwd()
    fs, files = resolve_files(source, root, storage_options)
    return read_files(fs, files, source=source, root=root, columns=columns, progress=progress)


def read_files(
    fs: Any,
    files: Sequence[str],
    *,
    source: str,
    root: Path,
    columns: Sequence[str] | None = None,
    progress: ReadProgress | None = None,
    revision: str | None = None,
) -> Table:
    """Read `files` from an fsspec filesystem (None = local) into one table.

    ``progress`` is told the bytes read so far and the total (sizes are only asked
    for when someone listens). ``revision`` only labels messages
    (``data/train.csv@1a2b3c4``), for files read from a DVC filesystem at a commit.
    """
    import pyarrow as pa

    acc = Accumulator()
    total = sum(_size(fs, name) for name in files) if progress is not None else 0
    counter = _Counter(progress, total)
    for name in files:
        fmt = _format_of(name)
        shown = _shown(name, root) + (f"@{revision[:12]}" if revision else "")
        try:
            with _open(fs, name) as handle:
                _read_one(fs, handle, name, shown, fmt, columns, acc, counter)
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
            kind = "Parquet" if fmt == "parquet" else "CSV"
            raise InputError(
                f"{shown}: not readable as {kind}: {_reason(exc)}", file=shown
            ) from None
    table = Table(acc.columns(), list(files), acc.rows)
    if not table.columns:
        raise InputError(f"{source}: no columns found", file=source)
    return table


def _read_one(  # noqa: PLR0917 - one file's reading state, kept together
    fs: Any,
    handle: IO[bytes],
    name: str,
    shown: str,
    fmt: str | None,
    columns: Sequence[str] | None,
    acc: Accumulator,
    counter: _Counter,
) -> None:
    if fmt == "parquet":
        # Column by column: each is decoded, turned into numpy and released before the
        # next, so reading holds the columns read so far and one more.
        parquet = _parquet_file(handle)
        wanted = _parquet_columns(parquet, columns)
        arrays = (parquet.read(columns=[c]).column(0) for c in wanted)
        acc.add(shown, wanted, arrays, parquet.metadata.num_rows)
        counter.advance(_size(fs, name))
        _release_arrow_memory()
        return
    last = 0
    for batch in _csv_batches(handle, name, columns):
        acc.add(shown, batch.schema.names, batch.columns, batch.num_rows)
        where = _tell(handle)
        counter.advance(max(where - last, 0))
        last = max(where, last)


def _release_arrow_memory() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system (the
    columns are numpy arrays by now)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _shown(name: str, root: Path) -> str:
    """A local file relative to the root when it is inside it; URLs as they are."""
    if is_url(name):
        return name
    try:
        return str(Path(name).resolve().relative_to(root.resolve()))
    except ValueError:
        return name


def _tell(handle: IO[bytes]) -> int:
    try:
        return int(handle.tell())
    except (OSError, ValueError, AttributeError):
        return 0
