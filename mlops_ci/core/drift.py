"""Per-feature drift statistics and the dataset verdict, as plain vectorised numpy.

Everything here is pure: columns in, a `DriftReport` out. Nothing reads files,
prints or touches the environment, so the statistics are tested directly against
`scipy.stats` on random data.

Columns
    A numeric column is a float64 array with NaN for missing values. A categorical
    column is an integer array of codes into its own ``categories`` (``-1`` =
    missing); the reference and current columns may have different category lists,
    they are aligned here by label.

Tests (``score`` is what is compared with ``threshold``)
    ``ks``            two-sample Kolmogorov–Smirnov; score = p-value, drift when p < threshold
    ``wasserstein``   Wasserstein-1 distance divided by the reference's standard deviation;
                      drift when > threshold
    ``psi``           population stability index over bins cut at the reference's deciles;
                      drift when > threshold
    ``chisquare``     Pearson chi-squared of current counts against the reference's
                      proportions; score = p-value, drift when p < threshold
    ``jensenshannon`` Jensen–Shannon distance (natural log, so in [0, sqrt(ln 2)]) between
                      the two frequency vectors; drift when > threshold

    ``psi``, ``chisquare`` and ``jensenshannon`` also run on numeric columns, over the
    same decile bins as PSI; ``ks`` and ``wasserstein`` need numbers.

Default test per feature (the rule Evidently documents for its data drift preset)
    * a numeric column whose reference has at most ``FEW_UNIQUE`` (5) distinct values is
      treated as categorical (its values are the categories);
    * numeric, reference with ≤ ``SMALL_SAMPLE`` (1000) non-missing rows → ``ks`` at 0.05;
    * numeric, larger → ``wasserstein`` at 0.1 (a KS test at p < 0.05 on 100k+ rows flags
      columns that did not move: with that much data every tiny difference is
      "significant", so large samples are judged by a distance instead);
    * categorical, small → ``chisquare`` at 0.05; larger → ``jensenshannon`` at 0.1.

Empty bins and unseen categories
    PSI takes ``ln(cur / ref)`` per bin, which is undefined for an empty bin, so a
    proportion of 0 is replaced by ``EPSILON`` (1e-4) on either side before the sum.
    In chi-squared, categories the reference never saw have an expected count of 0
    (an infinite statistic), so they are pooled into one "unseen" cell whose expected
    proportion is ``EPSILON`` (the other expected proportions are scaled by 1 - EPSILON).
    Jensen–Shannon is defined with zeros and runs over the union of categories. The
    share of current rows in unseen categories is reported per feature.

Statuses (a problem is reported, never raised)
    ``ok``, ``constant`` (a single value on both sides; tested, no drift unless the
    value moved), ``all_missing`` (no values on one side: not tested),
    ``missing_in_reference`` / ``missing_in_current`` (column on one side only: not
    tested), ``type_mismatch`` (numeric on one side, text on the other: not tested),
    ``unsupported_test`` (e.g. ``ks`` configured for a text column: not tested).

The dataset drifts when the share of drifted features among the tested ones is at
least ``drift_share``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

TestName = Literal["psi", "ks", "wasserstein", "chisquare", "jensenshannon"]
Kind = Literal["numeric", "categorical"]
Status = Literal[
    "ok",
    "constant",
    "all_missing",
    "missing_in_reference",
    "missing_in_current",
    "type_mismatch",
    "unsupported_test",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TESTS: tuple[TestName, ...] = ("psi", "ks", "wasserstein", "chisquare", "jensenshannon")
#: Tests whose score is a p-value: drift when the score is *below* the threshold.
P_VALUE_TESTS: frozenset[str] = frozenset({"ks", "chisquare"})
NUMERIC_ONLY_TESTS: frozenset[str] = frozenset({"ks", "wasserstein"})
DEFAULT_THRESHOLDS: dict[TestName, float] = {
    "psi": 0.1,
    "ks": 0.05,
    "wasserstein": 0.1,
    "chisquare": 0.05,
    "jensenshannon": 0.1,
}
EPSILON = 1e-4
SMALL_SAMPLE = 1000
FEW_UNIQUE = 5
PSI_BINS = 10
#: scipy's `ks_2samp(method="auto")` is exact up to this many rows per side.
KS_EXACT_MAX_N = 10_000


# --- columns -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a table: numbers (float64, NaN = missing) or category codes."""

    kind: Kind
    values: npt.NDArray[Any]
    categories: tuple[str, ...] = ()

    @classmethod
    def numeric(cls, values: npt.ArrayLike) -> Column:
        return cls("numeric", np.asarray(values, dtype=np.float64))

    @classmethod
    def categorical(cls, labels: Sequence[str | None] | npt.NDArray[Any]) -> Column:
        """From labels (None = missing); for tests and small inputs."""
        arr = np.asarray(labels, dtype=object)
        present = np.array([v is not None for v in arr], dtype=bool)
        cats, codes = np.unique(arr[present].astype(str), return_inverse=True)
        out = np.full(arr.shape[0], -1, dtype=np.int64)
        out[present] = codes
        return cls("categorical", out, tuple(str(c) for c in cats))

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class FeatureRule:
    """A per-feature override: which test, and its threshold (None = defaults)."""

    test: TestName | None = None
    threshold: float | None = None


