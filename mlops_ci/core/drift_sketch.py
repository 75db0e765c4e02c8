"""Drift from mergeable summaries, for data larger than memory.

When the two tables do not fit in memory the monitor reads them batch by batch and
keeps, per column, a summary that later batches (and other files) merge into:

* a numeric column: a KLL quantile sketch (Apache DataSketches, ``k`` = `KLL_K`), the
  exact count, missing count, mean, variance, minimum and maximum, and — while it has
  at most `FEW_TRACK` distinct values — the exact count of each value;
* a text column: the exact count of each category (counts add up across batches).

Categorical features, and numeric features with few distinct values (the few-unique
rule of `core.drift`), are therefore tested exactly, as on the whole tables. Numeric
features are tested on the sketches' CDFs: both are evaluated on one grid (`GRID`
quantiles of each sketch), and KS, Wasserstein and the decile bins of PSI,
chi-squared and Jensen–Shannon are read from them.

Error bound
    KLL's normalised rank error ε (the library's `normalized_rank_error`, at 99%
    confidence) bounds |F_sketch(x) − F(x)| for a CDF query. The KS distance of the
    sketches is then within ±(ε_ref + ε_cur + 2/GRID) of the exact one (the last term
    for reading the CDFs on a grid), and the normalised Wasserstein distance within
    that bound × (max − min) / σ_ref — loose for long-tailed data, tight for the rest.
    Both bounds are reported per feature (`FeatureDrift.error_bound`). PSI, chi-squared
    and Jensen–Shannon on numeric columns are approximate without a stated bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlops_ci.core.drift import (
    DEFAULT_THRESHOLDS,
    FEW_UNIQUE,
    NUMERIC_ONLY_TESTS,
    DriftReport,
    FeatureDrift,
    FeatureRule,
    Status,
    TestName,
    default_test,
    is_drift,
    order_key,
)
from mlops_ci.core.drift_columns import CategoricalCounts, Kind
from mlops_ci.core.drift_stats import (
    PSI_BINS,
    FloatArray,
    chisquare_from_counts,
    jensenshannon_from_counts,
    ks_pvalue,
    psi_from_counts,
)

#: KLL's accuracy parameter: rank error about 0.07% (99% confidence), ~100 KiB a sketch.
KLL_K = 4096
#: Quantiles read from each sketch to evaluate both CDFs on.
GRID = 4096
#: Distinct values counted exactly per numeric column (enough for the few-unique rule).
FEW_TRACK = 64


@dataclass
class NumericSketch:
    """A numeric column summarised: a KLL sketch and exact moments and counts."""

    k: int = KLL_K
    n: int = 0
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    values: dict[float, int] | None = field(default_factory=dict)
    sketch: Any = None

    def update(self, batch: npt.NDArray[Any]) -> None:
        """Add a batch of values (float64, NaN = missing)."""
        values = np.asarray(batch, dtype=np.float64)
        nan = np.isnan(values)
        present = values[~nan] if nan.any() else values
        self.missing += values.shape[0] - present.shape[0]
        if not present.shape[0]:
            return
        if self.sketch is None:
            from datasketches import kll_doubles_sketch

            self.sketch = kll_doubles_sketch(self.k)
        self.sketch.update(present)
        # Chan et al.'s pairwise update of the mean and the sum of squared deviations.
        size, mean = present.shape[0], float(np.mean(present))
        m2 = float(np.var(present)) * size
        total = self.n + size
        delta = mean - self.mean
        self.mean += delta * size / total
        self.m2 += m2 + delta * delta * self.n * size / total
        self.n = total
        self.lo = min(self.lo, float(present.min()))
        self.hi = max(self.hi, float(present.max()))
        self._count_values(present)

    def _count_values(self, present: FloatArray) -> None:
        if self.values is None:
            return
        distinct, counts = np.unique(present, return_counts=True)
        if distinct.shape[0] > FEW_TRACK:
            self.values = None
            return
        for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
            self.values[value] = self.values.get(value, 0) + count
        if len(self.values) > FEW_TRACK:
            self.values = None

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else 0.0

    @property
    def rank_error(self) -> float:
        """ε: 0 while the sketch still holds every value, else the library's bound."""
        if self.sketch is None or not self.sketch.is_estimation_mode():
            return 0.0
        return float(self.sketch.normalized_rank_error(False))

    def quantiles(self, ranks: FloatArray) -> FloatArray:
        return np.asarray(self.sketch.get_quantiles(ranks.tolist()), dtype=np.float64)

    def cdf(self, points: FloatArray, *, inclusive: bool = True) -> FloatArray:
        """F(x) = share of values ≤ x (`inclusive`) or < x, at each point."""
        shares = self.sketch.get_cdf(points.tolist(), inclusive)
        return np.asarray(shares[:-1], dtype=np.float64)


