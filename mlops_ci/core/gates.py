"""Quality gates: evaluate each configured gate against the metrics diff.

Every gate gives one `GateResult` per metric it matches, with a verdict
(`pass`, `fail`, `skip`) and the reason in words, e.g. "accuracy fell 0.021,
allowed 0.01". Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mlops_ci.core.metrics import DiffResult, MetricDelta, format_value, is_number
from mlops_ci.core.significance import DeltaInterval, describe

Verdict = Literal["pass", "fail", "skip"]

# Tolerance for float noise, relative to the size of the numbers compared and never below
# 1e-12: metrics read from decimal text differ from their decimal values by an ulp or two,
# which is 1e-12 absolute for values near 1 but already 3e-12 for values near 1e5.
_EPS = 1e-12

__all__ = ["GateLike", "GateResult", "GateSummary", "evaluate"]


class GateLike(Protocol):
    """The fields of `mlops_ci.config.Gate` that evaluation reads."""

    direction: Literal["higher", "lower"]
    min: float | None
    max: float | None
    max_drop: float | None
    max_drop_pct: float | None
    required: bool


@dataclass(frozen=True, slots=True)
class GateResult:
    """The verdict of one gate on one metric, and why."""

    gate: str
    metric: str
    file: str | None
    verdict: Verdict
    reason: str
    base: Any = None
    head: Any = None

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"


@dataclass
class GateSummary:
    """All gate results and the overall verdict."""

    results: list[GateResult] = field(default_factory=list)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if r.verdict == "fail"]

    @property
    def passed(self) -> list[GateResult]:
        return [r for r in self.results if r.verdict == "pass"]

    @property
    def skipped(self) -> list[GateResult]:
        return [r for r in self.results if r.verdict == "skip"]

    @property
    def verdict(self) -> Literal["pass", "fail", "none"]:
        """`fail` if any gate failed, `pass` if any passed, `none` without gates."""
        if self.failed:
            return "fail"
        return "pass" if self.results else "none"

    def for_row(self, row: MetricDelta) -> list[GateResult]:
        return [r for r in self.results if r.metric == row.key and r.file == row.file]


def _fmt(value: Any, precision: int) -> str:
    return format_value(value, precision)


def _regression(gate: GateLike, base: float, head: float) -> float:
    """How much worse head is than base (positive = worse)."""
    return base - head if gate.direction == "higher" else head - base


def _single(value: Any) -> Any:
    """A one-element list (a metric logged as `[0.93]`) stands for its element."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _absent(
    name: str, gate: GateLike, row: MetricDelta | None, key: str, *, base: Any, precision: int
) -> GateResult:
    """The metric is not in the head: a failure when required, else skipped."""
    file = row.file if row is not None else None
    if gate.required:
        reason = (
            f"{key} is missing from the head (it was {_fmt(base, precision)} at the base)"
            if row is not None
            else f"{key} is missing from the head metrics"
        )
        return GateResult(name, key, file, "fail", reason, base, None)
    return GateResult(name, key, file, "skip", f"{key} is not reported (not required)", base)


def _unusable_head(key: str, head: Any, precision: int) -> str | None:
    """Why the head value is no measurement a gate can pass, or None."""
    if not is_number(head):
        return f"{key} is {_fmt(head, precision)}, not a number"
    if math.isnan(head):
        return f"{key} is NaN"
    if math.isinf(head):
        # An overflowed metric (1e999 in JSON) is no measurement: it must not pass a minimum.
        return f"{key} is {_fmt(head, precision)}, not a finite number"
    return None


def _slack(*values: float) -> float:
    """The float noise forgiven when comparing numbers of these sizes."""
    return _EPS * max(1.0, *(abs(value) for value in values))


def _bound_failures(gate: GateLike, key: str, head: float, precision: int) -> list[str]:
    failures = []
    if gate.min is not None and not head >= gate.min - _slack(gate.min):
        failures.append(
            f"{key} is {_fmt(head, precision)}, below the minimum {_fmt(gate.min, precision)}"
        )
    if gate.max is not None and not head <= gate.max + _slack(gate.max):
        failures.append(
            f"{key} is {_fmt(head, precision)}, above the maximum {_fmt(gate.max, precision)}"
        )
    return failures


