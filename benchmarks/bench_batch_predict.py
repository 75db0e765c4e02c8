"""`mlops-ci predict` as a new process on a large Parquet table, against a pandas loop.

The project: the sample project (git + DVC, a random forest on the 30 features of the
breast cancer data) with v1.0.0 registered and promoted to staging, then production,
through the CLI (`released_sample.py`).

Input: N rows of the model's 30 float64 feature columns, drawn from the dataset's rows
with 2% relative noise, written row group by row group (1,000,000 rows each, snappy) —
never held whole in memory.

Contenders, each a new process whose peak RSS is its own (`RUSAGE_CHILDREN` of a
one-shot wrapper), alternating who goes first each round:

* ``predict``: ``python -m mlops_ci predict cancer-classifier --stage production --input
  big.parquet --output ours.parquet --json`` — registry lookup, the model fetched at the
  version's commit and checked against `dvc.lock`, the input's sha256, scoring in chunks
  of ``--chunk-rows``, provenance in the Parquet metadata.
* ``pandas``: the loop a user would write: ``joblib.load`` of the same model file,
  ``pyarrow.parquet.ParquetFile.iter_batches`` of the same chunk size → ``to_pandas()``
  → ``model.predict`` and ``model.predict_proba`` → the chunk with ``prediction`` and
  ``proba_<class>`` appended, written with ``pyarrow.parquet.ParquetWriter``: the same
  output columns as ours, no registry, no checks, no provenance.

A check (not timed) reads both outputs row group by row group and compares their
``prediction`` and ``proba_*`` columns value for value.

    python benchmarks/bench_batch_predict.py                       # 10M rows, 3 rounds
    python benchmarks/bench_batch_predict.py --rows 1000000 --repeat 5

Everything is written under a temporary directory (``--tmp``), deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_monitor import measured
from released_sample import MODEL, environment, model_file, released_project, resampled
from released_sample import sample_rows as dataset_rows

SEED = 20240611
ROW_GROUP = 1_000_000
CHUNK_ROWS = 100_000


def write_input(path: Path, root: Path, rows: int) -> list[str]:
    """The feature table, one row group at a time; returns the feature names."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, matrix = dataset_rows(root)
    rng = np.random.default_rng(SEED)
    writer: Any = None
    try:
        for start in range(0, rows, ROW_GROUP):
            block = resampled(matrix, min(ROW_GROUP, rows - start), rng)
            table = pa.table([pa.array(block[:, i]) for i in range(len(names))], names=names)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=ROW_GROUP)
    finally:
        if writer is not None:
            writer.close()
    return names


PANDAS_SCRIPT = r"""
import sys
import joblib
import pyarrow as pa
import pyarrow.parquet as pq

model_path, source, target, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = joblib.load(model_path)
writer = None
for batch in pq.ParquetFile(source).iter_batches(batch_size=chunk):
    frame = batch.to_pandas()
    features = frame.to_numpy()
    frame["prediction"] = model.predict(features)
    proba = model.predict_proba(features)
    for i, label in enumerate(model.classes_):
        frame[f"proba_{label}"] = proba[:, i]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if writer is None:
        writer = pq.ParquetWriter(target, table.schema)
    writer.write_table(table)
writer.close()
"""


def contenders(work: Path, root: Path, source: Path, chunk: int) -> dict[str, list[str]]:
    return {
        "predict": [
            sys.executable, "-m", "mlops_ci", "predict", MODEL, "--stage", "production",
            "--input", str(source), "--output", str(work / "predict.parquet"),
            "--chunk-rows", str(chunk), "--json", "--root", str(root),
        ],
        "pandas": [
            sys.executable, "-c", PANDAS_SCRIPT, str(model_file(root)), str(source),
            str(work / "pandas.parquet"), str(chunk),
        ],
    }  # fmt: skip


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def score_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    names = pq.ParquetFile(path).schema_arrow.names
    return [n for n in names if n == "prediction" or n.startswith("proba_")]


def same_predictions(ours: Path, theirs: Path) -> tuple[bool, int, list[str]]:
    """Both outputs' prediction and proba columns, equal value for value?"""
    import pyarrow.parquet as pq

    columns = score_columns(ours)
    if columns != score_columns(theirs):
        return False, 0, columns
    rows = 0
    ours_batches = pq.ParquetFile(ours).iter_batches(batch_size=ROW_GROUP, columns=columns)
    theirs_batches = pq.ParquetFile(theirs).iter_batches(batch_size=ROW_GROUP, columns=columns)
    for a, b in zip(ours_batches, theirs_batches, strict=True):
        if not a.equals(b):
            return False, rows, columns
        rows += a.num_rows
    return True, rows, columns


def summary(kind: str, runs: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "kind": kind,
        "seconds": seconds,
        "times": [r["seconds"] for r in runs],
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
        "rows_per_second": rows / seconds,
    }


def print_table(
    rows: int, features: int, input_bytes: int, chunk: int, results: list[dict[str, Any]]
) -> None:
    ours = results[0]["seconds"]
    memory = rows * features * 8
    print(
        f"{rows:,} rows x {features} float64 features (Parquet, {input_bytes / 2**20:,.0f} MiB "
        f"on disk, {memory / 2**20:,.0f} MiB in memory); chunks of {chunk:,} rows"
    )
    print(
        f"{'contender':<9} {'median s':>9} {'cpu s':>7} {'x ours':>7} {'rows/s':>11} "
        f"{'peak RSS':>10}  runs"
    )
    for r in results:
        times = ", ".join(f"{t:.1f}" for t in r["times"])
        print(
            f"{r['kind']:<9} {r['seconds']:>9.2f} {r['cpu_seconds']:>7.2f} "
            f"{r['seconds'] / ours:>7.2f} {r['rows_per_second']:>11,.0f} "
            f"{r['peak_rss_bytes'] / 2**20:>8,.0f} M  {times}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the input")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median)")
    parser.add_argument(
        "--chunk-rows", type=int, default=CHUNK_ROWS, help="rows scored at a time (both)"
    )
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="where the data is written")
    args = parser.parse_args()
    env = environment()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-predict-", dir=args.tmp))
    try:
        started = time.perf_counter()
        root = released_project(work / "sample", env)
        print(f"(project released in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        source = work / "big.parquet"
        started = time.perf_counter()
        names = write_input(source, root, args.rows)
        print(f"(input written in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        argvs = contenders(work, root, source, args.chunk_rows)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in argvs}
        order = list(argvs)
        for round_ in range(args.repeat):
            for name in order if round_ % 2 == 0 else order[::-1]:
                runs[name].append(measured(argvs[name], env, work, ok=(0,)))
                print(f"({name}: {runs[name][-1]['seconds']:.1f} s)", file=sys.stderr)
        outcome = json.loads(runs["predict"][-1]["stdout"])
        if outcome["rows"] != args.rows:
            raise RuntimeError(f"predict scored {outcome['rows']} rows, not {args.rows}")
        same_model = outcome["model_sha256"] == sha256(model_file(root))
        ok, compared, columns = same_predictions(work / "predict.parquet", work / "pandas.parquet")
        results = [summary(name, runs[name], args.rows) for name in argvs]
        print_table(args.rows, len(names), source.stat().st_size, args.chunk_rows, results)
        print(
            f"same model file: {'yes' if same_model else 'NO'} ({outcome['model']} "
            f"{outcome['model_version']}, sha256 {outcome['model_sha256'][:12]}); "
            f"same predictions: {'yes' if ok else 'NO'} ({', '.join(columns)}; "
            f"{compared:,} rows compared value for value)"
        )
        if not (ok and same_model):
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
