"""Drift detection at scale, side by side: ours, a per-column scipy.stats loop, Evidently.

Input: reference and current tables of N rows (default 1,000,000) × 20 numeric and
5 categorical features; in the current table 5 numeric columns are shifted and 1
categorical column is re-weighted. Every contender computes every test it has on
every column (ours: PSI, KS, Wasserstein, chi-squared, Jensen–Shannon where they
apply; the scipy loop: the same tests with scipy.stats, PSI with numpy; Evidently:
its data drift preset with default settings).

Each contender runs in its own process (so peak RSS is its own): the table is
generated there, then the detection is timed `--repeat` times (median reported).
Memory: peak RSS of the process (`resource.getrusage`) and the peak of Python/numpy
allocations during detection above the frames (`tracemalloc`), both as a ratio of
the two frames' in-memory size.

    python benchmarks/bench_drift.py                      # ours and the scipy loop
    python benchmarks/bench_drift.py --evidently-python /tmp/evenv/bin/python

Evidently needs pandas<3: make a separate environment for it, e.g.
`python -m venv /tmp/evenv && /tmp/evenv/bin/pip install evidently 'pandas<3'`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NUMERIC = 20
CATEGORICAL = 5
CATEGORIES = 12
SHIFTED_NUMERIC = (0, 4, 8, 12, 16)
SHIFTED_CATEGORICAL = (2,)
SEED = 20240601


def make_tables(rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(reference, current) as dicts of numpy arrays: float64 and int64 category codes."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    reference: dict[str, Any] = {}
    current: dict[str, Any] = {}
    for i in range(NUMERIC):
        reference[f"num_{i:02d}"] = rng.normal(0.0, 1.0, rows)
        shift = 0.3 if i in SHIFTED_NUMERIC else 0.0
        current[f"num_{i:02d}"] = rng.normal(shift, 1.0, rows)
    base = np.linspace(1.0, 2.0, CATEGORIES)
    base /= base.sum()
    moved = base[::-1].copy()
    for i in range(CATEGORICAL):
        reference[f"cat_{i}"] = rng.choice(CATEGORIES, rows, p=base).astype(np.int64)
        weights = moved if i in SHIFTED_CATEGORICAL else base
        current[f"cat_{i}"] = rng.choice(CATEGORIES, rows, p=weights).astype(np.int64)
    return reference, current


def frames_bytes(reference: dict[str, Any], current: dict[str, Any]) -> int:
    return sum(a.nbytes for a in reference.values()) + sum(a.nbytes for a in current.values())


def peak_rss_bytes() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# --- contenders, each run in a child process ---------------------------------------------


def run_ours(reference: dict[str, Any], current: dict[str, Any]) -> list[str]:
    from mlops_ci.core.drift import Column, detect_drift

    labels = tuple(f"c{j}" for j in range(CATEGORIES))

    def column(name: str, values: Any) -> Column:
        if name.startswith("cat_"):
            return Column("categorical", values, labels)
        return Column("numeric", values)

    ref = {k: column(k, v) for k, v in reference.items()}
    cur = {k: column(k, v) for k, v in current.items()}
    report = detect_drift(ref, cur, all_tests=True)
    return sorted(f.name for f in report.drifted)


def run_scipy(reference: dict[str, Any], current: dict[str, Any]) -> list[str]:
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    drifted = []
    for name, ref in reference.items():
        cur = current[name]
        if name.startswith("cat_"):
            r = np.bincount(ref, minlength=CATEGORIES).astype(float)
            c = np.bincount(cur, minlength=CATEGORIES).astype(float)
            stats.chisquare(c, r / r.sum() * c.sum())
            score = float(jensenshannon(r, c))
        else:
            stats.ks_2samp(ref, cur)
            edges = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
            edges = np.concatenate([[-np.inf], np.unique(edges), [np.inf]])
            r = np.histogram(ref, edges)[0] / ref.size
            c = np.histogram(cur, edges)[0] / cur.size
            r = np.where(r == 0, 1e-4, r)
            c = np.where(c == 0, 1e-4, c)
            float(np.sum((c - r) * np.log(c / r)))
            score = float(stats.wasserstein_distance(ref, cur) / np.std(ref))
        if score > 0.1:
            drifted.append(name)
    return sorted(drifted)


def child(kind: str, rows: int, repeat: int) -> dict[str, Any]:
    import tracemalloc

    import numpy as np  # noqa: F401 - imported before the baseline is taken

    if kind == "ours":
        import scipy.special
        import scipy.stats

        import mlops_ci.core.drift  # noqa: F401
    else:
        import scipy.spatial.distance
        import scipy.stats  # noqa: F401
    reference, current = make_tables(rows)
    size = frames_bytes(reference, current)
    fn = run_ours if kind == "ours" else run_scipy
    times = []
    traced_peak = 0
    drifted: list[str] = []
    for i in range(repeat):
        if i == 0:
            tracemalloc.start()
        start = time.perf_counter()
        drifted = fn(reference, current)
        times.append(time.perf_counter() - start)
        if i == 0:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return {
        "kind": kind,
        "seconds": statistics.median(times[1:] if len(times) > 2 else times),
        "times": times,
        "frames_bytes": size,
        "peak_rss_bytes": peak_rss_bytes(),
        "traced_peak_bytes": traced_peak,
        "drifted": drifted,
    }


EVIDENTLY_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
from bench_drift import make_tables, frames_bytes, CATEGORIES
rows = int(sys.argv[2])
reference, current = make_tables(rows)
size = frames_bytes(reference, current)
def frame(table):
    data = {}
    for name, values in table.items():
        if name.startswith("cat_"):
            data[name] = pd.Categorical.from_codes(values, [f"c{j}" for j in range(CATEGORIES)])
        else:
            data[name] = values
    return pd.DataFrame(data)
ref, cur = frame(reference), frame(current)
start = time.perf_counter()
result = Report([DataDriftPreset()]).run(cur, ref).dict()
seconds = time.perf_counter() - start
drifted = []
for metric in result["metrics"]:
    config = metric.get("config", {})
    if config.get("type", "").endswith("ValueDrift"):
        value, threshold = metric["value"], config["threshold"]
        is_p = "p_value" in config.get("method", "")
        if (value < threshold) if is_p else (value > threshold):
            drifted.append(config["column"])
print(json.dumps({
    "kind": "evidently", "seconds": seconds, "times": [seconds], "frames_bytes": size,
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "traced_peak_bytes": None, "drifted": sorted(drifted),
}))
"""


