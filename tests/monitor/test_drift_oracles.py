"""Drift scores against oracles that do not call scipy: pinned by hand or enumerated.

* KS on tiny samples: the exact two-sided p-value is the share of all splits of the
  pooled sample into sizes (n, m) whose statistic D is at least the observed one (the
  permutation distribution, exact for samples without ties). Enumerated here in plain
  Python with fractions: at most C(12, 6) = 924 splits.
* Wasserstein for changes in spread alone (same mean), divided by the documented
  normaliser, the reference's standard deviation (population, ddof = 0), computed by hand.
* PSI over the reference's deciles, computed by hand.
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from mlops_ci.core.drift import Column, FeatureRule, feature_drift, ks_2samp, psi

# --- KS: the exact permutation p-value ---------------------------------------------------


def ks_statistic(a: list[float], b: list[float]) -> Fraction:
    """sup |F_a − F_b| over the pooled values, exactly."""
    return max(
        abs(Fraction(sum(x <= v for x in a), len(a)) - Fraction(sum(y <= v for y in b), len(b)))
        for v in a + b
    )


def permutation_pvalue(a: list[float], b: list[float]) -> tuple[Fraction, Fraction]:
    """(D, P(D* ≥ D)) over every split of the pooled sample into len(a) and len(b) values."""
    pooled = a + b
    observed = ks_statistic(a, b)
    extreme = total = 0
    for chosen in combinations(range(len(pooled)), len(a)):
        picked = set(chosen)
        left = [pooled[i] for i in chosen]
        right = [pooled[i] for i in range(len(pooled)) if i not in picked]
        total += 1
        extreme += ks_statistic(left, right) >= observed
    assert total == math.comb(len(pooled), len(a))
    return observed, Fraction(extreme, total)


def from_ranks(pattern: str) -> tuple[list[float], list[float]]:
    """Two tie-free samples interleaved as `pattern` says, e.g. "aabab" (in sorted order)."""
    a: list[float] = []
    b: list[float] = []
    for rank, side in enumerate(pattern):
        value = 0.37 + 1.3 * rank  # any increasing values: only the ranks matter
        (a if side == "a" else b).append(value)
    return a[::-1], b  # unsorted on input


PATTERNS = [
    "aaabbb",  # separated, n = m = 3
    "aaaaabbbbb",  # separated, n = m = 5
    "ababab",  # interleaved: D as small as it gets
    "aababbabbb",
    "abababababab",  # n = m = 6
    "aaaabbabbbbb",
    "aabbbbbb",  # n = 2, m = 6
    "bbbaabbb",
    "aaabbbbbbaa",  # n = 5, m = 6, the current in the middle
    "baaaaab",  # n = 5, m = 2
    "aaaaaabbbbb",  # n = 6, m = 5
    "abbbbba",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_small_sample_ks_pvalue_equals_the_exact_permutation_pvalue(pattern: str) -> None:
    a, b = from_ranks(pattern)
    d, p = permutation_pvalue(a, b)
    statistic, pvalue = ks_2samp(a, b)
    assert statistic == pytest.approx(float(d), abs=1e-12)
    assert pvalue == pytest.approx(float(p), rel=1e-9, abs=1e-12)
    # The monitor's path: a numeric feature forced to `ks`.
    result = feature_drift("x", Column.numeric(a), Column.numeric(b), FeatureRule(test="ks"))
    assert result.statistic == pytest.approx(float(d), abs=1e-12)
    assert result.score == pytest.approx(float(p), rel=1e-9, abs=1e-12)
    assert result.drifted is (float(p) < 0.05)


def test_small_sample_ks_pvalue_on_random_draws() -> None:
    rng = np.random.default_rng(20240611)
    for n, m in [(3, 4), (4, 4), (5, 6), (6, 6), (6, 3)]:
        a = rng.normal(size=n).tolist()
        b = rng.normal(0.8, 1.5, size=m).tolist()
        d, p = permutation_pvalue(a, b)
        statistic, pvalue = ks_2samp(a, b)
        assert statistic == pytest.approx(float(d), abs=1e-12)
        assert pvalue == pytest.approx(float(p), rel=1e-9, abs=1e-12)


def test_fully_separated_tiny_samples_by_hand() -> None:
    # Only the two splits "all of a below all of b" and the reverse reach D = 1.
    _, pvalue = ks_2samp([1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0])
    assert pvalue == pytest.approx(2 / math.comb(10, 5), rel=1e-9)  # 0.0079…: drift at 0.05
    _, pvalue = ks_2samp([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert pvalue == pytest.approx(2 / math.comb(6, 3), rel=1e-9)  # 0.1: no drift at 0.05


# --- Wasserstein: a change in spread alone -----------------------------------------------


def wasserstein_score(ref: list[float], cur: list[float]) -> tuple[float, float]:
    """(score, raw distance) of a numeric feature forced to `wasserstein`."""
    result = feature_drift(
        "x", Column.numeric(ref), Column.numeric(cur), FeatureRule(test="wasserstein")
    )
    assert result.score is not None
    assert result.statistic is not None
    return result.score, result.statistic


def test_wasserstein_of_a_doubled_spread_is_pinned() -> None:
    # Same mean 3. Equal sizes: W1 is the mean gap between sorted values, (2+1+0+1+2)/5.
    # Population variance of 1..5 is (4+1+0+1+4)/5 = 2.
    score, raw = wasserstein_score([1, 2, 3, 4, 5], [-1, 1, 3, 5, 7])
    assert raw == pytest.approx(1.2, rel=1e-12)
    assert score == pytest.approx(1.2 / math.sqrt(2), rel=1e-12)  # 0.8485…


def test_wasserstein_of_a_halved_spread_is_pinned() -> None:
    # Same mean 0. W1 = (1.5+0.5+0.5+1.5)/4 = 1; variance of the reference (9+1+1+9)/4 = 5.
    score, raw = wasserstein_score([-3, -1, 1, 3], [-1.5, -0.5, 0.5, 1.5])
    assert raw == pytest.approx(1.0, rel=1e-12)
    assert score == pytest.approx(1 / math.sqrt(5), rel=1e-12)  # 0.4472…


def test_wasserstein_of_a_wider_sample_of_another_size_is_pinned() -> None:
    # Reference {0, 1} (mean 0.5, std 0.5); current {-0.5, 0, 1, 1.5} (mean 0.5).
    # |F_ref − F_cur| is 1/4 on [-0.5, 0) and on [1, 1.5), 0 elsewhere: W1 = 1/4.
    score, raw = wasserstein_score([0, 1], [-0.5, 0, 1, 1.5])
    assert raw == pytest.approx(0.25, rel=1e-12)
    assert score == pytest.approx(0.5, rel=1e-12)


def test_wasserstein_spread_score_does_not_depend_on_location_or_units() -> None:
    # Shift both sides and rescale by 1000: the normalised score stays 1.2 / sqrt(2).
    ref = [1000.0 * x + 7e4 for x in (1, 2, 3, 4, 5)]
    cur = [1000.0 * x + 7e4 for x in (-1, 1, 3, 5, 7)]
    score, raw = wasserstein_score(ref, cur)
    assert raw == pytest.approx(1200.0, rel=1e-9)
    assert score == pytest.approx(1.2 / math.sqrt(2), rel=1e-9)


# --- PSI ---------------------------------------------------------------------------------


def deciles_of_0_to_99(shares: list[int]) -> list[float]:
    """Current values with `shares[i]` of them in decile i of the reference 0, 1, …, 99.

    The reference's deciles (linear interpolation) are 9.9, 19.8, …, 89.1, so decile i
    holds [9.9·i, 9.9·(i+1)) and 10 reference values each.
    """
    values: list[float] = []
    for i, count in enumerate(shares):
        values += [9.9 * i + 0.1 + 0.05 * j for j in range(count)]
    return values


REFERENCE = [float(x) for x in range(100)]


def test_psi_of_fatter_tails_is_pinned() -> None:
    # 18% in each outer decile, 8% in each inner one (vs 10% everywhere):
    # 2·(0.08·ln 1.8) + 8·(−0.02·ln 0.8) = 0.16·ln(1.8 / 0.8) = 0.16·ln 2.25.
    current = deciles_of_0_to_99([18] + [8] * 8 + [18])
    assert psi(REFERENCE, current) == pytest.approx(0.16 * math.log(2.25), rel=1e-12)
    result = feature_drift(
        "x", Column.numeric(REFERENCE), Column.numeric(current), FeatureRule(test="psi")
    )
    assert result.score == pytest.approx(0.12974884, rel=1e-7)
    assert result.drifted is True  # above the default 0.1


def test_psi_with_empty_bins_is_pinned() -> None:
    # Half the current in each outer decile, none inside: the empty shares count as 1e-4.
    current = deciles_of_0_to_99([50] + [0] * 8 + [50])
    expected = 2 * (0.4 * math.log(5)) + 8 * ((1e-4 - 0.1) * math.log(1e-4 / 0.1))
    assert psi(REFERENCE, current) == pytest.approx(expected, rel=1e-12)
    assert psi(REFERENCE, REFERENCE) == 0.0
