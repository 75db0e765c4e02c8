"""Monitoring data larger than memory: its size estimated, then read batch by batch into
mergeable summaries (`core.drift_sketch`) instead of whole columns.

The estimate is what the exact method would hold: rows × columns × 8 bytes, the rows
and columns read from each Parquet file's footer (nothing else is read); a CSV file
counts its size on disk (text is not smaller than its float64 values), compressed ones
five times that. Streaming reads a Parquet file one batch of rows at a time (text
columns as dictionaries) and a CSV file in its blocks; memory stays at one batch plus
the summaries, whatever the size of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlops_ci.adapters.table_columns import chunks_of, float_values, is_text, kind_of
from mlops_ci.adapters.tables import (
    PARQUET_BATCH_ROWS,
    ReadProgress,
    _Counter,
    _csv_batches,
    _format_of,
    _open,
    _reason,
    _shown,
    _size,
    _tell,
    is_data_column,
)
from mlops_ci.core.drift_sketch import CategorySketch, NumericSketch, Summary
from mlops_ci.errors import InputError

#: How much larger than on disk a compressed CSV file is assumed to be.
CSV_COMPRESSION = 5


def estimate_bytes(fs: Any, files: Sequence[str]) -> int:
    """Bytes the exact method would hold for these files (see the module)."""
    import pyarrow.parquet as pq

    total = 0
    for name in files:
        if _format_of(name) == "parquet":
            try:
                with _open(fs, name) as handle:
                    meta = pq.ParquetFile(handle).metadata
                total += meta.num_rows * meta.num_columns * 8
            except Exception:  # unreadable: the reader says so with the file's name
                total += _size(fs, name)
        else:
            size = _size(fs, name)
            total += size * (CSV_COMPRESSION if not name.lower().endswith((".csv", ".tsv")) else 1)
    return total


@dataclass
class SummaryTable:
    """Per-column summaries of every file of a source, and how many rows they hold."""

    columns: dict[str, Summary] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    rows: int = 0
    origin: dict[str, str] = field(default_factory=dict)

    def add(self, shown: str, batch: Any) -> None:
        names = batch.schema.names
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise InputError(
                f"{shown}: column {twice!r} appears more than once; expected unique column names",
                file=shown,
            )
        for column, array in zip(names, batch.columns, strict=True):
            self._summary(shown, column, kind_of(array.type)).update_from(array)
        for column, summary in self.columns.items():
            if column not in names:  # absent from this file: missing in its rows
                summary.missing += batch.num_rows
        self.rows += batch.num_rows

    def _summary(self, shown: str, column: str, kind: str) -> _Updating:
        found = self.columns.get(column)
        if found is None:
            made: Summary = NumericSketch() if kind == "numeric" else CategorySketch()
            made.missing = self.rows  # first seen in a later file
            self.columns[column] = made
            self.origin[column] = shown
            return _Updating(made)
        if (kind == "numeric") != isinstance(found, NumericSketch):
            first = "numbers" if isinstance(found, NumericSketch) else "text"
            raise InputError(
                f"{shown}: column {column!r} holds {'numbers' if kind == 'numeric' else 'text'}"
                f" but {first} in {self.origin[column]}; expected one type per column",
                file=shown,
            )
        return _Updating(found)


@dataclass
class _Updating:
    summary: Summary

    def update_from(self, array: Any) -> None:
        if isinstance(self.summary, NumericSketch):
            self.summary.update(float_values(array))
            return
        for chunk in chunks_of(array):
            labels, counts, missing = _category_counts(chunk)
            self.summary.update(labels, counts, missing)


def _category_counts(chunk: Any) -> tuple[list[str], list[int], int]:
    """(labels, their counts, missing) of one text chunk, without a Python loop per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = chunk
    if not pa.types.is_dictionary(chunk.type):
        encoded = pc.dictionary_encode(
            chunk if is_text(chunk.type) else pc.cast(chunk, pa.string())
        )
    indices = encoded.indices.drop_null().to_numpy(zero_copy_only=False)
    dictionary = encoded.dictionary
    if not is_text(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    counts = np.bincount(indices, minlength=len(dictionary))
    used = np.flatnonzero(counts)
    values = dictionary.to_pylist()
    return [str(values[i]) for i in used.tolist()], counts[used].tolist(), chunk.null_count


def summarise_files(
    fs: Any,
    files: Sequence[str],
    *,
    root: Path,
    progress: ReadProgress | None = None,
    revision: str | None = None,
) -> SummaryTable:
    """Every file's batches into one `SummaryTable` (see the module)."""
    import pyarrow as pa

    table = SummaryTable(files=list(files))
    total = sum(_size(fs, name) for name in files) if progress is not None else 0
    counter = _Counter(progress, total)
    for name in files:
        fmt = _format_of(name)
        shown = _shown(name, root) + (f"@{revision[:12]}" if revision else "")
        try:
            with _open(fs, name) as handle:
                _stream_one(handle, name, shown, fmt, table, counter, _size(fs, name))
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
            kind = "Parquet" if fmt == "parquet" else "CSV"
            raise InputError(
                f"{shown}: not readable as {kind}: {_reason(exc)}", file=shown
            ) from None
    return table


def _stream_one(  # noqa: PLR0917 - one file's streaming state, kept together
    handle: Any,
    name: str,
    shown: str,
    fmt: str | None,
    table: SummaryTable,
    counter: _Counter,
    size: int,
) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        text = [f.name for f in pq.ParquetFile(handle).schema_arrow if is_text(f.type)]
        handle.seek(0)
        parquet = pq.ParquetFile(handle, read_dictionary=text, pre_buffer=False)
        rows = max(parquet.metadata.num_rows, 1)
        data = [c for c in parquet.schema_arrow.names if is_data_column(c)]
        batches = parquet.iter_batches(
            batch_size=PARQUET_BATCH_ROWS, columns=data, use_threads=False
        )
        for batch in batches:
            table.add(shown, batch)
            counter.advance(size * batch.num_rows // rows)
        return
    last = 0
    for batch in _csv_batches(handle, name, None):
        table.add(shown, batch)
        where = _tell(handle)
        counter.advance(max(where - last, 0))
        last = max(where, last)
