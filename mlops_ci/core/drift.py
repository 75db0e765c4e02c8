"""Per-feature drift statistics and the dataset verdict, as plain vectorised numpy.

Everything here is pure: columns in, a `DriftReport` out. Nothing reads files,
prints or touches the environment, so the statistics are tested directly against
`scipy.stats` on random data. The statistics live in `drift_stats`, columns and
their prepared samples in `drift_columns`; this module picks the test per feature
and gives the verdicts.

Columns (`drift_columns.Column`)
    Numbers (float64, NaN = missing) or category codes into the column's own
    categories (-1 = missing); the two sides' categories are aligned by label.

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
    An empty bin's share becomes ``EPSILON`` in PSI; categories the reference never
    saw are pooled into one "unseen" cell in chi-squared (see `drift_stats`). The
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
from typing import Any, Literal

from mlops_ci.core.drift_columns import (
    CategoricalCounts,
    Column,
    Kind,
    NumericSamples,
    missing_share,
)
from mlops_ci.core.drift_stats import (
    EPSILON,
    KS_EXACT_MAX_N,
    NUMERIC_ONLY_TESTS,
    P_VALUE_TESTS,
    PSI_BINS,
    TESTS,
    FloatArray,
    IntArray,
    TestName,
    binned_counts,
    chisquare_from_counts,
    jensenshannon_from_counts,
    ks_2samp,
    ks_pvalue,
    psi,
    psi_from_counts,
    quantile_edges,
    wasserstein_distance,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EPSILON",
    "FEW_UNIQUE",
    "KS_EXACT_MAX_N",
    "NUMERIC_ONLY_TESTS",
    "PSI_BINS",
    "P_VALUE_TESTS",
    "SMALL_SAMPLE",
    "TESTS",
    "Column",
    "DriftReport",
    "FeatureDrift",
    "FeatureRule",
    "FloatArray",
    "IntArray",
    "Kind",
    "Status",
    "TestName",
    "binned_counts",
    "chisquare_from_counts",
    "default_test",
    "detect_drift",
    "feature_drift",
    "is_drift",
    "jensenshannon_from_counts",
    "ks_2samp",
    "ks_pvalue",
    "order_key",
    "psi",
    "psi_from_counts",
    "quantile_edges",
    "wasserstein_distance",
]

Status = Literal[
    "ok",
    "constant",
    "all_missing",
    "missing_in_reference",
    "missing_in_current",
    "type_mismatch",
    "unsupported_test",
]

DEFAULT_THRESHOLDS: dict[TestName, float] = {
    "psi": 0.1,
    "ks": 0.05,
    "wasserstein": 0.1,
    "chisquare": 0.05,
    "jensenshannon": 0.1,
}
SMALL_SAMPLE = 1000
FEW_UNIQUE = 5


# --- per-feature results ---------------------------------------------------------------


@dataclass(frozen=True)
class FeatureRule:
    """A per-feature override: which test, and its threshold (None = defaults)."""

    test: TestName | None = None
    threshold: float | None = None


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
    #: Read from quantile sketches (data streamed beyond memory), not the exact samples.
    approximate: bool = False
    #: ± bound on what the verdict reads (KS: D; Wasserstein: the normalised distance),
    #: when approximate and stated (see `core.drift_sketch`).
    error_bound: float | None = None

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
    """Whether a score crosses its threshold: below it for p-values, above for distances."""
    if test in P_VALUE_TESTS:
        return score < threshold
    return score > threshold


def default_test(kind: Kind, n_reference: int) -> TestName:
    """The documented default: by kind (after the few-unique rule) and reference size."""
    small = n_reference <= SMALL_SAMPLE
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


@dataclass(frozen=True)
class _Prepared:
    """A feature's two sides, ready for testing, and the counts its verdict reports."""

    samples: NumericSamples | CategoricalCounts
    kind: Kind
    n_reference: int
    n_current: int
    unseen: int


def _prepare(ref: Column, cur: Column, choice: FeatureRule) -> _Prepared:
    """Sort or count both sides once; a few-valued numeric column becomes categorical."""
    if ref.kind == "numeric":
        numeric = NumericSamples(ref.values, cur.values)
        n_ref, n_cur = numeric.ref.shape[0], numeric.cur.shape[0]
        few = 0 < numeric.n_unique_ref <= FEW_UNIQUE
        if few and (choice.test is None or choice.test not in NUMERIC_ONLY_TESTS):
            counts = numeric.as_categorical()
            return _Prepared(counts, "categorical", n_ref, n_cur, int(counts.unseen_counts.sum()))
        return _Prepared(numeric, "numeric", n_ref, n_cur, 0)
    cat = CategoricalCounts.from_columns(ref, cur)
    return _Prepared(cat, "categorical", cat.n_ref, cat.n_cur, int(cat.unseen_counts.sum()))


def _every_score(
    samples: NumericSamples | CategoricalCounts, test: TestName, score: float
) -> dict[str, float]:
    """The score of every test that applies, reusing the one already run."""
    scores: dict[str, float] = {}
    for other_test in TESTS:
        if other_test in NUMERIC_ONLY_TESTS and not isinstance(samples, NumericSamples):
            continue
        scores[other_test] = score if other_test == test else samples.run(other_test)[0]
    return scores


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
        "missing_reference": missing_share(ref),
        "missing_current": missing_share(cur),
    }
    if ref.kind != cur.kind:
        return FeatureDrift(
            name,
            "type_mismatch",
            detail=f"{ref.kind} in the reference, {cur.kind} in the current data",
            **base,
        )
    choice = choice or FeatureRule()
    prepared = _prepare(ref, cur, choice)
    n_ref, n_cur = prepared.n_reference, prepared.n_current
    base |= {"n_reference": n_ref, "n_current": n_cur, "kind": prepared.kind}
    base["unseen_current"] = prepared.unseen / n_cur if n_cur else 0.0
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current data"
        return FeatureDrift(name, "all_missing", detail=f"no values in the {side}", **base)
    test = choice.test or default_test(prepared.kind, n_ref)
    if test in NUMERIC_ONLY_TESTS and ref.kind != "numeric":
        return FeatureDrift(
            name, "unsupported_test", test=test, detail=f"{test} needs a numeric column", **base
        )
    threshold = DEFAULT_THRESHOLDS[test] if choice.threshold is None else choice.threshold
    samples = prepared.samples
    score, statistic = samples.run(test)
    scores = _every_score(samples, test, score) if all_tests else {}
    status: Status = "constant" if samples.single_value() else "ok"
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
    #: How the features were compared: `exact` (whole samples) or how they were streamed.
    method: str = "exact"

    @property
    def approximate(self) -> tuple[FeatureDrift, ...]:
        return tuple(f for f in self.features if f.approximate)

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


def order_key(f: FeatureDrift) -> tuple[int, float, str]:
    """Drifted first, then tested, then untested; by severity, then name."""
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
    return DriftReport(tuple(sorted(results, key=order_key)), drift_share)


def _union(reference: Mapping[str, Column], current: Mapping[str, Column]) -> list[str]:
    names = list(reference)
    names.extend(n for n in current if n not in reference)
    return names
