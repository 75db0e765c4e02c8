"""Arrow arrays into numpy columns, with as few copies as possible.

A numeric array becomes float64 (NaN for nulls), copied once from its Arrow chunks into
an array allocated at its final size. (A zero-copy view of a float64 chunk would save
that copy, about a millisecond per million values, but keeps the column in Arrow's
allocator, which holds on to more memory around it: measured, the copy costs less peak
memory.) A text (or boolean, or dictionary)
array becomes int32 codes into labels kept in first-seen order across every chunk of
every file: each chunk is dictionary-encoded (Parquet text columns are read as
dictionaries already), its small dictionary is mapped onto the labels, and the codes
are looked up through that map — no per-row Python and no column of strings is held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops_ci.core.drift import Column
from mlops_ci.errors import InputError


def kind_of(arrow_type: Any) -> str:
    """`numeric` for numbers, times and nulls; `text` for everything else."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "text"
    if pa.types.is_dictionary(arrow_type):
        return "numeric" if kind_of(arrow_type.value_type) == "numeric" else "text"
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_temporal(arrow_type)
        or pa.types.is_null(arrow_type)
    ):
        return "numeric"
    return "text"


def is_text(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def chunks_of(array: Any) -> list[Any]:
    """The chunks of a ChunkedArray, or the one Array."""
    return list(array.chunks) if hasattr(array, "chunks") else [array]


def float_values(array: Any) -> npt.NDArray[np.float64]:
    """A numeric Arrow array (or ChunkedArray) as one float64 array, NaN for nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c for c in chunks_of(array) if len(c)]
    out = np.empty(sum(len(c) for c in chunks), dtype=np.float64)
    at = 0
    for chunk in chunks:
        floats = chunk if chunk.type == pa.float64() else pc.cast(chunk, pa.float64())
        out[at : at + len(floats)] = floats.to_numpy(zero_copy_only=False)
        at += len(floats)
    return out


@dataclass
class Labels:
    """Category labels in first-seen order, and the codes of text chunks into them."""

    index: dict[str, int] = field(default_factory=dict)

    def codes(self, array: Any) -> npt.NDArray[np.int32]:
        """Codes (-1 = missing) of a text Arrow array or ChunkedArray."""
        chunks = [c for c in chunks_of(array) if len(c)]
        out = np.empty(sum(len(c) for c in chunks), dtype=np.int32)
        at = 0
        for chunk in chunks:
            out[at : at + len(chunk)] = self._chunk_codes(chunk)
            at += len(chunk)
        return out

    def _chunk_codes(self, chunk: Any) -> npt.NDArray[np.int32]:
        import pyarrow as pa
        import pyarrow.compute as pc

        encoded = chunk
        if not pa.types.is_dictionary(chunk.type):
            if not is_text(chunk.type):
                encoded = pc.cast(chunk, pa.string())
            encoded = pc.dictionary_encode(encoded)
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        dictionary = encoded.dictionary
        if not pa.types.is_string(dictionary.type):
            dictionary = pc.cast(dictionary, pa.string())
        # Only the dictionary entries in use become labels (a Parquet dictionary may
        # hold values of other row groups).
        used = np.bincount(indices[indices >= 0], minlength=len(dictionary)) > 0
        lookup = np.full(len(dictionary) + 1, -1, dtype=np.int32)  # the last: missing
        values = dictionary.to_pylist()
        for i in np.flatnonzero(used).tolist():
            lookup[i] = self.index.setdefault(str(values[i]), len(self.index))
        codes: npt.NDArray[np.int32] = lookup[indices]
        return codes

    def categories(self) -> tuple[str, ...]:
        return tuple(self.index)


@dataclass
class Accumulator:
    """Per-column parts from every file (or batch), joined once at the end."""

    numeric: dict[str, list[npt.NDArray[Any]]] = field(default_factory=dict)
    text: dict[str, list[npt.NDArray[Any]]] = field(default_factory=dict)
    labels: dict[str, Labels] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    def add(self, shown: str, names: list[str], arrays: Iterable[Any], rows: int) -> None:
        """One part (a file's columns, or a batch) of `rows` rows: `arrays` in the
        order of `names`, each an Arrow Array or ChunkedArray, consumed one at a time."""
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise InputError(
                f"{shown}: column {twice!r} appears more than once; expected unique column names",
                file=shown,
            )
        for column, array in zip(names, arrays, strict=True):
            self._add_column(shown, column, array)
        for column in list(self.numeric) + list(self.text):
            if column not in names:
                self._pad(column, rows)
        self.rows += rows

    def _add_column(self, shown: str, column: str, array: Any) -> None:
        kind = kind_of(array.type)
        if column not in self.origin:
            self.origin[column] = shown
            # A column first seen in a later file is missing in the earlier rows.
            if kind == "numeric":
                self.numeric[column] = [np.full(self.rows, np.nan)] if self.rows else []
            else:
                self.text[column] = [np.full(self.rows, -1, np.int32)] if self.rows else []
                self.labels[column] = Labels()
        elif (kind == "numeric") != (column in self.numeric):
            first = "numbers" if column in self.numeric else "text"
            raise InputError(
                f"{shown}: column {column!r} holds {'numbers' if kind == 'numeric' else 'text'}"
                f" but {first} in {self.origin[column]}; expected one type per column",
                file=shown,
            )
        if kind == "numeric":
            self.numeric[column].append(float_values(array))
        else:
            self.text[column].append(self.labels[column].codes(array))

    def _pad(self, column: str, rows: int) -> None:
        if column in self.numeric:
            self.numeric[column].append(np.full(rows, np.nan))
        else:
            self.text[column].append(np.full(rows, -1, np.int32))

    def columns(self) -> dict[str, Column]:
        """The joined columns (each one's parts are released as it is joined)."""
        out: dict[str, Column] = {}
        for name in self.origin:
            if name in self.numeric:
                out[name] = Column("numeric", _join(self.numeric.pop(name), np.float64))
            else:
                codes = _join(self.text.pop(name), np.int32)
                out[name] = Column("categorical", codes, self.labels.pop(name).categories())
        return out


def _join(parts: list[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=dtype)
    joined = np.concatenate(parts)
    parts.clear()
    return joined