def spawn(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender")
    parser.add_argument("--evidently-python", help="python of an environment with evidently")
    parser.add_argument("--skip-scipy", action="store_true", help="skip the scipy loop")
    parser.add_argument("--child", choices=["ours", "scipy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.repeat)))
        return
    here = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=str(here.parent), DVC_NO_ANALYTICS="1")
    me = [sys.executable, str(Path(__file__).resolve())]
    results = [
        spawn([*me, "--child", "ours", "--rows", str(args.rows), "--repeat", str(args.repeat)], env)
    ]
    if not args.skip_scipy:
        results.append(
            spawn(
                [*me, "--child", "scipy", "--rows", str(args.rows), "--repeat", str(args.repeat)],
                env,
            )
        )
    if args.evidently_python:
        results.append(
            spawn([args.evidently_python, "-c", EVIDENTLY_SCRIPT, str(here), str(args.rows)])
        )
    ours = results[0]["seconds"]
    size = results[0]["frames_bytes"]
    print(
        f"{args.rows:,} rows x {NUMERIC} numeric + {CATEGORICAL} categorical; "
        f"two frames = {size / 2**20:.0f} MiB"
    )
    print(
        f"{'contender':<12} {'median s':>9} {'x ours':>7} {'peak RSS':>10} "
        f"{'RSS/frames':>10} {'traced/frames':>13}  drifted"
    )
    for r in results:
        traced = r["traced_peak_bytes"]
        print(
            f"{r['kind']:<12} {r['seconds']:>9.2f} {r['seconds'] / ours:>7.1f} "
            f"{r['peak_rss_bytes'] / 2**20:>8.0f} M {r['peak_rss_bytes'] / size:>10.2f} "
            f"{(traced / size if traced is not None else float('nan')):>13.2f}  "
            f"{','.join(r['drifted'])}"
        )


if __name__ == "__main__":
    main()
