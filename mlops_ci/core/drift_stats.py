"""The drift statistics on plain arrays, vectorised numpy; each equals its scipy counterpart.

``ks`` and ``wasserstein`` read both empirical CDFs from one merge of the sorted
samples (`EcdfPair`). ``psi``, ``chisquare`` and ``jensenshannon`` work on counts:
per category, or per bin cut at the reference's deciles (`quantile_edges`).

Empty bins and unseen categories
    PSI takes ``ln(cur / ref)`` per bin, which is undefined for an empty bin, so a
    proportion of 0 is replaced by ``EPSILON`` (1e-4) on either side before the sum.
    In chi-squared, categories the reference never saw have an expected count of 0
    (an infinite statistic), so they are pooled into one "unseen" cell whose expected
    proportion is ``EPSILON`` (the other expected proportions are scaled by 1 - EPSILON).
    Jensen–Shannon is defined with zeros and runs over the union of categories.

scipy is imported only inside the functions that need its distributions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

TestName = Literal["psi", "ks", "wasserstein", "chisquare", "jensenshannon"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TESTS: tuple[TestName, ...] = ("psi", "ks", "wasserstein", "chisquare", "jensenshannon")
#: Tests whose score is a p-value: drift when the score is *below* the threshold.
P_VALUE_TESTS: frozenset[str] = frozenset({"ks", "chisquare"})
NUMERIC_ONLY_TESTS: frozenset[str] = frozenset({"ks", "wasserstein"})
EPSILON = 1e-4
PSI_BINS = 10
#: scipy's `ks_2samp(method="auto")` is exact up to this many rows per side.
KS_EXACT_MAX_N = 10_000


def sorted_finite(values: FloatArray) -> FloatArray:
    """Sorted copy without NaN (np.sort puts NaN last, so one sort and one cut)."""
    ordered = np.sort(values)
    return ordered[: ordered.shape[0] - int(np.count_nonzero(np.isnan(values)))]


#: Values of each side merged at a time when walking the two ECDFs (bounds the memory
#: of KS and Wasserstein to a few blocks, whatever the size of the samples).
ECDF_BLOCK = 1 << 16


@dataclass
class EcdfPair:
    """Both empirical CDFs walked over the distinct values of the pooled sample.

    KS and Wasserstein both read them. The two sorted samples are merged block by block
    (`ECDF_BLOCK` values of a side at a time, cut after a value so that ties stay in
    one block): within a block, current value k lands after the k current values
    before it and after every reference value ≤ it (one searchsorted); at the last
    occurrence of each distinct value the pooled count and a running count of the
    current values give both CDFs. Memory: the two samples and one block.
    """

    ref: FloatArray
    cur: FloatArray
    block: int = ECDF_BLOCK

    @cached_property
    def _walk(self) -> tuple[float, float]:
        """(sup |F_ref − F_cur|, ∫ |F_ref − F_cur| dx) over the whole pooled sample."""
        ref, cur = self.ref, self.cur
        n_ref, n_cur = ref.shape[0], cur.shape[0]
        a = j = 0
        ks = area = 0.0
        carry: tuple[float, float] | None = None  # the previous block's last point
        while a < n_ref or j < n_cur:
            # The block ends at the smaller of the two sides' block-end values.
            ends = []
            if a < n_ref:
                ends.append(ref[min(a + self.block, n_ref) - 1])
            if j < n_cur:
                ends.append(cur[min(j + self.block, n_cur) - 1])
            edge = min(ends)
            b = int(np.searchsorted(ref, edge, side="right")) if a < n_ref else n_ref
            k = int(np.searchsorted(cur, edge, side="right")) if j < n_cur else n_cur
            points, diff = _ecdf_block(ref[a:b], cur[j:k], a, j, n_ref, n_cur)
            ks = max(ks, float(np.max(diff)))
            area += float(np.einsum("i,i->", diff[:-1], np.diff(points)))
            if carry is not None:
                area += carry[1] * (float(points[0]) - carry[0])
            carry = (float(points[-1]), float(diff[-1]))
            a, j = b, k
        return ks, area

    def ks_statistic(self) -> float:
        return self._walk[0]

    def wasserstein(self) -> float:
        return self._walk[1]


def _ecdf_block(  # noqa: PLR0917 - a block and where it sits in both samples
    ref: FloatArray, cur: FloatArray, ref_before: int, cur_before: int, n_ref: int, n_cur: int
) -> tuple[FloatArray, FloatArray]:
    """(distinct values of a block, |F_ref − F_cur| at each), the block's last value
    being the last occurrence of its value in both samples."""
    size = ref.shape[0] + cur.shape[0]
    slot = np.searchsorted(ref, cur, side="right")
    slot += np.arange(cur.shape[0], dtype=slot.dtype)
    from_cur = np.zeros(size, dtype=bool)
    from_cur[slot] = True
    merged = np.empty(size, dtype=np.float64)
    merged[slot] = cur
    merged[~from_cur] = ref
    # A block holds far fewer than 2**31 values: int32 counts (numpy's cumsum is much
    # faster into int32 than into int64).
    cur_le = np.cumsum(from_cur, dtype=np.int32)
    distinct = merged[1:] != merged[:-1]
    if distinct.all():  # no ties, the usual case for real-valued data
        points = merged
        last = np.arange(size, dtype=np.float64)
        counts = cur_le.astype(np.float64)
    else:
        at = np.append(np.flatnonzero(distinct), size - 1)
        points, last, counts = merged[at], at.astype(np.float64), cur_le[at].astype(np.float64)
    counts += cur_before
    # F_ref − F_cur = ref_le / n_ref − cur_le / n_cur, with ref_le = pooled_le − cur_le.
    diff = last
    diff += ref_before + cur_before + 1
    diff -= counts
    diff *= 1.0 / n_ref
    counts *= 1.0 / n_cur
    diff -= counts
    np.abs(diff, out=diff)
    return points, diff


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
    a = sorted_finite(np.asarray(ref, dtype=np.float64))
    b = sorted_finite(np.asarray(cur, dtype=np.float64))
    if not a.size or not b.size:
        raise ValueError("ks_2samp needs values on both sides")
    return ks_test(EcdfPair(a, b))


def ks_test(pair: EcdfPair) -> tuple[float, float]:
    """(statistic, p-value) of KS on a prepared pair: exact when small, as scipy does."""
    d = pair.ks_statistic()
    n1, n2 = pair.ref.shape[0], pair.cur.shape[0]
    if max(n1, n2) <= KS_EXACT_MAX_N:
        return d, _ks_exact(pair.ref, pair.cur)
    return d, ks_pvalue(d, n1, n2)


def wasserstein_distance(ref: npt.ArrayLike, cur: npt.ArrayLike) -> float:
    """Wasserstein-1 distance between two samples (as `scipy.stats.wasserstein_distance`)."""
    a = sorted_finite(np.asarray(ref, dtype=np.float64))
    b = sorted_finite(np.asarray(cur, dtype=np.float64))
    if not a.size or not b.size:
        raise ValueError("wasserstein_distance needs values on both sides")
    return EcdfPair(a, b).wasserstein()


def normalised_wasserstein(pair: EcdfPair) -> float:
    """Wasserstein-1 distance in units of the reference's standard deviation."""
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
    a = sorted_finite(np.asarray(ref, dtype=np.float64))
    b = sorted_finite(np.asarray(cur, dtype=np.float64))
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
