"""Batch scoring's files: input tables read as Arrow record batches of bounded size,
their bytes checksummed as a stream, and an output table written batch by batch.

Input and output are local paths or fsspec URLs (`s3://…`). A local output is written
through `adapters.files.writing_atomic` (whole or absent); a URL output is written by
fsspec (object stores publish an object only when its upload completes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from mlops_ci.adapters.files import writing_atomic
from mlops_ci.adapters.tables import CSV_SUFFIXES, PARQUET_SUFFIXES, is_url
from mlops_ci.errors import InputError

_CHUNK = 1 << 20
#: CSV text parsed at a time. pyarrow's streaming reader reads several blocks ahead,
#: so memory grows with the block: 16 MiB blocks held ~280 MB on a 210 MB CSV, 2 MiB ~90 MB.
CSV_BLOCK_BYTES = 2 << 20
#: Keys of the Parquet file metadata that say where the predictions came from.
METADATA_PREFIX = "mlops_ci."


def output_format(target: str) -> str:
    """`parquet` or `csv`, from the output's suffix; anything else is one line."""
    lower = target.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    raise InputError(
        f"--output {target}: expected a .parquet or .csv name (the suffix picks the format)"
    )


def _open(fs: Any, name: str) -> IO[bytes]:
    return open(name, "rb") if fs is None else fs.open(name, "rb")


def sha256_of(fs: Any, files: Sequence[str]) -> str:
    """sha256 of the files' bytes, one after another, read 1 MiB at a time."""
    digest = hashlib.sha256()
    for name in files:
        with _open(fs, name) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def file_size(fs: Any, name: str) -> int:
    try:
        return int(fs.size(name)) if fs is not None else Path(name).stat().st_size
    except (OSError, TypeError, ValueError):
        return 0


def _csv_options(fs: Any, name: str) -> tuple[Any, Any, Any]:
    """(read, parse, convert) options. Types come from the first block: whole numbers
    there may be decimals further down, so integer columns are read as float64. The
    first block is read through its own handle, closed before the real read starts (a
    reader's read-ahead on a shared handle would keep consuming it)."""
    import pyarrow as pa
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter="\t" if ".tsv" in name.lower() else ",")
    read = csv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    with _open(fs, name) as probe:
        reader = csv.open_csv(probe, read_options=read, parse_options=parse)
        integers = [f.name for f in reader.schema if pa.types.is_integer(f.type)]
        reader.close()
    convert = csv.ConvertOptions(column_types=dict.fromkeys(integers, pa.float64()))
    return read, parse, convert


def iter_batches(
    fs: Any, name: str, chunk_rows: int, on_bytes: Callable[[int], None] | None = None
) -> Iterator[Any]:
    """Record batches of at most `chunk_rows` rows; `on_bytes` is told the bytes read."""
    import pyarrow.parquet as pq
    from pyarrow import csv

    lower = name.lower()
    is_csv = lower.endswith(CSV_SUFFIXES)
    options = _csv_options(fs, name) if is_csv else None
    with _open(fs, name) as handle:
        if lower.endswith(PARQUET_SUFFIXES):
            parquet = pq.ParquetFile(handle, pre_buffer=False, buffer_size=_CHUNK)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield batch
                _tell(handle, on_bytes)
            return
        if options is None:
            raise InputError(f"{name}: expected a CSV or Parquet file", file=name)
        read, parse, convert = options
        reader = csv.open_csv(
            handle, read_options=read, parse_options=parse, convert_options=convert
        )
        for batch in reader:
            for start in range(0, batch.num_rows, chunk_rows):
                yield batch.slice(start, chunk_rows)
            _tell(handle, on_bytes)


def _tell(handle: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
    if on_bytes is None:
        return
    try:
        on_bytes(int(handle.tell()))
    except (OSError, ValueError, AttributeError):
        return


def _destination(
    target: str, root: Path, options: Mapping[str, Any]
) -> AbstractContextManager[Any]:
    if is_url(target):
        import fsspec

        return fsspec.open(target, "wb", **dict(options))  # type: ignore[no-any-return]
    local = Path(target.removeprefix("file://"))
    return writing_atomic(local if local.is_absolute() else root / local)


class TableWriter:
    """Writes record batches to a Parquet or CSV file; `metadata` goes into the
    Parquet footer (a CSV has nowhere to keep it: the caller adds columns)."""

    def __init__(self, handle: BinaryIO, fmt: str, metadata: Mapping[str, str]) -> None:
        self._handle = handle
        self._fmt = fmt
        self._metadata = {f"{METADATA_PREFIX}{k}": v for k, v in metadata.items()}
        self._writer: Any = None

    def write(self, batch: Any) -> None:
        if self._writer is None:
            self._writer = self._open(batch.schema)
        self._writer.write_batch(batch)

    def _open(self, schema: Any) -> Any:
        if self._fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetWriter(self._handle, schema.with_metadata(self._metadata))
        from pyarrow import csv

        return csv.CSVWriter(self._handle, schema)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


@contextmanager
def table_writer(
    target: str, root: Path, metadata: Mapping[str, str], options: Mapping[str, Any]
) -> Iterator[TableWriter]:
    """A `TableWriter` to `target` (format by suffix); nothing is left on failure."""
    fmt = output_format(target)
    with _destination(target, root, options) as handle:
        writer = TableWriter(handle, fmt, metadata)
        try:
            yield writer
        finally:
            writer.close()
