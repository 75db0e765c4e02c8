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
import re
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


# YAML 1.2 core schema, as ruamel's safe loader (which DVC uses) resolves plain scalars.
_YAML12_RESOLVERS: list[tuple[str, str, list[str | None]]] = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (
        "tag:yaml.org,2002:float",
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        list("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        list("-+0123456789"),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", None]),
    (
        "tag:yaml.org,2002:timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        list("0123456789"),
    ),
]


def _yaml12_int(loader: Any, node: Any) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text[0] == "-" else 1
    text = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text)


def _yaml12_float(loader: Any, node: Any) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1.0 if text[0] == "-" else 1.0
    text = text.lstrip("+-")
    if text == ".inf":
        return sign * math.inf
    if text == ".nan":
        return math.nan
    return sign * float(text)


def _unique_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
    # ruamel refuses duplicate keys (so DVC fails on them); do not silently keep one.
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            line = key_node.start_mark.line + 1
            raise _DuplicateKey(f"duplicate key {key!r}", line)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


_FAST_LOADER: Any = None


def _fast_yaml_loader() -> Any:
    """PyYAML's libyaml loader with YAML 1.2 scalar rules; None without libyaml.

    ruamel's safe loader is pure Python here and reads 1,000 params in about a
    second; libyaml with the same resolution rules takes a few milliseconds.
    """
    global _FAST_LOADER  # noqa: PLW0603 - built once, on first use
    if _FAST_LOADER is not None:
        return _FAST_LOADER or None
    import re

    import yaml

    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        _FAST_LOADER = False
        return None

    class Yaml12Loader(base):  # type: ignore[misc, valid-type, unused-ignore]
        pass

    Yaml12Loader.yaml_implicit_resolvers = {}
    for tag, pattern, first in _YAML12_RESOLVERS:
        Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), first)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _yaml12_float)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)
    _FAST_LOADER = Yaml12Loader
    return Yaml12Loader


def _parse_yaml(text: str, path: str) -> Any:
    if not _flow_depth_ok(text):
        raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels", file=path)
    loader = _fast_yaml_loader()
    if loader is not None:
        import yaml

        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader with 1.2 rules
        except _DuplicateKey as exc:
            raise InputError(
                f"{path}:{exc.line}: cannot parse YAML: {exc}", file=path, line=exc.line
            ) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else None
            where = f"{path}:{line}" if line else path
            raise InputError(
                f"{where}: cannot parse YAML: {exc.problem or 'invalid YAML'}", file=path, line=line
            ) from None
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            # ValueError: a plain scalar that looks like a date but is none (2024-02-30).
            raise InputError(f"{path}: cannot parse YAML: {_first_line(exc)}", file=path) from None
    return _parse_yaml_ruamel(text, path)


def _parse_yaml_ruamel(text: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelYAMLError

    try:
        return YAML(typ="safe").load(text)
    except (ValueError, OverflowError) as exc:
        raise InputError(f"{path}: cannot parse YAML: {_first_line(exc)}", file=path) from None
    except RuamelYAMLError as exc:
        line = None
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = mark.line + 1
        where = f"{path}:{line}" if line else path
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{where}: cannot parse YAML: {problem}", file=path, line=line) from None


#: Deeper nesting is refused: libyaml overflows the C stack on a few ten thousand levels,
#: and every reader of the parsed data (flatten, diff, render) recurses.
MAX_DEPTH = 100
#: Values visited when checking the parsed data; a YAML alias bomb expands beyond it.
MAX_VALUES = 1_000_000


def _check_shape(data: Any, path: str) -> Any:
    """Refuse data nested deeper than MAX_DEPTH or holding more than MAX_VALUES values."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise InputError(
                f"{path}: more than {MAX_VALUES:,} values (YAML aliases that expand?)", file=path
            )
        if isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels", file=path)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return data


def _flow_depth_ok(text: str) -> bool:
    """False when `[`/`{` nest deeper than MAX_DEPTH (checked before libyaml sees it)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return True
    depth = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            return False
    return True


def _first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break (YAML appends a position)."""
    return str(exc).strip().split("\n", 1)[0]


def parse_data_file(raw: bytes | str, path: str) -> Any:
    """Parse a metrics or params file by its suffix, as DVC does.

    Raises `InputError` naming the file (and line, where known) on bad input.
    """
    try:
        return _check_shape(_parse_data_file(raw, path), path)
    except RecursionError:
        raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels", file=path) from None


def _parse_data_file(raw: bytes | str, path: str) -> Any:
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
        except ValueError as exc:  # an integer longer than Python converts (4300 digits)
            raise InputError(f"{path}: cannot parse JSON: {exc}", file=path) from None
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
    from mlops_ci.core.metrics import is_number

    return is_number(value) and math.isfinite(value)