def _regression_failures(
    gate: GateLike, key: str, base: float, head: float, precision: int
) -> list[str]:
    """`max_drop` and `max_drop_pct` against a usable baseline."""
    failures = []
    worse = "fell" if gate.direction == "higher" else "rose"
    regression = _regression(gate, base, head)
    if gate.max_drop is not None and regression > gate.max_drop + _slack(base, head, gate.max_drop):
        failures.append(
            f"{key} {worse} {_fmt(regression, precision)}, allowed {_fmt(gate.max_drop, precision)}"
        )
    if gate.max_drop_pct is not None and regression > 0:
        pct = math.inf if base == 0 else regression / abs(base) * 100.0
        if pct > gate.max_drop_pct + _slack(gate.max_drop_pct):
            failures.append(f"{key} {worse} {_fmt(pct, 3)}%, allowed {_fmt(gate.max_drop_pct, 3)}%")
    return failures


def _passed_checks(
    gate: GateLike,
    base: Any,
    head: float,
    *,
    checked_base: bool,
    precision: int,
    allowance: str = "within the allowance",
) -> list[str]:
    """What a passing value was checked against, in words."""
    checks = []
    if gate.min is not None:
        checks.append(f"≥ {_fmt(gate.min, precision)}")
    if gate.max is not None:
        checks.append(f"≤ {_fmt(gate.max, precision)}")
    if checked_base:
        regression = _regression(gate, float(base), head)
        if regression > 0:
            worse = "fell" if gate.direction == "higher" else "rose"
            checks.append(f"{worse} {_fmt(regression, precision)}, {allowance}")
        else:
            better = "rose" if gate.direction == "higher" else "fell"
            checks.append(
                "unchanged" if regression == 0 else f"{better} {_fmt(-regression, precision)}"
            )
    return checks


def _evaluate_one(
    name: str,
    gate: GateLike,
    row: MetricDelta | None,
    key: str,
    precision: int,
    *,
    interval: DeltaInterval | None = None,
) -> GateResult:
    base: Any = row.base if row is not None and row.status not in ("added", "no_base") else None
    if row is None or row.status == "removed":
        return _absent(name, gate, row, key, base=base, precision=precision)
    file = row.file
    head, base = _single(row.head), _single(base)
    unusable = _unusable_head(key, head, precision)
    if unusable is not None:
        return GateResult(name, key, file, "fail", unusable, base, head)
    failures = _bound_failures(gate, key, head, precision)
    notes: list[str] = []
    wants_base = gate.max_drop is not None or gate.max_drop_pct is not None
    wants_base = wants_base or getattr(gate, "min_gain", None) is not None
    noise: list[str] = []
    if wants_base:
        if not is_number(base) or not math.isfinite(base):
            why = "no baseline" if base is None else f"baseline is {_fmt(base, precision)}"
            notes.append(f"{why}, regression not checked")
        else:
            drops = _regression_failures(gate, key, float(base), float(head), precision)
            judged, noise = _with_noise(
                gate, key, (float(base), float(head)), drops, interval, precision=precision
            )
            failures += judged
    if failures:
        return GateResult(name, key, file, "fail", "; ".join(failures), base, head)
    checks = _passed_checks(
        gate,
        base,
        float(head),
        checked_base=wants_base and not notes,
        precision=precision,
        allowance="beyond the allowance but inside noise" if noise else "within the allowance",
    )
    if not checks and notes:
        return GateResult(name, key, file, "skip", f"{key}: {'; '.join(notes)}", base, head)
    reason = f"{key} is {_fmt(head, precision)}"
    if checks:
        reason += " (" + ", ".join(checks) + ")"
    if notes or noise:
        reason += "; " + "; ".join(notes + noise)
    return GateResult(name, key, file, "pass", reason, base, head)