# --- statistics on plain arrays (each equals its scipy counterpart) -----------------


def _sorted_finite(values: FloatArray) -> FloatArray:
    """Sorted copy without NaN (np.sort puts NaN last, so one sort and one cut)."""
    ordered = np.sort(values)
    return ordered[: ordered.shape[0] - int(np.count_nonzero(np.isnan(values)))]


@dataclass
class _EcdfPair:
    """Both empirical CDFs evaluated at every distinct value of the pooled sample.

    KS and Wasserstein both read these. The pooled sample is merged from the two
    sorted samples with one searchsorted; at the last occurrence (index j) of each
    distinct value exactly j + 1 pooled values are ≤ merged[j], and a running count
    of the current values among them gives both CDFs.
    """

    ref: FloatArray
    cur: FloatArray

    @cached_property
    def _grid(self) -> tuple[FloatArray, FloatArray]:
        """(distinct pooled values, |F_ref − F_cur| at each of them)."""
        n_ref, n_cur = self.ref.shape[0], self.cur.shape[0]
        # Merge the two sorted samples: current value k lands after the k current
        # values before it and after every reference value ≤ it.
        slot = np.searchsorted(self.ref, self.cur, side="right")
        slot += np.arange(n_cur, dtype=slot.dtype)
        from_cur = np.zeros(n_ref + n_cur, dtype=bool)
        from_cur[slot] = True
        merged = np.empty(n_ref + n_cur, dtype=np.float64)
        merged[slot] = self.cur
        merged[~from_cur] = self.ref
        cur_le = np.cumsum(from_cur, dtype=np.int64)
        del slot, from_cur
        distinct = merged[1:] != merged[:-1]
        # F_ref − F_cur = ref_le / n_ref − cur_le / n_cur, with ref_le = pooled_le − cur_le.
        if distinct.all():  # no ties, the usual case for real-valued data
            points = merged
            diff = np.arange(1, merged.shape[0] + 1, dtype=np.float64)
            diff *= 1.0 / n_ref
        else:
            # Evaluate at the last occurrence of each distinct value.
            last = np.append(np.flatnonzero(distinct), merged.shape[0] - 1)
            points, cur_le = merged[last], cur_le[last]
            diff = (last + 1) / n_ref
        del distinct
        diff -= cur_le * (1.0 / n_ref + 1.0 / n_cur)
        np.abs(diff, out=diff)
        return points, diff

    def ks_statistic(self) -> float:
        return float(np.max(self._grid[1]))

    @cached_property
    def _wasserstein(self) -> float:
        points, diff = self._grid
        # Between consecutive distinct values both CDFs are flat: area = |ΔF| × gap.
        return float(np.dot(diff[:-1], np.diff(points)))

    def wasserstein(self) -> float:
        return self._wasserstein


def ks_pvalue(statistic: float, n_ref: int, n_cur: int) -> float:
    """Two-sided p-value of the two-sample KS statistic, the way scipy's `ks_2samp` gets it.

    Large samples use Smirnov's asymptotic distribution, `scipy.stats.kstwo.sf(D,
    round(n m / (n + m)))`; up to `KS_EXACT_MAX_N` rows per side scipy computes the
    exact distribution, which it does not expose publicly, so that case asks
    `ks_2samp` itself (through `_ks_exact`) — at that size the cost is negligible.
    """
    from scipy import stats

    m, n = sorted((float(n_ref), float(n_cur)), reverse=True)
    en = m * n / (m + n)
    return float(np.clip(stats.kstwo.sf(statistic, np.round(en)), 0.0, 1.0))


