"""Columns of a table, and a feature's two columns prepared once for the drift tests.

A numeric column is a float64 array with NaN for missing values. A categorical
column is an integer array of codes into its own ``categories`` (``-1`` = missing);
the reference and current columns may have different category lists, they are
aligned here by label. `NumericSamples` keeps both sides sorted, `CategoricalCounts`
keeps counts per reference category plus the current rows in unseen categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlops_ci.core.drift_stats import (
    EcdfPair,
    FloatArray,
    IntArray,
    TestName,
    binned_counts,
    chisquare_from_counts,
    jensenshannon_from_counts,
    ks_test,
    normalised_wasserstein,
    psi_from_counts,
    quantile_edges,
    sorted_finite,
)

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Column:
    """One column of a table: numbers (float64, NaN = missing) or category codes."""

    kind: Kind
    values: npt.NDArray[Any]
    categories: tuple[str, ...] = ()

    @classmethod
    def numeric(cls, values: npt.ArrayLike) -> Column:
        """From numbers (NaN = missing)."""
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


class NumericSamples:
    """A numeric feature: sorted samples and everything derived from them, computed once."""

    def __init__(self, ref: FloatArray, cur: FloatArray) -> None:
        self.ref = sorted_finite(ref)
        self.cur = sorted_finite(cur)
        self.pair = EcdfPair(self.ref, self.cur)

    @cached_property
    def n_unique_ref(self) -> int:
        if not self.ref.size:
            return 0
        return int(np.count_nonzero(self.ref[1:] != self.ref[:-1])) + 1

    @cached_property
    def bins(self) -> tuple[IntArray, IntArray]:
        edges = quantile_edges(self.ref)
        return binned_counts(self.ref, edges), binned_counts(self.cur, edges)

    def as_categorical(self) -> CategoricalCounts:
        """Counts per distinct reference value, for few-valued numeric columns."""
        ref_counts, cur_counts, other = _value_counts(np.unique(self.ref), self.ref, self.cur)
        unseen = np.array([other] if other else [], dtype=np.int64)
        return CategoricalCounts(ref_counts, cur_counts, unseen)

    def single_value(self) -> bool:
        """Both sides hold one and the same value."""
        return bool(self.ref[0] == self.ref[-1] == self.cur[0] == self.cur[-1])

    def run(self, test: TestName) -> tuple[float, float | None]:
        """(score, statistic) of one test."""
        if test == "ks":
            d, p = ks_test(self.pair)
            return p, d
        if test == "wasserstein":
            return normalised_wasserstein(self.pair), self.pair.wasserstein()
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


class CategoricalCounts:
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
    def from_columns(cls, ref: Column, cur: Column) -> CategoricalCounts:
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
        """(score, statistic) of one test."""
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


def missing_share(column: Column) -> float:
    """The share of a column's rows that are missing (NaN, or code -1)."""
    n = len(column)
    if n == 0:
        return 0.0
    if column.kind == "numeric":
        missing = int(np.count_nonzero(np.isnan(column.values)))
    else:
        missing = int(np.count_nonzero(column.values < 0))
    return missing / n
