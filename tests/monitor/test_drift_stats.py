"""Our drift statistics equal scipy's on random data, and PSI equals a plain computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlops_ci.core import drift
from mlops_ci.core.drift_stats import EcdfPair

TOL = 1e-9

floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
# Small integer grids make ties likely, which is where ECDF code goes wrong.
tied = st.integers(min_value=-5, max_value=5).map(float)


def samples(elements: st.SearchStrategy[float] = floats) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, st.integers(1, 300), elements=elements)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.one_of(samples(), samples(tied)), b=st.one_of(samples(), samples(tied)))
def test_ks_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    ours = drift.ks_2samp(a, b)
    theirs = stats.ks_2samp(a, b)
    assert close(ours[0], float(theirs.statistic))
    assert close(ours[1], float(theirs.pvalue))


@pytest.mark.parametrize("shift", [0.0, 0.01, 0.1])
def test_ks_asymptotic_pvalue_equals_scipy_on_large_samples(shift: float) -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(size=12_000)
    b = rng.normal(shift, size=15_000)
    ours = drift.ks_2samp(a, b)
    theirs = stats.ks_2samp(a, b)
    assert close(ours[0], float(theirs.statistic))
    assert close(ours[1], float(theirs.pvalue))


@settings(max_examples=80, deadline=None)
@given(a=st.one_of(samples(), samples(tied)), b=st.one_of(samples(), samples(tied)))
def test_wasserstein_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    ours = drift.wasserstein_distance(a, b)
    theirs = float(stats.wasserstein_distance(a, b))
    assert math.isclose(ours, theirs, rel_tol=TOL, abs_tol=TOL * max(1.0, np.ptp(a), np.ptp(b)))


counts = hnp.arrays(np.int64, st.integers(2, 30), elements=st.integers(1, 10_000))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_chisquare_equals_scipy(data: st.DataObject) -> None:
    ref = data.draw(counts)
    cur = data.draw(hnp.arrays(np.int64, ref.shape[0], elements=st.integers(0, 10_000)))
    if cur.sum() == 0:
        cur[0] = 1
    ours = drift.chisquare_from_counts(ref, cur)
    expected = ref / ref.sum() * cur.sum()
    theirs = stats.chisquare(cur, expected)
    assert math.isclose(ours[0], float(theirs.statistic), rel_tol=TOL, abs_tol=TOL)
    assert close(ours[1], float(theirs.pvalue))


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_jensenshannon_equals_scipy(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 30))
    ref = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1000)))
    cur = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1000)))
    ref[0] += 1
    cur[-1] += 1
    assert close(drift.jensenshannon_from_counts(ref, cur), float(jensenshannon(ref, cur)))


def plain_psi(ref: list[float], cur: list[float], bins: int = 10) -> float:
    """PSI written out the long way, as the docs define it."""
    ref = [x for x in ref if x == x]
    cur = [x for x in cur if x == x]
    edges = sorted(set(np.quantile(ref, [i / bins for i in range(1, bins)]).tolist()))

    def bin_of(x: float) -> int:
        index = 0
        for edge in edges:
            if x >= edge:
                index += 1
        return index

    ref_counts = [0] * (len(edges) + 1)
    cur_counts = [0] * (len(edges) + 1)
    for x in ref:
        ref_counts[bin_of(x)] += 1
    for x in cur:
        cur_counts[bin_of(x)] += 1
    total = 0.0
    for r, c in zip(ref_counts, cur_counts, strict=True):
        r_share = r / len(ref) or 0.0001
        c_share = c / len(cur) or 0.0001
        total += (c_share - r_share) * math.log(c_share / r_share)
    return total


@settings(max_examples=80, deadline=None)
@given(a=st.one_of(samples(), samples(tied)), b=st.one_of(samples(), samples(tied)))
def test_psi_equals_plain_computation(a: np.ndarray, b: np.ndarray) -> None:
    assert close(drift.psi(a, b), plain_psi(a.tolist(), b.tolist()))


def test_psi_of_identical_samples_is_zero_and_of_shifted_is_large() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    assert drift.psi(a, a) == 0.0
    assert drift.psi(a, a + 1.0) > 0.25


def test_nan_is_dropped_before_every_statistic() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=400)
    b = rng.normal(0.3, size=500)
    a_nan = np.concatenate([a, [np.nan] * 30])
    b_nan = np.concatenate([[np.nan] * 7, b])
    assert drift.ks_2samp(a_nan, b_nan) == drift.ks_2samp(a, b)
    assert drift.wasserstein_distance(a_nan, b_nan) == drift.wasserstein_distance(a, b)
    assert drift.psi(a_nan, b_nan) == drift.psi(a, b)


@settings(max_examples=80, deadline=None)
@given(
    a=st.one_of(samples(), samples(tied)),
    b=st.one_of(samples(), samples(tied)),
    block=st.integers(1, 9),
)
def test_ks_and_wasserstein_walked_in_small_blocks_equal_scipy(
    a: np.ndarray, b: np.ndarray, block: int
) -> None:
    # Blocks of a few values put tie runs and one-sided stretches across block edges.
    pair = EcdfPair(np.sort(a), np.sort(b), block=block)
    assert close(pair.ks_statistic(), float(stats.ks_2samp(a, b).statistic))
    wasserstein = float(stats.wasserstein_distance(a, b))
    scale = TOL * max(1.0, np.ptp(a), np.ptp(b))
    assert math.isclose(pair.wasserstein(), wasserstein, rel_tol=TOL, abs_tol=scale)