def _ks_exact(ref: FloatArray, cur: FloatArray) -> float:
    import warnings

    from scipy import stats

    with warnings.catch_warnings():
        # scipy warns when its exact computation falls back to the asymptotic one.
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ks_2samp(ref, cur, method="auto").pvalue)


def ks_2samp(ref: npt.ArrayLike, cur: npt.ArrayLike) -> tuple[float, float]:
    """(statistic, p-value) of the two-sided two-sample KS test; NaN dropped."""
    a = _sorted_finite(np.asarray(ref, dtype=np.float64))
    b = _sorted_finite(np.asarray(cur, dtype=np.float64))
    if not a.size or not b.size:
        raise ValueError("ks_2samp needs values on both sides")
    return _ks(_EcdfPair(a, b))


def _ks(pair: _EcdfPair) -> tuple[float, float]:
    d = pair.ks_statistic()
    n1, n2 = pair.ref.shape[0], pair.cur.shape[0]
    if max(n1, n2) <= KS_EXACT_MAX_N:
        return d, _ks_exact(pair.ref, pair.cur)
    return d, ks_pvalue(d, n1, n2)


def wasserstein_distance(ref: npt.ArrayLike, cur: npt.ArrayLike) -> float:
    """Wasserstein-1 distance between two samples (as `scipy.stats.wasserstein_distance`)."""
    a = _sorted_finite(np.asarray(ref, dtype=np.float64))
    b = _sorted_finite(np.asarray(cur, dtype=np.float64))
    if not a.size or not b.size:
        raise ValueError("wasserstein_distance needs values on both sides")
    return _EcdfPair(a, b).wasserstein()


def _normalised_wasserstein(pair: _EcdfPair) -> float:
    raw = pair.wasserstein()
    std = float(np.std(pair.ref))
    if std > 0:
        return raw / std
    # A constant reference has no scale: any movement at all is infinite drift.
    return 0.0 if raw == 0 else math.inf


def quantile_edges(ref_sorted: FloatArray, bins: int = PSI_BINS) -> FloatArray:
    """Inner bin edges at the reference's quantiles 1/bins … (bins-1)/bins, deduplicated.

    Quantiles use linear interpolation (numpy's default method), read directly from
    the sorted array. Bin i is [edge[i-1], edge[i]); the first bin is open to -inf and
    the last to +inf, so every current value lands somewhere.
    """
    n = ref_sorted.shape[0]
    pos = (np.arange(1, bins, dtype=np.float64) / bins) * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    t = pos - lo
    below, above = ref_sorted[lo], ref_sorted[hi]
    # numpy's interpolation, including its switch to the upper neighbour past t = 0.5,
    # so that edges equal `np.quantile` to the last bit.
    edges = np.where(t >= 0.5, above - (above - below) * (1 - t), below + (above - below) * t)
    return np.unique(edges)


