"""Reading YAML and JSON from a repository without trusting it.

Every YAML or JSON file a repository gives us (metrics, params, plots, `dvc.yaml`,
`dvc.lock`, `.dvc` files) is read here, under limits checked *before* the data is
built: a file over `MAX_BYTES` (`MAX_YAML_BYTES` for YAML and TOML, which read about
twenty times slower than JSON) is refused unread; a YAML node tree is walked, aliases
expanded, and refused past `MAX_NODES` values or `MAX_DEPTH` levels before a single
object is constructed (an alias bomb of a few lines expands to billions of values);
only plain YAML tags are known (`!!python/object` is an error); duplicate keys are
errors in YAML and JSON alike, as in `mlops-ci.yaml`. Every refusal is one
`InputError` line naming the file and the limit.

YAML is read with the YAML 1.2 rules of ruamel's safe loader, which DVC uses, so that
our values equal DVC's (`yes` is text, `1e3` a number), on libyaml when it is there.

Pure: text in, data out.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from mlops_ci.errors import InputError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_YAML_BYTES",
    "TooLarge",
    "check_shape",
    "check_size",
    "decode",
    "load_json",
    "load_yaml",
]

#: JSON and CSV files larger than this are refused unread.
MAX_BYTES = 32 * 1024 * 1024
#: YAML and TOML files larger than this are refused unread (4 MiB of YAML take seconds).
MAX_YAML_BYTES = 4 * 1024 * 1024
#: Values (mapping values and list items, aliases counted each time they expand).
MAX_NODES = 1_000_000
#: Levels of nesting: libyaml overflows the C stack on a few ten thousand, and every
#: reader of the parsed data (flatten, diff, render) recurses.
MAX_DEPTH = 100

_MIB = 1024 * 1024


class TooLarge(InputError):
    """A file over a limit (size, values, depth): refused unread, whatever reads it next."""


def _too_many(path: str, max_nodes: int) -> InputError:
    return TooLarge(
        f"{path}: more than {max_nodes:,} values (YAML aliases that expand?); not read",
        file=path,
    )


def _too_deep(path: str, max_depth: int) -> InputError:
    return TooLarge(f"{path}: nested deeper than {max_depth} levels; not read", file=path)


def check_size(size: int, path: str, limit: int) -> None:
    """Refuse a file of `size` bytes over `limit`, before anything parses it."""
    if size > limit:
        raise TooLarge(
            f"{path}: {size / _MIB:.1f} MiB, over the {limit / _MIB:g} MiB limit for this "
            "kind of file; not read",
            file=path,
        )


def decode(raw: bytes | str, path: str, limit: int = MAX_BYTES) -> str:
    """UTF-8 text without a byte-order mark, refused over `limit` bytes."""
    check_size(len(raw), path, limit)
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start})", file=path) from None
    else:
        text = raw
    return text.removeprefix("\ufeff")


def _escaped(text: str) -> str:
    """Text that UTF-8 can encode: a lone surrogate (`"\\ud800"` in JSON) becomes `\\ud800`."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def check_shape(
    data: Any, path: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Any:
    """Refuse data too large or too deep; escape lone surrogates in keys and text.

    Returns `data`, changed in place only where a key or a text held a lone surrogate
    (which no report, file or terminal can encode).
    """
    if isinstance(data, str):
        return _escaped(data)
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise _too_many(path, max_nodes)
        if isinstance(value, dict):
            if depth >= max_depth:
                raise _too_deep(path, max_depth)
            _escape_mapping(value)
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            if depth >= max_depth:
                raise _too_deep(path, max_depth)
            for i, item in enumerate(value):
                if isinstance(item, str):
                    value[i] = _escaped(item)
            stack.extend((item, depth + 1) for item in value)
    return data


def _escape_mapping(mapping: dict[Any, Any]) -> None:
    bad = [
        key
        for key, item in mapping.items()
        if (isinstance(key, str) and _escaped(key) is not key)
        or (isinstance(item, str) and _escaped(item) is not item)
    ]
    if not bad:
        return
    items = list(mapping.items())
    mapping.clear()
    for key, item in items:
        fixed_key = _escaped(key) if isinstance(key, str) else key
        mapping[fixed_key] = _escaped(item) if isinstance(item, str) else item


# --- JSON ------------------------------------------------------------------------------