@dataclass
class CategorySketch:
    """A text column summarised: the exact count of each category, and the missing."""

    counts: dict[str, int] = field(default_factory=dict)
    missing: int = 0

    def update(self, labels: Sequence[str], counts: Sequence[int], missing: int) -> None:
        for label, count in zip(labels, counts, strict=True):
            self.counts[label] = self.counts.get(label, 0) + int(count)
        self.missing += missing

    @property
    def n(self) -> int:
        return sum(self.counts.values())


Summary = NumericSketch | CategorySketch


def _aligned_counts(ref: Mapping[Any, int], cur: Mapping[Any, int]) -> CategoricalCounts:
    keys = list(ref)
    ref_counts = np.array([ref[k] for k in keys], dtype=np.int64)
    cur_counts = np.array([cur.get(k, 0) for k in keys], dtype=np.int64)
    unseen = np.array([c for k, c in cur.items() if k not in ref], dtype=np.int64)
    return CategoricalCounts(ref_counts, cur_counts, unseen)


@dataclass
class SketchPair:
    """Both numeric sketches read on one grid: the drift tests and their error bound."""

    ref: NumericSketch
    cur: NumericSketch
    grid: int = GRID

    def __post_init__(self) -> None:
        ranks = np.linspace(0.0, 1.0, self.grid + 1)
        both = np.concatenate([self.ref.quantiles(ranks), self.cur.quantiles(ranks)])
        self.points = np.unique(both)
        self.diff = np.abs(self.ref.cdf(self.points) - self.cur.cdf(self.points))

    @property
    def cdf_error(self) -> float:
        """Bound on |F_sketch − F| summed over both sides, grid included."""
        return self.ref.rank_error + self.cur.rank_error + 2.0 / self.grid

    def ks(self) -> tuple[float, float]:
        return float(np.max(self.diff)), self.cdf_error

    def wasserstein(self) -> tuple[float, float]:
        raw = float(np.dot(self.diff[:-1], np.diff(self.points)))
        span = max(self.ref.hi, self.cur.hi) - min(self.ref.lo, self.cur.lo)
        return raw, self.cdf_error * span

    def bins(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Counts per decile bin of the reference, [edge[i-1], edge[i]), from the CDFs."""
        edges = np.unique(self.ref.quantiles(np.arange(1, PSI_BINS) / PSI_BINS))

        def counts(side: NumericSketch) -> npt.NDArray[np.int64]:
            below = np.concatenate([[0.0], side.cdf(edges, inclusive=False), [1.0]])
            shares: FloatArray = np.diff(below)
            return np.asarray(np.rint(shares * side.n), dtype=np.int64)

        return counts(self.ref), counts(self.cur)

    def run(self, test: TestName) -> tuple[float, float | None, float | None]:
        """(score, statistic, ± bound on what the verdict reads, if stated)."""
        if test == "ks":
            d, bound = self.ks()
            return ks_pvalue(d, self.ref.n, self.cur.n), d, bound
        if test == "wasserstein":
            raw, bound = self.wasserstein()
            std = self.ref.std
            if std > 0:
                return raw / std, raw, bound / std
            return (0.0 if raw == 0 else math.inf), raw, None
        r, c = self.bins()
        if test == "psi":
            return psi_from_counts(r, c), None, None
        if test == "chisquare":
            stat, p = chisquare_from_counts(r, c)
            return p, stat, None
        return jensenshannon_from_counts(r, c), None, None


def _missing(summary: Summary) -> float:
    total = summary.n + summary.missing
    return summary.missing / total if total else 0.0


def _exact_counts(ref: Summary, cur: Summary, rule: FeatureRule) -> CategoricalCounts | None:
    """Counts to test exactly: a text column, or a numeric one with few distinct values."""
    if isinstance(ref, CategorySketch) or isinstance(cur, CategorySketch):
        return _aligned_counts(_counts_of(ref), _counts_of(cur))
    few = ref.values is not None and 0 < len(ref.values) <= FEW_UNIQUE
    if few and cur.values is not None and rule.test not in NUMERIC_ONLY_TESTS:
        return _aligned_counts(dict(sorted((ref.values or {}).items())), cur.values)
    return None


def _counts_of(summary: Summary) -> dict[Any, int]:
    return summary.counts if isinstance(summary, CategorySketch) else dict(summary.values or {})


def sketch_feature_drift(
    name: str, ref: Summary | None, cur: Summary | None, rule: FeatureRule | None = None
) -> FeatureDrift:
    """One feature from its two summaries; as `core.drift.feature_drift` decides."""
    if ref is None:
        return FeatureDrift(name, "missing_in_reference", detail="column absent from the reference")
    if cur is None:
        return FeatureDrift(
            name, "missing_in_current", detail="column absent from the current data"
        )
    base: dict[str, Any] = {"missing_reference": _missing(ref), "missing_current": _missing(cur)}
    if type(ref) is not type(cur):
        kinds = ["numeric" if isinstance(s, NumericSketch) else "categorical" for s in (ref, cur)]
        detail = f"{kinds[0]} in the reference, {kinds[1]} in the current data"
        return FeatureDrift(name, "type_mismatch", detail=detail, **base)
    rule = rule or FeatureRule()
    counts = _exact_counts(ref, cur, rule)
    kind: Kind = "categorical" if counts is not None else "numeric"
    n_ref, n_cur = ref.n, cur.n
    unseen = int(counts.unseen_counts.sum()) if counts is not None else 0
    base |= {"n_reference": n_ref, "n_current": n_cur, "kind": kind}
    base["unseen_current"] = unseen / n_cur if n_cur else 0.0
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current data"
        return FeatureDrift(name, "all_missing", detail=f"no values in the {side}", **base)
    test = rule.test or default_test(kind, n_ref)
    if test in NUMERIC_ONLY_TESTS and not isinstance(ref, NumericSketch):
        detail = f"{test} needs a numeric column"
        return FeatureDrift(name, "unsupported_test", test=test, detail=detail, **base)
    threshold = DEFAULT_THRESHOLDS[test] if rule.threshold is None else rule.threshold
    bound: float | None = None
    if isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch) and counts is None:
        score, statistic, bound = SketchPair(ref, cur).run(test)
        single = ref.lo == ref.hi == cur.lo == cur.hi
    else:
        counts = counts or _aligned_counts(_counts_of(ref), _counts_of(cur))
        score, statistic = counts.run(test)
        single = counts.single_value()
    status: Status = "constant" if single else "ok"
    return FeatureDrift(
        name,
        status,
        test=test,
        score=score,
        threshold=threshold,
        drifted=is_drift(test, score, threshold),
        statistic=statistic,
        approximate=counts is None,
        error_bound=bound,
        **base,
    )


def detect_drift_sketched(
    reference: Mapping[str, Summary],
    current: Mapping[str, Summary],
    *,
    features: Sequence[str],
    tests: Mapping[str, FeatureRule] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Every feature from the two sides' summaries (see the module's error bound)."""
    if not 0 < drift_share <= 1:
        raise ValueError("drift_share must be in (0, 1]")
    tests = tests or {}
    results = [
        sketch_feature_drift(n, reference.get(n), current.get(n), tests.get(n)) for n in features
    ]
    approximate = [f for f in results if f.approximate]
    errors = [s.rank_error for side in (reference, current) for s in side.values()
              if isinstance(s, NumericSketch)]  # fmt: skip
    method = (
        f"streamed, numeric features from KLL sketches (k={KLL_K}, rank error up to "
        f"±{max(errors, default=0.0):.2g} per side at 99% confidence), categorical and "
        "few-valued ones counted exactly"
        if approximate
        else "streamed, every feature counted exactly"
    )
    return DriftReport(tuple(sorted(results, key=order_key)), drift_share, method=method)
