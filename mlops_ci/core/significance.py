"""Noise-aware deltas: paired bootstrap intervals from per-example evaluation rows.

When the pipeline writes one row per evaluated example (the label, and the
prediction or score) at base and head, the change of a metric has a confidence
interval: resample the examples with replacement (the same examples for base and
head: a paired bootstrap), recompute ``metric(head) - metric(base)`` on each
resample, and take the percentiles ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
of those deltas. The resampling order, the seed's use and the percentile (linear
interpolation) are those of ``scipy.stats.bootstrap(..., paired=True,
method="percentile", rng=numpy.random.default_rng(seed))``, so both give the same
interval for the same seed and number of resamples.

The verdict: ``improved`` or ``regressed`` when the interval excludes 0 on that side
(which side is better is the metric's direction), else ``inconclusive``.

Pure. numpy is imported inside the functions that need it: this module's types are
read by the gates and the report document on paths that must not load numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mlops_ci.core.paired_metrics import Examples

Significance = Literal["improved", "regressed", "inconclusive"]

#: Weights held in memory at once (resamples x examples): 32 MiB of float64.
MAX_CELLS = 1 << 22

__all__ = [
    "DeltaInterval",
    "Significance",
    "bootstrap_deltas",
    "describe",
    "pair_examples",
    "verdict",
]


@dataclass(frozen=True, slots=True)
class DeltaInterval:
    """One metric recomputed from the examples at base and head, and its delta's interval."""

    metric: str
    base: float
    head: float
    low: float
    high: float
    confidence: float
    resamples: int
    higher_is_better: bool

    @property
    def delta(self) -> float:
        return self.head - self.base

    @property
    def verdict(self) -> Significance:
        return verdict(self.low, self.high, higher_is_better=self.higher_is_better)


def describe(interval: DeltaInterval, precision: int = 4) -> str:
    """`Δ +0.013 [-0.004, +0.031] inconclusive` (95% interval of head - base)."""
    from mlops_ci.core.metrics import format_delta

    delta = format_delta(interval.delta, precision)
    if math.isnan(interval.low):
        return f"Δ {delta}, interval undefined (the metric is undefined on some resamples)"
    low, high = (format_delta(v, precision) for v in (interval.low, interval.high))
    return f"Δ {delta} [{low}, {high}] {interval.verdict}"


def verdict(low: float, high: float, *, higher_is_better: bool) -> Significance:
    """`improved`/`regressed` when [low, high] excludes 0 on that side, else inconclusive."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if low > 0:
        return "improved" if higher_is_better else "regressed"
    if high < 0:
        return "regressed" if higher_is_better else "improved"
    return "inconclusive"


class NotPaired(ValueError):
    """Base and head rows cannot be paired (or scored): why, in one sentence."""


def _weights(indices: Any, n: int) -> Any:
    """How often each example was drawn, one row per resample."""
    import numpy as np

    rows = indices.shape[0]
    flat = (indices + np.arange(rows)[:, None] * n).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def bootstrap_deltas(
    examples: Examples, *, resamples: int, confidence: float, seed: int
) -> dict[str, DeltaInterval]:
    """Each metric's base, head and percentile interval of head - base."""
    import numpy as np

    from mlops_ci.core.paired_metrics import HIGHER_IS_BETTER

    n = examples.size
    if n < 2:
        raise NotPaired(f"{n} example(s): a bootstrap needs at least 2")
    statistic = examples.statistic()
    point = statistic(np.ones((1, n)))
    rng = np.random.default_rng(seed)
    per_batch = max(1, min(resamples, MAX_CELLS // n))
    deltas: dict[str, list[Any]] = {m: [] for m in examples.metrics}
    for start in range(0, resamples, per_batch):
        # One draw of (resamples, n) indices, as scipy makes it; split into batches
        # the generator's stream is the same.
        indices = rng.integers(0, n, (min(per_batch, resamples - start), n))
        for name, (base, head) in statistic(_weights(indices, n)).items():
            deltas[name].append(head - base)
    alpha = (1.0 - confidence) / 2.0
    result: dict[str, DeltaInterval] = {}
    for name, chunks in deltas.items():
        distribution = np.concatenate(chunks)
        if np.isnan(distribution).any():
            low = high = math.nan
        else:
            low, high = (float(v) for v in np.quantile(distribution, [alpha, 1.0 - alpha]))
        at_base, at_head = (float(v[0]) for v in point[name])
        result[name] = DeltaInterval(
            name, at_base, at_head, low, high, confidence, resamples, HIGHER_IS_BETTER[name]
        )
    return result


@dataclass(frozen=True)
class Columns:
    """Which columns of the evaluation file hold what."""

    label: str
    prediction: str | None = None
    score: str | None = None
    id: str | None = None


def _column(rows: Sequence[Mapping[str, Any]], name: str, side: str) -> list[Any]:
    if rows and name not in rows[0]:
        raise NotPaired(f"no column {name!r} at the {side}")
    return [row.get(name) for row in rows]


def _align(
    base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]], key: str | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Base and head rows in one order: joined on the id column, else by position."""
    if key is None:
        if len(base) != len(head):
            raise NotPaired(
                f"{len(base)} rows at the base, {len(head)} at the head, and no id column "
                "to join them on"
            )
        return list(base), list(head)
    sides = []
    for rows, side in ((base, "base"), (head, "head")):
        ids = _column(rows, key, side)
        by_id = dict(zip(ids, rows, strict=True))
        if len(by_id) != len(rows):
            raise NotPaired(f"the id column {key!r} repeats a value at the {side}")
        sides.append(by_id)
    if sides[0].keys() != sides[1].keys():
        only_base = len(sides[0].keys() - sides[1].keys())
        only_head = len(sides[1].keys() - sides[0].keys())
        raise NotPaired(
            f"base and head scored different examples ({only_base} only at the base, "
            f"{only_head} only at the head)"
        )
    return [sides[0][i] for i in sides[1]], list(sides[1].values())


def pair_examples(
    base: Sequence[Mapping[str, Any]],
    head: Sequence[Mapping[str, Any]],
    columns: Columns,
    *,
    task: str = "auto",
    metrics: Sequence[str] = (),
) -> Examples:
    """The examples of both sides, paired, and the metrics their columns allow."""
    from mlops_ci.core.paired_metrics import build_examples

    base_rows, head_rows = _align(base, head, columns.id)
    return build_examples(base_rows, head_rows, columns, task=task, metrics=metrics)
