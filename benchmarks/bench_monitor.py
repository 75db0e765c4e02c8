"""`mlops-ci monitor` as a new process on Parquet files, against a scipy loop and Evidently.

Input: a reference and a current Parquet file of N rows × 20 numeric (float64) and 5
categorical (text, 12 categories) features, written row group by row group (never held
whole in memory); in the current file 5 numeric columns are shifted by 0.3 standard
deviations and 1 categorical column is re-weighted — the distributions of
`bench_drift.py`.

Contenders, each a new process whose peak RSS is its own (`RUSAGE_CHILDREN` of a
one-shot wrapper):

* ``monitor``: ``python -m mlops_ci monitor --reference ref.parquet --current
  cur.parquet --publish none --output DIR --json`` — imports, reading, every test,
  both files written. When the two tables exceed ``monitor.max_memory`` (set with
  ``--max-memory``; default a quarter of RAM) it streams (KLL sketches).
* ``scipy``: the per-column scipy.stats loop of `bench_drift.py`, reading the same
  Parquet files with pyarrow (only at sizes that fit in memory).
* ``evidently`` (``--evidently-python``): its data drift preset on the same files
  read through pandas (only at sizes that fit in memory).

With ``--sample-check`` the exact method also runs on a 1M-row table of the same
distributions, and the drifted features of the run above are compared with it.

    python benchmarks/bench_monitor.py                        # 1M rows, exact
    python benchmarks/bench_monitor.py --rows 50000000 --repeat 1 --skip-scipy --sample-check

The data is written under a temporary directory (``--tmp``), deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NUMERIC = 20
CATEGORICAL = 5
CATEGORIES = 12
SHIFTED_NUMERIC = (0, 4, 8, 12, 16)
SHIFTED_CATEGORICAL = (2,)
SEED = 20240601
ROW_GROUP = 1_000_000
HERE = Path(__file__).resolve().parent


def write_parquet(
    path: Path, rows: int, *, current: bool, seed: int = SEED, float32: bool = False
) -> None:
    """One table, row group by row group (memory: one row group at a time).

    ``float32`` stores the numbers in 4 bytes (half the disk; read back as float64).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed + (1 if current else 0))
    base = np.linspace(1.0, 2.0, CATEGORIES)
    base /= base.sum()
    moved = base[::-1].copy()
    labels = pa.array([f"c{j}" for j in range(CATEGORIES)])
    names = [f"num_{i:02d}" for i in range(NUMERIC)] + [f"cat_{i}" for i in range(CATEGORICAL)]
    writer: Any = None
    try:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            arrays: list[Any] = []
            for i in range(NUMERIC):
                shift = 0.3 if current and i in SHIFTED_NUMERIC else 0.0
                values = rng.normal(shift, 1.0, n)
                arrays.append(pa.array(values.astype(np.float32) if float32 else values))
            for i in range(CATEGORICAL):
                weights = moved if current and i in SHIFTED_CATEGORICAL else base
                codes = rng.choice(CATEGORIES, n, p=weights).astype(np.int32)
                arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes), labels))
            batch = pa.table(arrays, names=names)
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="snappy")
            writer.write_table(batch, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()


def table_bytes(rows: int) -> int:
    """The two tables in memory as the exact method holds them: 8 bytes a value."""
    return 2 * rows * (NUMERIC + CATEGORICAL) * 8


WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "seconds": seconds, "code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
    "peak_rss_bytes": usage.ru_maxrss * 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime,
}))
"""


def measured(
    argv: list[str], env: dict[str, str], cwd: Path | None = None, ok: tuple[int, ...] = (0, 2)
) -> dict[str, Any]:
    """Run `argv` as a new process (in `cwd`); its wall time, output and peak RSS. An
    exit code outside `ok` (monitor's 2 is a drift verdict, not a failure) raises."""
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        capture_output=True, text=True, env=env, cwd=cwd, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(proc.stdout)
    if result["code"] not in ok:
        raise RuntimeError(f"{argv[:4]} failed:\n{result['stderr'][-2000:]}")
    return result


def monitor_argv(work: Path, ref: Path, cur: Path, out: str) -> list[str]:
    return [
        sys.executable, "-m", "mlops_ci", "monitor", "--root", str(work),
        "--reference", str(ref), "--current", str(cur),
        "--publish", "none", "--output", str(work / out), "--json",
    ]  # fmt: skip


def run_monitor(
    work: Path, ref: Path, cur: Path, repeat: int, env: dict[str, str], out: str = "out"
) -> dict[str, Any]:
    runs = [measured(monitor_argv(work, ref, cur, out), env) for _ in range(repeat)]
    document = json.loads(runs[-1]["stdout"])
    return {
        "kind": "monitor",
        "seconds": statistics.median(r["seconds"] for r in runs),
        "times": [r["seconds"] for r in runs],
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "drifted": sorted(f["name"] for f in document["features"] if f["drifted"]),
        "approximate": [f["name"] for f in document["features"] if f.get("approximate")],
    }


SCIPY_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import pyarrow.parquet as pq
from bench_drift import run_scipy
start = time.perf_counter()
def table(path):
    out, read = {}, pq.read_table(path)
    for name, column in zip(read.column_names, read.columns):
        if name.startswith("cat_"):
            out[name] = column.combine_chunks().indices.to_numpy().astype(np.int64)
        else:
            out[name] = column.to_numpy()
    return out
drifted = run_scipy(table(sys.argv[2]), table(sys.argv[3]))
print(json.dumps({"drifted": drifted}))
"""

EVIDENTLY_SCRIPT = r"""
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
result = Report([DataDriftPreset()]).run(cur, ref).dict()
drifted = []
for metric in result["metrics"]:
    config = metric.get("config", {})
    if config.get("type", "").endswith("ValueDrift"):
        value, threshold = metric["value"], config["threshold"]
        is_p = "p_value" in config.get("method", "")
        if (value < threshold) if is_p else (value > threshold):
            drifted.append(config["column"])
print(json.dumps({"drifted": sorted(drifted)}))
"""


def run_script(kind: str, argv: list[str], repeat: int, env: dict[str, str]) -> dict[str, Any]:
    runs = [measured(argv, env) for _ in range(repeat)]
    return {
        "kind": kind,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "times": [r["seconds"] for r in runs],
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "drifted": json.loads(runs[-1]["stdout"].strip().splitlines()[-1])["drifted"],
        "approximate": [],
    }


def write_config(work: Path, max_memory: str | None) -> None:
    lines = ["monitor:", "  reference: ref.parquet"]
    if max_memory:
        lines.append(f"  max_memory: {max_memory}")
    (work / "mlops-ci.yaml").write_text("\n".join(lines) + "\n")


def print_table(rows: int, results: list[dict[str, Any]], sample: dict[str, Any] | None) -> None:
    size = table_bytes(rows)
    ours = results[0]["seconds"]
    print(
        f"{rows:,} rows x {NUMERIC} numeric + {CATEGORICAL} categorical (Parquet); "
        f"two tables in memory = {size / 2**20:,.0f} MiB"
    )
    print(
        f"{'contender':<10} {'median s':>9} {'cpu s':>7} {'x ours':>7} {'peak RSS':>11} "
        f"{'RSS/tables':>10}  drifted"
    )
    for r in results:
        note = " (approximate: KLL)" if r["approximate"] else ""
        print(
            f"{r['kind']:<10} {r['seconds']:>9.2f} {r['cpu_seconds']:>7.2f} "
            f"{r['seconds'] / ours:>7.1f} "
            f"{r['peak_rss_bytes'] / 2**20:>9,.0f} M {r['peak_rss_bytes'] / size:>10.2f}  "
            f"{','.join(r['drifted'])}{note}"
        )
    if sample is not None:
        same = sample["drifted"] == results[0]["drifted"]
        print(
            f"exact method on a 1,000,000-row sample of the same distributions: "
            f"{','.join(sample['drifted'])} — {'the same' if same else 'DIFFERENT'} features"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (median)")
    parser.add_argument("--max-memory", help="monitor.max_memory (e.g. 4GiB)")
    parser.add_argument("--evidently-python", help="python of an environment with evidently")
    parser.add_argument("--skip-scipy", action="store_true", help="skip the scipy loop")
    parser.add_argument("--sample-check", action="store_true", help="exact method on 1M rows")
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="where the data is written")
    parser.add_argument(
        "--float32", action="store_true", help="store numbers as float32 (half the disk)"
    )
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(HERE.parent), DVC_NO_ANALYTICS="1")
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-", dir=args.tmp))
    try:
        write_config(work, args.max_memory)
        ref, cur = work / "ref.parquet", work / "cur.parquet"
        started = time.perf_counter()
        write_parquet(ref, args.rows, current=False, float32=args.float32)
        write_parquet(cur, args.rows, current=True, float32=args.float32)
        print(f"(data written in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        results = [run_monitor(work, ref, cur, args.repeat, env)]
        if not args.skip_scipy:
            argv = [sys.executable, "-c", SCIPY_SCRIPT, str(HERE), str(ref), str(cur)]
            results.append(run_script("scipy", argv, args.repeat, env))
        if args.evidently_python:
            argv = [args.evidently_python, "-c", EVIDENTLY_SCRIPT, str(ref), str(cur)]
            results.append(run_script("evidently", argv, 1, env))
        sample = None
        if args.sample_check:
            small = work / "sample"
            small.mkdir()
            write_config(small, None)
            for name, current in (("ref.parquet", False), ("cur.parquet", True)):
                write_parquet(
                    small / name, 1_000_000, current=current, seed=SEED + 7, float32=args.float32
                )
            sample = run_monitor(small, small / "ref.parquet", small / "cur.parquet", 1, env)
        print_table(args.rows, results, sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
