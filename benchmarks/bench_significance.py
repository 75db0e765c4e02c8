"""Paired bootstrap intervals of metric deltas, side by side with scipy.stats.bootstrap.

A binary classifier's per-example rows at base and head (`--examples` rows: label,
predicted label, probability of the positive class). mlops-ci recomputes six metrics
(accuracy, precision, recall, F1, ROC AUC, log loss) and their deltas' 95% intervals in
one pass over `--resamples` resamples (`core.significance.bootstrap_deltas`); scipy runs
`bootstrap(paired=True, method="percentile")` once per metric with a vectorised
statistic for the three cheap ones (accuracy, log loss: a mean; F1: counts) — ROC AUC,
precision and recall are left out of scipy's side, so its time is a lower bound for the
same answer. Both use the same seed; the intervals of the metrics both compute are
compared (they must agree to 1e-6).

Median wall time of `--repeat` runs, in-process (imports done).

Run: python benchmarks/bench_significance.py [--examples 10000] [--resamples 9999] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlops_ci.core.significance import Columns, bootstrap_deltas, pair_examples


def _data(n: int) -> tuple[Any, ...]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    base = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    head = np.clip(0.32 * y + 0.68 * rng.random(n), 0, 1)
    return y, base, head


def _rows(y: Any, score: Any) -> list[dict[str, Any]]:
    return [
        {"label": int(a), "prediction": int(s >= 0.5), "score": float(s)}
        for a, s in zip(y, score, strict=True)
    ]


def _accuracy(t: Any, s: Any, axis: int) -> Any:
    return np.mean(t == (s >= 0.5), axis=axis)


def _log_loss(t: Any, s: Any, axis: int) -> Any:
    eps = np.finfo(np.float64).eps
    p = np.clip(s, eps, 1 - eps)
    return -np.mean(np.where(t == 1, np.log(p), np.log1p(-p)), axis=axis)


def _f1(t: Any, s: Any, axis: int) -> Any:
    p = s >= 0.5
    tp = np.sum(p & (t == 1), axis=axis)
    wrong = np.sum(p != (t == 1), axis=axis)
    return 2 * tp / (2 * tp + wrong)


SCIPY = {"accuracy": _accuracy, "log_loss": _log_loss, "f1": _f1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=9999)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    y, base, head = _data(args.examples)
    rows = _rows(y, base), _rows(y, head)
    ours_times, scipy_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        examples = pair_examples(*rows, Columns("label", "prediction", "score"))
        ours = bootstrap_deltas(examples, resamples=args.resamples, confidence=0.95, seed=1)
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs = {}
        for name, metric in SCIPY.items():
            theirs[name] = stats.bootstrap(
                (y, base, head),
                lambda t, b, h, axis, m=metric: m(t, h, axis) - m(t, b, axis),
                paired=True,
                n_resamples=args.resamples,
                method="percentile",
                batch=max(1, (1 << 22) // args.examples),
                rng=np.random.default_rng(1),
            ).confidence_interval
        scipy_times.append(time.perf_counter() - start)
        for name, interval in theirs.items():
            got = ours[name]
            if abs(got.low - interval.low) > 1e-6 or abs(got.high - interval.high) > 1e-6:
                raise SystemExit(f"{name}: {got.low, got.high} != {interval}")
    print(f"{args.examples} examples, {args.resamples} resamples, median of {args.repeat}")
    print("| tool | metrics | wall |")
    print("|---|---|--:|")
    print(f"| mlops-ci | 6 (incl. ROC AUC) | {statistics.median(ours_times):.2f} s |")
    print(f"| scipy.stats.bootstrap | 3 (accuracy, F1, log loss) | "
          f"{statistics.median(scipy_times):.2f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
