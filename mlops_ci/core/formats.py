"""Parsing metrics and params files the way DVC 3 reads them.

DVC picks a parser by suffix: `.json` (the standard library, which accepts `NaN`
and `Infinity`), `.toml`, `.py` (not supported here), and YAML for everything
else (ruamel's safe loader, YAML 1.2). We use the same rules so that our numbers
equal `dvc metrics diff` / `dvc params diff` for the same files.

DVC 3 has no CSV reader for metrics or params (a `.csv` file goes to the YAML
parser and yields nothing useful); plots, however, are read from CSV/TSV with a
header row. We read `.csv`/`.tsv` metrics that way too: with one data row the
columns become metric names; with several rows each row is keyed by its index
(`0.precision`, `1.precision`, ...). Numbers in CSV cells are parsed as numbers.

Every file is read under the limits of `core.safe_load` (size, values, depth; only
safe YAML), and a metrics or params file whose top level is no mapping (a list, a
single number) is an error: its values are unknown, not absent.

Pure: functions take text and return data; no file system access.
"""

from __future__ import annotations

import csv
import io
import tomllib
from typing import Any

from mlops_ci.core.safe_load import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_YAML_BYTES,
    TooLarge,
    check_shape,
    decode,
    load_json,
    load_yaml,
)
from mlops_ci.errors import InputError

__all__ = [
    "extract_metrics",
    "parse_data_file",
    "parse_metrics",
    "parse_params",
    "parse_table",
]


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    return "." + name.rsplit(".", 1)[-1].lower()


def _number(cell: str) -> Any:
    """A CSV cell as int or float when it reads as one, else the text."""
    text = cell.strip()
    if not text:
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return cell
    # float() accepts "nan", "inf", "infinity" in any case; keep them as numbers.
    return value


def parse_table(text: str, delimiter: str, path: str = "table") -> list[dict[str, Any]]:
    """Rows of a CSV/TSV with a header row, cells converted to numbers where they are.

    A row with more or fewer cells than the header is an `InputError` (a value would
    otherwise be dropped or shifted silently), as is a cell over the csv module's limit.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[dict[str, Any]] = []
    try:
        header = next(reader, None)
        if header is None:
            return rows
        for cells in reader:
            if not cells:
                continue
            if len(cells) != len(header):
                line = reader.line_num
                raise InputError(
                    f"{path}:{line}: row has {len(cells)} cells, the header has {len(header)}",
                    file=path,
                    line=line,
                )
            rows.append({str(k): _number(v) for k, v in zip(header, cells, strict=True)})
    except csv.Error as exc:
        line = reader.line_num
        raise InputError(f"{path}:{line}: cannot parse CSV: {exc}", file=path, line=line) from None
    return rows


def _parse_yaml(text: str, path: str) -> Any:
    """YAML as DVC's ruamel safe loader reads it, under `core.safe_load`'s limits."""
    return load_yaml(text, path)


def parse_data_file(raw: bytes | str, path: str) -> Any:
    """Parse a metrics, params or plots file by its suffix, as DVC does.

    Raises `InputError` naming the file (and line, where known) on bad input, and on a
    file over the size, value or depth limits of `core.safe_load`.
    """
    suffix = _suffix(path)
    slow = suffix not in (".json", ".csv", ".tsv")
    text = decode(raw, path, MAX_YAML_BYTES if slow else MAX_BYTES)
    if suffix == ".json":
        return load_json(text, path) if text.strip() else {}
    try:
        return check_shape(_parse_other(text, path, suffix), path)
    except RecursionError:
        raise TooLarge(f"{path}: nested deeper than {MAX_DEPTH} levels", file=path) from None


def _parse_other(text: str, path: str, suffix: str) -> Any:
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise InputError(f"{path}: cannot parse TOML: {exc}", file=path) from None
    if suffix in (".csv", ".tsv"):
        rows = parse_table(text, "," if suffix == ".csv" else "\t", path)
        if len(rows) == 1:
            return rows[0]
        return {str(i): row for i, row in enumerate(rows)}
    return load_yaml(text, path)


def extract_metrics(value: Any) -> Any:
    """Keep what DVC keeps of a metrics file: numbers, booleans and strings in mappings.

    Lists and nulls are dropped (DVC skips them with a debug message), as are
    mappings left empty after that.
    """
    if isinstance(value, int | float | str):
        return value
    if not isinstance(value, dict):
        return None
    kept: dict[str, Any] = {}
    for key, item in value.items():
        extracted = extract_metrics(item)
        if extracted is not None and extracted != {}:
            kept[str(key)] = extracted
    return kept


def _top_mapping(data: Any, path: str) -> dict[str, Any]:
    """The top level of a metrics or params file: a mapping; empty files have none."""
    if data is None or data in ([], {}):
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise InputError(
            f"{path}: expected a mapping of names to values at the top level, got {kind}",
            file=path,
        )
    return {str(k): v for k, v in data.items()}


def parse_metrics(raw: bytes | str, path: str) -> dict[str, Any]:
    """A metrics file as a (nested) mapping; a top level that is no mapping is an error."""
    data = _top_mapping(parse_data_file(raw, path), path)
    kept = extract_metrics(data)
    return kept if isinstance(kept, dict) else {}


def parse_params(raw: bytes | str, path: str) -> dict[str, Any]:
    """A params file as a (nested) mapping; lists stay values, as in DVC."""
    return _top_mapping(parse_data_file(raw, path), path)
