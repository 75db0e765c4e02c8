"""Flatten nested metrics and params and diff a base against a head.

Keys are flattened the way DVC does it (`flatten_dict` with the dot reducer):
nested mappings become dotted paths (`eval.test.acc`), lists are values and are
not indexed, empty mappings vanish. Values compare as DVC compares them, except
that NaN equals NaN here (DVC reports an unchanged NaN as a change), and a
one-element list compares as its element, as in DVC.

Pure: plain data in, plain data out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["changed", "unchanged", "added", "removed", "no_base"]

__all__ = [
    "DiffResult",
    "MetricDelta",
    "diff",
    "diff_files",
    "flatten",
    "format_value",
    "is_number",
]


def flatten(data: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys, like DVC's `flatten` (lists are leaves)."""
    out: dict[str, Any] = {}
    _flatten_into(out, data, prefix)
    return out


def _flatten_into(out: dict[str, Any], data: Mapping[Any, Any], prefix: str) -> None:
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            _flatten_into(out, value, name)
        else:
            out[name] = value


def is_number(value: Any) -> bool:
    """An int or float (NaN and infinities included), not a boolean.

    An integer beyond the float range (a 400-digit literal) is not a number here: every
    delta and gate is computed in floats, and it would overflow there.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int) and value.bit_length() > 1000:
        try:
            float(value)
        except OverflowError:
            return False
    return True


def _unwrap(value: Any) -> Any:
    # DVC compares one-element lists by their element.
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return True
    if isinstance(old, bool) != isinstance(new, bool):
        # DVC's `==` says True == 1; a type change is still a change worth showing.
        return False
    try:
        return bool(old == new)
    except Exception:  # pragma: no cover - exotic values from YAML tags
        return False


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric or param: its values at base and head and how it changed."""

    file: str
    key: str
    base: Any
    head: Any
    status: Status
    delta: float | None = None
    delta_pct: float | None = None

    @property
    def name(self) -> str:
        """`file:key`, the unambiguous name."""
        return f"{self.file}:{self.key}"

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


def _delta(base: Any, head: Any) -> tuple[float | None, float | None]:
    if not (is_number(base) and is_number(head)):
        return None, None
    delta: float
    if isinstance(base, int) and isinstance(head, int):
        delta = head - base
    else:
        delta = float(head) - float(base)
    if math.isnan(delta):
        return delta, math.nan
    if delta == 0:
        return delta, 0.0
    if not math.isfinite(base):
        return delta, math.nan
    if base == 0:
        return delta, None  # a relative change from zero is undefined
    return delta, delta / abs(base) * 100.0


_MISSING: Any = object()


def _compare(file: str, key: str, base: Any, head: Any) -> MetricDelta:
    if base is _MISSING:
        return MetricDelta(file, key, None, head, "added")
    if head is _MISSING:
        return MetricDelta(file, key, base, None, "removed")
    old, new = _unwrap(base), _unwrap(head)
    delta, pct = _delta(old, new)
    status: Status = "unchanged" if _same(old, new) else "changed"
    if status == "unchanged" and delta is not None and math.isnan(delta):
        delta, pct = None, None
    return MetricDelta(file, key, base, head, status, delta, pct)


def diff_files(
    file: str,
    base: Mapping[str, Any] | None,
    head: Mapping[str, Any] | None,
) -> Iterator[MetricDelta]:
    """Diff one file's nested data. `base=None`: no baseline for this file.

    `head=None` means the file is absent at head (every key is removed).
    Rows come in head order, then keys only the base has.
    """
    flat_head = flatten(head) if head is not None else {}
    if base is None:
        for key, value in flat_head.items():
            yield MetricDelta(file, key, None, value, "no_base")
        return
    flat_base = flatten(base)
    for key, value in flat_head.items():
        old = flat_base.get(key, _MISSING)
        yield _compare(file, key, old, value)
    for key, old in flat_base.items():
        if key not in flat_head:
            yield _compare(file, key, old, _MISSING)


@dataclass
class DiffResult:
    """All rows of one kind (metrics or params), with files that had no baseline."""

    rows: list[MetricDelta] = field(default_factory=list)
    # file -> why its base values are unknown ("not in git at base", ...)
    no_base: dict[str, str] = field(default_factory=dict)
    # file -> why its head values are unknown
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> list[MetricDelta]:
        return [row for row in self.rows if row.changed]

    @property
    def unchanged(self) -> list[MetricDelta]:
        return [row for row in self.rows if not row.changed]

    def find(self, key: str) -> list[MetricDelta]:
        """Rows matching a gate key: `key` in any file, or `file:key`."""
        exact = [row for row in self.rows if row.key == key]
        if exact:
            return exact
        if ":" in key:
            file, _, sub = key.rpartition(":")
            return [row for row in self.rows if row.file == file and row.key == sub]
        return []


def diff(
    base: Mapping[str, Mapping[str, Any] | None],
    head: Mapping[str, Mapping[str, Any] | None],
    files: Iterable[str] | None = None,
    no_base: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> DiffResult:
    """Diff files by name. A file in `no_base` has no baseline (shown as such);

    a file missing from `base` (and not in `no_base`) did not exist at the base, so
    all its keys are added; a file missing from `head` is removed. A file in `errors`
    could not be read at the head: its values are unknown, so it has no rows at all
    (not "removed") and `errors` says why.
    """
    names = list(files) if files is not None else list(dict.fromkeys([*head, *base]))
    result = DiffResult(no_base=dict(no_base or {}), errors=dict(errors or {}))
    for name in names:
        if name in result.errors:
            continue
        head_data = head.get(name)
        if name in result.no_base:
            result.rows.extend(diff_files(name, None, head_data))
        else:
            result.rows.extend(diff_files(name, base.get(name) or {}, head_data))
    return result


def format_value(value: Any, precision: int = 4) -> str:
    """A value as a person reads it: numbers to `precision` significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{max(precision, 1)}g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | dict):
        import json

        return json.dumps(value, default=str, allow_nan=True)
    return str(value)


def format_delta(value: float | None, precision: int = 4, pct: bool = False) -> str:
    """A signed delta (`+0.012`, `-3.1%`); `—` when there is none."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    if value == 0:
        return "0%" if pct else "0"
    if pct:
        size = abs(value)
        if size >= 100:
            return f"{value:+.0f}%"
        if size >= 1:
            return f"{value:+.1f}%"
        return f"{value:+.2g}%"
    return f"{value:+.{max(precision, 1)}g}"
