"""Parameter sweeps as plain data: the plan, one cell's assignments, and the ranking.

A sweep is a list of cells; each cell assigns values to dotted parameter keys
(`train.model.max_depth=5`). Cells come from a grid (every combination, in the
order the keys are written) followed by explicit sets, without duplicates.

A cell travels from `sweep plan` to `sweep run` as one line of text,
`KEY=VALUE KEY=VALUE`, split like a POSIX shell splits words (quotes group; nothing
is ever expanded). A VALUE is read as a YAML 1.2 scalar, as DVC reads `-S`
values: `5` is a number, `true` a boolean, `gini` a string, `"5"` the string 5.
`format_assignment` writes every value so that `parse_assignment` gives back the
very same value.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import shlex
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_ci.core.metrics import is_number

Direction = Literal["higher", "lower"]

__all__ = [
    "Cell",
    "ParamEffect",
    "RankedRun",
    "SweepPlan",
    "expand",
    "format_assignment",
    "format_set",
    "format_value",
    "matrix",
    "param_effects",
    "parse_assignment",
    "parse_set",
    "parse_value",
    "plan",
    "rank",
    "set_nested",
    "split_key",
]

# A cell id becomes a directory and an artifact name: keep it plain.
CELL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PARAMS_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_EXPANSION_LIMIT = 100_000


class SweepError(ValueError):
    """A sweep definition or a cell assignment that cannot be used (message says why)."""


# --- values -------------------------------------------------------------------------


@functools.cache
def _yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True)


# Characters a YAML document may not hold raw: written as \u escapes in quoted text.
_NON_PRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]"
)


def _quoted(value: Any) -> str:
    """JSON text (valid YAML flow) with every character YAML forbids escaped."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def parse_value(text: str) -> Any:
    """A VALUE as YAML 1.2 reads it (`5` → 5, `0.5` → 0.5, `true` → True, `x` → 'x')."""
    from ruamel.yaml.error import YAMLError

    if text == "":
        return ""
    try:
        value = _yaml().load(text)
    except YAMLError:
        return text
    if value is None and text.strip() not in ("null", "Null", "NULL", "~"):
        # A bare comment or an empty document: the user meant the text itself.
        return text
    return value


def _round_trips(text: str, value: Any) -> bool:
    parsed = parse_value(text)
    if isinstance(value, float) and math.isnan(value):
        return isinstance(parsed, float) and math.isnan(parsed)
    return type(parsed) is type(value) and bool(parsed == value)


def _format_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    # YAML 1.2 wants a dot in a float: 1e-05 would read as a string.
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def format_value(value: Any) -> str:
    """VALUE text that `parse_value` reads back as exactly `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, str):
        if value and value == value.strip() and _round_trips(value, value):
            return value
        return _quoted(value)
    if isinstance(value, list | dict):
        try:
            text = _quoted(value)
        except ValueError:
            raise SweepError("a list or mapping value cannot hold NaN or infinity") from None
        if _round_trips(text, value):
            return text
        raise SweepError(f"cannot write {text[:60]} as a parameter value")
    raise SweepError(f"unsupported parameter value of type {type(value).__name__}")


# --- keys -----------------------------------------------------------------------------

_SEGMENT = re.compile(r"^[^\s=.:'\"]+$")


def split_key(key: str) -> tuple[str | None, str]:
    """`params.yaml:train.lr` → ('params.yaml', 'train.lr'); `train.lr` → (None, 'train.lr')."""
    file: str | None = None
    dotted = key
    head, sep, tail = key.rpartition(":")
    if sep and head.lower().endswith(_PARAMS_SUFFIXES):
        file, dotted = head, tail
    if not dotted or not all(_SEGMENT.match(part) for part in dotted.split(".")):
        raise SweepError(
            f"{key!r} is not a parameter key: expected dotted names like train.model.max_depth "
            "(optionally FILE:key), without spaces, quotes or '='"
        )
    if file is not None and ("\n" in file or not file.strip()):
        raise SweepError(f"{key!r}: bad params file name")
    return file, dotted


# --- assignments ----------------------------------------------------------------------


def format_assignment(key: str, value: Any) -> str:
    """`KEY=VALUE` for one parameter."""
    split_key(key)
    return f"{key}={format_value(value)}"


def parse_assignment(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` → (key, value); the key is checked, the value read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise SweepError(f"{text!r} is not KEY=VALUE")
    key = key.strip()
    split_key(key)
    return key, parse_value(raw)


def format_set(assignments: Mapping[str, Any]) -> str:
    """A cell as one line of words: `a.b=1 'c=two words'` (shell quoting, never expanded)."""
    return shlex.join(format_assignment(k, v) for k, v in assignments.items())


def parse_set(line: str) -> dict[str, Any]:
    """The inverse of `format_set` (a key given twice: the last one wins)."""
    try:
        words = shlex.split(line, comments=False, posix=True)
    except ValueError as exc:
        raise SweepError(f"cannot split the cell {line[:80]!r}: {exc}") from None
    return dict(parse_assignment(word) for word in words)


# --- planning -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: its id and the parameter values it sets."""

    id: str
    params: dict[str, Any]

    @property
    def line(self) -> str:
        return format_set(self.params)


@dataclass(frozen=True)
class SweepPlan:
    cells: list[Cell]
    keys: list[str]

    def matrix(self) -> dict[str, Any]:
        return matrix(self)


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(sorted(params.items()), default=repr, allow_nan=True)


