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

Pure: functions take text and return data; no file system access.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tomllib
from typing import Any

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


def parse_table(text: str, delimiter: str) -> list[dict[str, Any]]:
    """Rows of a CSV/TSV with a header row, cells converted to numbers where they are."""
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return [
        {str(key): _number(value or "") for key, value in row.items() if key is not None}
        for row in reader
    ]


def _parse_yaml(text: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelYAMLError

    try:
        return YAML(typ="safe").load(text)
    except RuamelYAMLError as exc:
        line = None
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        where = f"{path}:{line}" if line else path
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{where}: cannot parse YAML: {problem}", file=path, line=line) from None


def parse_data_file(raw: bytes | str, path: str) -> Any:
    """Parse a metrics or params file by its suffix, as DVC does.

    Raises `InputError` naming the file (and line, where known) on bad input.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start})", file=path) from None
    else:
        text = raw
    text = text.removeprefix("\ufeff")
    suffix = _suffix(path)
    if suffix == ".json":
        if not text.strip():
            return {}
        try:
            return json.loads(text) or {}
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{exc.lineno}: cannot parse JSON: {exc.msg}", file=path, line=exc.lineno
            ) from None
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: cannot parse TOML: {exc}", file=path) from None
    if suffix in (".csv", ".tsv"):
        rows = parse_table(text, "," if suffix == ".csv" else "\t")
        if len(rows) == 1:
            return rows[0]
        return {str(i): row for i, row in enumerate(rows)}
    return _parse_yaml(text, path) or {}


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


def parse_metrics(raw: bytes | str, path: str) -> dict[str, Any]:
    """A metrics file as a (nested) mapping; a bare scalar file becomes `{"": value}`."""
    data = extract_metrics(parse_data_file(raw, path))
    if isinstance(data, dict):
        return data
    if data is None:
        return {}
    return {"": data}


def parse_params(raw: bytes | str, path: str) -> dict[str, Any]:
    """A params file as a (nested) mapping; lists stay values, as in DVC."""
    data = parse_data_file(raw, path)
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items()}
    if data is None or data == []:
        return {}
    return {"": data}


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are finite (booleans are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