def binned_counts(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts per bin [edge[i-1], edge[i]) of an already sorted sample."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate([[0], cuts, [sorted_values.shape[0]]])
    return np.diff(bounds).astype(np.int64)


def psi_from_counts(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """PSI = Σ (cur% − ref%) · ln(cur% / ref%), an empty bin's share replaced by EPSILON."""
    r = np.asarray(ref_counts, dtype=np.float64)
    c = np.asarray(cur_counts, dtype=np.float64)
    r = r / r.sum()
    c = c / c.sum()
    r = np.where(r == 0, EPSILON, r)
    c = np.where(c == 0, EPSILON, c)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(ref: npt.ArrayLike, cur: npt.ArrayLike, bins: int = PSI_BINS) -> float:
    """PSI of two numeric samples over bins cut at the reference's quantiles; NaN dropped."""
    a = _sorted_finite(np.asarray(ref, dtype=np.float64))
    b = _sorted_finite(np.asarray(cur, dtype=np.float64))
    if not a.size or not b.size:
        raise ValueError("psi needs values on both sides")
    edges = quantile_edges(a, bins)
    return psi_from_counts(binned_counts(a, edges), binned_counts(b, edges))


def chisquare_from_counts(
    ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike, unseen: int = 0
) -> tuple[float, float]:
    """Chi-squared of current counts against the reference's proportions.

    ``ref_counts`` and ``cur_counts`` are aligned per category; ``unseen`` is the
    number of current rows whose category the reference never saw (pooled into one
    cell with expected proportion EPSILON). Returns (statistic, p-value).
    """
    from scipy import stats

    r = np.asarray(ref_counts, dtype=np.float64)
    c = np.asarray(cur_counts, dtype=np.float64)
    keep = r > 0
    # Categories present in neither sample carry no information; a category only the
    # current has belongs to the unseen cell.
    unseen_total = float(unseen) + float(c[~keep].sum())
    r, c = r[keep], c[keep]
    expected_share = r / r.sum()
    if unseen_total > 0:
        expected_share = np.append(expected_share * (1.0 - EPSILON), EPSILON)
        c = np.append(c, unseen_total)
    if c.shape[0] < 2:
        return 0.0, 1.0
    n = c.sum()
    expected = expected_share * n
    statistic = float(np.sum((c - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, c.shape[0] - 1))


def jensenshannon_from_counts(ref_counts: npt.ArrayLike, cur_counts: npt.ArrayLike) -> float:
    """Jensen–Shannon distance (natural log) of two count vectors over the same cells."""
    from scipy.special import rel_entr

    p = np.asarray(ref_counts, dtype=np.float64)
    q = np.asarray(cur_counts, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = (np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m))) / 2.0
    return float(np.sqrt(max(float(js), 0.0)))


# --- per-feature results ---------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    """The verdict on one feature. ``drifted`` is None when the feature was not tested."""

    name: str
    status: Status
    kind: Kind | None = None
    test: TestName | None = None
    score: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    statistic: float | None = None
    n_reference: int = 0
    n_current: int = 0
    missing_reference: float = 0.0
    missing_current: float = 0.0
    unseen_current: float = 0.0
    detail: str = ""
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def tested(self) -> bool:
        return self.drifted is not None

    @property
    def severity(self) -> float:
        """Score relative to the threshold: > 1 means drift, 1 is the boundary.

        Distances: score / threshold. p-values: log(p) / log(threshold), so that a
        smaller p is more severe on the same scale.
        """
        if self.score is None or self.threshold is None or self.test is None:
            return 0.0
        if self.test in P_VALUE_TESTS:
            if self.score <= 0:
                return math.inf
            if self.score >= 1 or self.threshold >= 1:
                return 0.0
            return math.log(self.score) / math.log(self.threshold)
        if self.threshold <= 0:
            return math.inf if self.score > 0 else 0.0
        return self.score / self.threshold


def is_drift(test: TestName, score: float, threshold: float) -> bool:
    if test in P_VALUE_TESTS:
        return score < threshold
    return score > threshold


def default_test(kind: Kind, n_reference: int) -> TestName:
    """The documented default: by kind (after the few-unique rule) and reference size."""
    small = n_reference <= SMALL_SAMPLE
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


class _Numeric:
    """A numeric feature: sorted samples and everything derived from them, computed once."""

    def __init__(self, ref: FloatArray, cur: FloatArray) -> None:
        self.ref = _sorted_finite(ref)
        self.cur = _sorted_finite(cur)
        self.pair = _EcdfPair(self.ref, self.cur)

    @cached_property
    def n_unique_ref(self) -> int:
        if not self.ref.size:
            return 0
        return int(np.count_nonzero(self.ref[1:] != self.ref[:-1])) + 1

    @cached_property
    def bins(self) -> tuple[IntArray, IntArray]:
        edges = quantile_edges(self.ref)
        return binned_counts(self.ref, edges), binned_counts(self.cur, edges)

    def as_categorical(self) -> _Categorical:
        """Counts per distinct reference value, for few-valued numeric columns."""
        ref_counts, cur_counts, other = _value_counts(np.unique(self.ref), self.ref, self.cur)
        unseen = np.array([other] if other else [], dtype=np.int64)
        return _Categorical(ref_counts, cur_counts, unseen)

    def single_value(self) -> bool:
        """Both sides hold one and the same value."""
        return bool(self.ref[0] == self.ref[-1] == self.cur[0] == self.cur[-1])

    def run(self, test: TestName) -> tuple[float, float | None]:
        """(score, statistic) of one test."""
        if test == "ks":
            d, p = _ks(self.pair)
            return p, d
        if test == "wasserstein":
            return _normalised_wasserstein(self.pair), self.pair.wasserstein()
        r, c = self.bins
        if test == "psi":
            return psi_from_counts(r, c), None
        if test == "chisquare":
            stat, p = chisquare_from_counts(r, c)
            return p, stat
        return jensenshannon_from_counts(r, c), None


def _value_counts(
    values: FloatArray, ref_sorted: FloatArray, cur_sorted: FloatArray
) -> tuple[IntArray, IntArray, int]:
    """Counts of each value in `values` on both sides, and current rows with other values."""
    ref_counts = np.searchsorted(ref_sorted, values, "right") - np.searchsorted(
        ref_sorted, values, "left"
    )
    cur_counts = np.searchsorted(cur_sorted, values, "right") - np.searchsorted(
        cur_sorted, values, "left"
    )
    other = int(cur_sorted.shape[0] - cur_counts.sum())
    return ref_counts.astype(np.int64), cur_counts.astype(np.int64), other


class _Categorical:
    """A categorical feature: counts aligned on the reference's categories."""

    def __init__(
        self,
        ref_counts: IntArray,
        cur_counts: IntArray,
        unseen_counts: IntArray,
    ) -> None:
        self.ref_counts = ref_counts
        self.cur_counts = cur_counts
        self.unseen_counts = unseen_counts  # per unseen category, current side

    @classmethod
    def from_columns(cls, ref: Column, cur: Column) -> _Categorical:
        ref_counts = _code_counts(ref)
        cur_counts_own = _code_counts(cur)
        index = {label: i for i, label in enumerate(ref.categories)}
        mapping = np.array([index.get(label, -1) for label in cur.categories], dtype=np.int64)
        seen = mapping >= 0
        aligned = np.zeros(ref_counts.shape[0], dtype=np.int64)
        if seen.any():
            np.add.at(aligned, mapping[seen], cur_counts_own[seen])
        return cls(ref_counts, aligned, cur_counts_own[~seen])

    @property
    def n_ref(self) -> int:
        return int(self.ref_counts.sum())

    @property
    def n_cur(self) -> int:
        return int(self.cur_counts.sum() + self.unseen_counts.sum())

    def single_value(self) -> bool:
        """Both sides hold one and the same category."""
        nonzero_ref = np.flatnonzero(self.ref_counts)
        nonzero_cur = np.flatnonzero(self.cur_counts)
        return (
            nonzero_ref.shape[0] == 1
            and nonzero_cur.shape[0] == 1
            and nonzero_ref[0] == nonzero_cur[0]
            and not self.unseen_counts.sum()
        )

    def run(self, test: TestName) -> tuple[float, float | None]:
        if test == "chisquare":
            stat, p = chisquare_from_counts(
                self.ref_counts, self.cur_counts, int(self.unseen_counts.sum())
            )
            return p, stat
        # PSI and JS over the union of categories: unseen ones have reference count 0.
        r = np.concatenate([self.ref_counts, np.zeros_like(self.unseen_counts)])
        c = np.concatenate([self.cur_counts, self.unseen_counts])
        if test == "psi":
            return psi_from_counts(r, c), None
        return jensenshannon_from_counts(r, c), None


def _code_counts(column: Column) -> IntArray:
    codes = column.values
    valid = codes[codes >= 0]
    return np.bincount(valid, minlength=len(column.categories)).astype(np.int64)


def _missing_share(column: Column) -> float:
    n = len(column)
    if n == 0:
        return 0.0
    if column.kind == "numeric":
        missing = int(np.count_nonzero(np.isnan(column.values)))
    else:
        missing = int(np.count_nonzero(column.values < 0))
    return missing / n


def feature_drift(
    name: str,
    ref: Column | None,
    cur: Column | None,
    choice: FeatureRule | None = None,
    *,
    all_tests: bool = False,
) -> FeatureDrift:
    """Test one feature. Problems become a status, never an exception."""
    if ref is None:
        return FeatureDrift(name, "missing_in_reference", detail="column absent from the reference")
    if cur is None:
        return FeatureDrift(
            name, "missing_in_current", detail="column absent from the current data"
        )
    base: dict[str, Any] = {
        "missing_reference": _missing_share(ref),
        "missing_current": _missing_share(cur),
    }
    if ref.kind != cur.kind:
        return FeatureDrift(
            name,
            "type_mismatch",
            detail=f"{ref.kind} in the reference, {cur.kind} in the current data",
            **base,
        )
    choice = choice or FeatureRule()
    engine: _Numeric | _Categorical
    kind: Kind = ref.kind
    unseen = 0
    if ref.kind == "numeric":
        numeric = _Numeric(ref.values, cur.values)
        n_ref, n_cur = numeric.ref.shape[0], numeric.cur.shape[0]
        engine = numeric
        few = 0 < numeric.n_unique_ref <= FEW_UNIQUE
        if few and (choice.test is None or choice.test not in NUMERIC_ONLY_TESTS):
            engine = numeric.as_categorical()
            kind = "categorical"
            unseen = int(engine.unseen_counts.sum())
    else:
        cat = _Categorical.from_columns(ref, cur)
        n_ref, n_cur = cat.n_ref, cat.n_cur
        engine = cat
        unseen = int(cat.unseen_counts.sum())
    base |= {"n_reference": n_ref, "n_current": n_cur, "kind": kind}
    base["unseen_current"] = unseen / n_cur if n_cur else 0.0
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current data"
        return FeatureDrift(name, "all_missing", detail=f"no values in the {side}", **base)
    test = choice.test or default_test(kind, n_ref)
    if test in NUMERIC_ONLY_TESTS and ref.kind != "numeric":
        return FeatureDrift(
            name, "unsupported_test", test=test, detail=f"{test} needs a numeric column", **base
        )
    threshold = DEFAULT_THRESHOLDS[test] if choice.threshold is None else choice.threshold
    score, statistic = engine.run(test)
    scores: dict[str, float] = {}
    if all_tests:
        for other_test in TESTS:
            if other_test in NUMERIC_ONLY_TESTS and not isinstance(engine, _Numeric):
                continue
            scores[other_test] = score if other_test == test else engine.run(other_test)[0]
    status: Status = "constant" if engine.single_value() else "ok"
    return FeatureDrift(
        name,
        status,
        test=test,
        score=score,
        threshold=threshold,
        drifted=is_drift(test, score, threshold),
        statistic=statistic,
        scores=scores,
        **base,
    )


# --- the dataset -----------------------------------------------------------------------


@dataclass(frozen=True)
class DriftReport:
    """Per-feature results (sorted by severity, drifted first) and the dataset verdict."""

    features: tuple[FeatureDrift, ...]
    drift_share: float

    @property
    def tested(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.tested)

    @property
    def drifted(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.drifted)

    @property
    def problems(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.status not in ("ok", "constant"))

    @property
    def share(self) -> float:
        tested = len(self.tested)
        return len(self.drifted) / tested if tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.tested) and self.share >= self.drift_share


def _order_key(f: FeatureDrift) -> tuple[int, float, str]:
    group = 0 if f.drifted else (1 if f.tested else 2)
    severity = f.severity
    return group, -(severity if math.isfinite(severity) else 1e308), f.name


def detect_drift(
    reference: Mapping[str, Column],
    current: Mapping[str, Column],
    *,
    features: Sequence[str] | None = None,
    tests: Mapping[str, FeatureRule] | None = None,
    drift_share: float = 0.5,
    all_tests: bool = False,
    workers: int = 1,
) -> DriftReport:
    """Compare every feature of `current` against `reference`.

    ``features`` defaults to the union of both sides' columns (a column on one side
    only is reported as such). ``all_tests`` also computes every applicable test's
    score into ``FeatureDrift.scores``. ``workers`` > 1 tests features in threads
    (numpy's sort and search release the GIL).
    """
    if not 0 < drift_share <= 1:
        raise ValueError("drift_share must be in (0, 1]")
    names = list(features) if features is not None else _union(reference, current)
    tests = tests or {}

    def one(name: str) -> FeatureDrift:
        return feature_drift(
            name, reference.get(name), current.get(name), tests.get(name), all_tests=all_tests
        )

    results: list[FeatureDrift]
    if workers > 1 and len(names) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(name) for name in names]
    return DriftReport(tuple(sorted(results, key=_order_key)), drift_share)


def _union(reference: Mapping[str, Column], current: Mapping[str, Column]) -> list[str]:
    names = list(reference)
    names.extend(n for n in current if n not in reference)
    return names