def load_json(
    text: str, path: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Any:
    """JSON as DVC reads it (`NaN` and `Infinity` allowed), duplicate keys refused."""
    count = 0

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal count
        count += len(items)
        if count > max_nodes:
            raise _too_many(path, max_nodes)
        mapping = dict(items)
        if len(mapping) != len(items):
            raise InputError(
                f"{path}: cannot parse JSON: duplicate key {_duplicate(items)!r}", file=path
            )
        return mapping

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}: cannot parse JSON: {exc.msg}", file=path, line=exc.lineno
        ) from None
    except RecursionError:
        raise _too_deep(path, max_depth) from None
    except ValueError as exc:  # an integer longer than Python converts (4300 digits)
        raise InputError(f"{path}: cannot parse JSON: {_first_line(exc)}", file=path) from None
    return check_shape(data, path, max_nodes=max_nodes, max_depth=max_depth)


def _duplicate(items: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in items:
        if key in seen:
            return key
        seen.add(key)
    return ""  # pragma: no cover - called only when there is a duplicate


def _flow_depth_ok(text: str, max_depth: int) -> bool:
    """False when `[`/`{` nest deeper than `max_depth` (checked before a parser sees it)."""
    if text.count("[") + text.count("{") <= max_depth:
        return True
    depth = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        if depth > max_depth:
            return False
    return True


def _first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break (YAML appends a position)."""
    return str(exc).strip().split("\n", 1)[0]


# --- YAML ------------------------------------------------------------------------------

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


class _DuplicateKey(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


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


_LOADER: Any = None


def yaml12_loader() -> Any:
    """A safe loader (libyaml's when there is one) with YAML 1.2 scalar rules.

    ruamel's safe loader is pure Python and reads 1,000 params in about a second;
    libyaml with the same resolution rules takes a few milliseconds.
    """
    global _LOADER  # noqa: PLW0603 - built once, on first use
    if _LOADER is not None:
        return _LOADER
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Yaml12Loader(base):  # type: ignore[misc, valid-type, unused-ignore]
        pass

    Yaml12Loader.yaml_implicit_resolvers = {}
    for tag, pattern, first in _YAML12_RESOLVERS:
        Yaml12Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), first)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _yaml12_float)
    Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)
    _LOADER = Yaml12Loader
    return Yaml12Loader


def _check_nodes(root: Any, path: str, max_nodes: int, max_depth: int) -> None:
    """Walk the node tree, aliases expanded, within the budget (nothing constructed yet)."""
    import yaml

    stack: list[tuple[Any, int]] = [(root, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise _too_many(path, max_nodes)
        if isinstance(node, yaml.MappingNode):
            if depth >= max_depth:
                raise _too_deep(path, max_depth)
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            if depth >= max_depth:
                raise _too_deep(path, max_depth)
            stack.extend((item, depth + 1) for item in node.value)


def load_yaml(
    text: str, path: str, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> Any:
    """YAML 1.2 as DVC reads it, under the limits; one `InputError` line on bad input."""
    import yaml

    if not _flow_depth_ok(text, max_depth):
        raise _too_deep(path, max_depth)
    loader = yaml12_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, path, max_nodes, max_depth)
        data = loader.construct_document(node)
    except _DuplicateKey as exc:
        raise InputError(
            f"{path}:{exc.line}: cannot parse YAML: {exc}", file=path, line=exc.line
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _marked(exc, path) from None
    except RecursionError:
        raise _too_deep(path, max_depth) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # ValueError: a plain scalar that looks like a date but is none (2024-02-30).
        raise InputError(f"{path}: cannot parse YAML: {_first_line(exc)}", file=path) from None
    finally:
        loader.dispose()
    return check_shape(data, path, max_nodes=max_nodes, max_depth=max_depth)


def _marked(exc: Any, path: str) -> InputError:
    mark = exc.problem_mark
    line = mark.line + 1 if mark is not None else None
    where = f"{path}:{line}" if line else path
    problem = str(exc.problem or "invalid YAML")
    if "could not determine a constructor" in problem:
        tag = problem.rsplit(" ", 1)[-1].strip("'\"")
        problem = f"the tag {tag} is not plain YAML (only safe YAML is read)"
    return InputError(f"{where}: cannot parse YAML: {problem}", file=path, line=line)