def evaluate(
    metrics: DiffResult,
    gates: Mapping[str, GateLike],
    precision: int = 4,
    intervals: Mapping[tuple[str, str], DeltaInterval] | None = None,
) -> GateSummary:
    """Evaluate every gate against the metrics diff (one result per matching metric).

    `intervals` holds the bootstrap interval of a row's delta by (file, key), where
    per-example rows gave one: `significance: required` gates read them.
    """
    found = intervals or {}
    summary = GateSummary()
    for name, gate in gates.items():
        rows = metrics.find(name)
        if not rows:
            summary.results.append(_missing(name, gate, metrics))
            continue
        for row in rows:
            interval = found.get((row.file, row.key))
            summary.results.append(
                _evaluate_one(name, gate, row, row.key, precision, interval=interval)
            )
    return summary


def _missing(name: str, gate: GateLike, metrics: DiffResult) -> GateResult:
    """A gate whose metric is in no head file (perhaps in one that could not be read)."""
    file: str | None = None
    key = name
    if ":" in name:
        file, _, key = name.rpartition(":")
    unreadable = _unreadable(file, metrics.errors)
    if unreadable:
        why = f"{key} is unknown: {unreadable} could not be read at the head"
        if gate.required:
            return GateResult(name, key, file, "fail", why)
        return GateResult(name, key, file, "skip", f"{why} (not required)")
    if gate.required:
        return GateResult(name, key, file, "fail", f"{key} is missing from the head metrics")
    return GateResult(name, key, file, "skip", f"{key} is not reported (not required)")


def _unreadable(file: str | None, errors: Mapping[str, str]) -> str:
    """The unreadable head files the gate's metric may be in: its own, or any."""
    names = [file] if file is not None and file in errors else [] if file else list(errors)
    return ", ".join(names)


def _noise_side(gate: GateLike, interval: DeltaInterval | None) -> str | None:
    """`worse` or `better` when the interval of head - base excludes 0 on that side;
    `noise` when it does not; None when the noise is unknown."""
    if interval is None or math.isnan(interval.low):
        return None
    low, high = interval.low, interval.high
    if gate.direction == "lower":
        low, high = -high, -low
    return "better" if low > 0 else "worse" if high < 0 else "noise"


def _with_noise(
    gate: GateLike,
    key: str,
    values: tuple[float, float],
    drops: list[str],
    interval: DeltaInterval | None,
    *,
    precision: int,
) -> tuple[list[str], list[str]]:
    """(failures, notes) of `max_drop*` and `min_gain` under `significance: required`.

    With it, a regression beyond the allowance fails only when its interval shows it
    is real, and `min_gain` needs the gain and an interval that shows it; unknown noise
    (no per-example rows) excuses no regression and proves no gain.
    """
    required = getattr(gate, "significance", "off") == "required"
    side = _noise_side(gate, interval)
    shown = describe(interval, precision) if interval is not None else None
    unknown = shown or "noise unknown: no per-example evaluation rows"
    failures: list[str] = []
    notes: list[str] = [shown] if shown and not (drops and required) else []
    if drops and required and side in ("noise", "better"):
        notes.append(f"{'; '.join(drops)}, but inside noise ({shown})")
    elif drops:
        failures += [f"{d} ({unknown})" if required else d for d in drops]
    min_gain = getattr(gate, "min_gain", None)
    if min_gain is None:
        return failures, notes
    gain = -_regression(gate, *values)
    better = "rose" if gate.direction == "higher" else "fell"
    if gain < min_gain - _slack(*values, min_gain):
        moved = f"{better} {_fmt(gain, precision)}" if gain > 0 else "did not improve"
        failures.append(f"{key} {moved}, needs a gain of {_fmt(min_gain, precision)}")
    elif required and side != "better":
        why = "inside noise" if side is not None else "not shown significant"
        failures.append(f"{key} {better} {_fmt(gain, precision)}, {why} ({unknown})")
    return failures, notes