def expand(
    grid: Mapping[str, Sequence[Any]], sets: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Every grid combination (last key varies fastest), then each set; no duplicates."""
    cells: list[dict[str, Any]] = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            cells.append(dict(zip(keys, combo, strict=True)))
    cells.extend(dict(s) for s in sets)
    seen: set[str] = set()
    unique = []
    for cell in cells:
        mark = _canonical(cell)
        if mark not in seen:
            seen.add(mark)
            unique.append(cell)
    return unique


def grid_size(grid: Mapping[str, Sequence[Any]], sets: Sequence[Mapping[str, Any]] = ()) -> int:
    """An upper bound of the plan's size, without expanding it."""
    size = math.prod(len(v) for v in grid.values()) if grid else 0
    return size + len(sets)


def plan(
    grid: Mapping[str, Sequence[Any]],
    sets: Sequence[Mapping[str, Any]] = (),
    *,
    max_runs: int,
) -> SweepPlan:
    """The cells of a sweep with ids `r01`, `r02`…; refuses more than `max_runs` cells."""
    for key in [*grid, *(k for s in sets for k in s)]:
        split_key(key)
    if grid_size(grid, sets) > _EXPANSION_LIMIT:
        # Refuse before expanding a product that would not fit in memory.
        raise SweepError(
            f"the sweep has {grid_size(grid, sets)} runs, more than max_runs ({max_runs})"
        )
    cells = expand(grid, sets)
    if not cells:
        raise SweepError("the sweep is empty: give experiments.grid or experiments.sets")
    if len(cells) > max_runs:
        raise SweepError(
            f"the sweep has {len(cells)} runs, more than max_runs ({max_runs}); "
            "shrink the grid or raise experiments.max_runs"
        )
    for cell in cells:
        for key, value in cell.items():
            format_assignment(key, value)  # every value must travel as text
    width = max(2, len(str(len(cells))))
    keys = list(dict.fromkeys(k for cell in cells for k in cell))
    return SweepPlan(
        cells=[Cell(f"r{i:0{width}d}", cell) for i, cell in enumerate(cells, start=1)],
        keys=keys,
    )


def matrix(sweep: SweepPlan) -> dict[str, Any]:
    """The value for `strategy.matrix` (through `fromJSON`): `{"include": [{id, set}...]}`."""
    return {"include": [{"id": c.id, "set": c.line} for c in sweep.cells]}


# --- writing parameters ---------------------------------------------------------------


def set_nested(data: MutableMapping[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested mappings, creating missing mappings, keeping key order."""
    parts = dotted.split(".")
    node: MutableMapping[str, Any] = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None and part not in node:
            child = {}
            node[part] = child
            child = node[part]  # a round-trip loader may wrap it
        if not isinstance(child, MutableMapping):
            where = ".".join(parts[: i + 1])
            raise SweepError(f"cannot set {dotted}: {where} is a value, not a mapping")
        node = child
    node[parts[-1]] = value


# --- ranking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedRun:
    """One run's place on the leaderboard."""

    id: str
    status: Literal["ok", "failed", "no_metric"]
    value: float | None
    rank: int | None
    best: bool


def rank(runs: Iterable[tuple[str, bool, Any]], direction: Direction) -> list[RankedRun]:
    """Order runs by the primary metric (best first), with competition ranks (1, 1, 3).

    Each run is (id, succeeded, primary value). Runs whose value is missing or not a
    finite number come after the ranked ones, then failed runs; each group by id.
    """
    scored: list[tuple[str, float]] = []
    unscored: list[RankedRun] = []
    failed: list[RankedRun] = []
    for run_id, ok, value in runs:
        if not ok:
            failed.append(RankedRun(run_id, "failed", None, None, False))
        elif is_number(value) and math.isfinite(value):
            scored.append((run_id, float(value)))
        else:
            unscored.append(RankedRun(run_id, "no_metric", None, None, False))
    sign = -1.0 if direction == "higher" else 1.0
    scored.sort(key=lambda item: (sign * item[1], item[0]))
    ranked: list[RankedRun] = []
    previous: float | None = None
    place = 0
    for position, (run_id, value) in enumerate(scored, start=1):
        if previous is None or value != previous:
            place = position
            previous = value
        ranked.append(RankedRun(run_id, "ok", value, place, place == 1))
    return ranked + sorted(unscored, key=lambda r: r.id) + sorted(failed, key=lambda r: r.id)


@dataclass(frozen=True)
class ParamEffect:
    """The primary metric per value of one swept parameter (over the successful runs)."""

    key: str
    labels: list[str] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)


def _value_order(values: list[Any]) -> list[Any]:
    if all(is_number(v) for v in values):
        return sorted(values)
    return values


def param_effects(
    runs: Iterable[tuple[Mapping[str, Any], float]],
    keys: Sequence[str],
    direction: Direction,
) -> list[ParamEffect]:
    """For each key swept over two or more values: best and mean metric per value."""
    pairs = list(runs)
    effects = []
    for key in keys:
        groups: dict[str, list[float]] = {}
        raw: dict[str, Any] = {}
        for params, value in pairs:
            if key not in params or not math.isfinite(value):
                continue
            label = format_value(params[key])
            groups.setdefault(label, []).append(value)
            raw.setdefault(label, params[key])
        if len(groups) < 2:
            continue
        ordered = [format_value(v) for v in _value_order(list(raw.values()))]
        pick = max if direction == "higher" else min
        effects.append(
            ParamEffect(
                key,
                ordered,
                [pick(groups[label]) for label in ordered],
                [sum(groups[label]) / len(groups[label]) for label in ordered],
            )
        )
    return effects
