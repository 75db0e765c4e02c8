"""Metric history: `mlops-ci metrics history` against `dvc metrics show --all-commits`.

Run: python benchmarks/bench_history.py [--commits 1000] [--dvc-commits 1000] [--runs 5]

Builds git + DVC repositories whose `dvc.yaml` declares one nested JSON metrics file
(`metrics.json`, 12 metrics) and whose history is N commits on `main`, each changing the
metrics (written with one `git fast-import`). Times, in the same run:

- `mlops-ci metrics history --json --last N` as a new process (imports included), at N
  (and at the DVC size when that differs);
- `metric_history()` in-process at N;
- `dvc metrics show --all-commits --json` at the DVC size (median of at most 3 runs),

and checks that both tools report the same values for every commit. Prints a table of
medians; `--markdown` prints the docs/benchmarks.md rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops_ci.core.metrics import flatten  # noqa: E402
from mlops_ci.services.shared.metric_history import metric_history  # noqa: E402


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DVC_NO_ANALYTICS": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
    )
    return env


def _metrics(i: int) -> str:
    data = {
        "accuracy": round(0.7 + (i % 300) / 1000, 6),
        "f1": round(0.6 + (i % 350) / 1000, 6),
        "loss": round(1.0 / (i + 2), 6),
        "epochs": i,
        "eval": {
            "test": {"auc": round(0.8 + (i % 150) / 1000, 6), "precision": 0.9, "recall": 0.8},
            "train": {"auc": 0.99, "loss": round(0.5 / (i + 1), 6)},
        },
        "per_class": {"a": {"recall": round((i % 97) / 97, 6)}, "b": {"recall": 0.5}},
    }
    return json.dumps(data, indent=2) + "\n"


def build_repo(path: Path, commits: int) -> None:
    """A git + DVC repository with `commits` commits on main changing metrics.json."""
    env = _env()
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=env)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=path, check=True, env=env)
    (path / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    (path / "metrics.json").write_text(_metrics(0))
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "start"], cwd=path, check=True, env=env)
    stream = []
    start = 1_767_225_600  # 2026-01-01
    for i in range(1, commits):
        body = _metrics(i).encode()
        message = f"experiment {i}\n".encode()
        stamp = f"Bench <bench@example.com> {start + i * 60} +0000"
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"committer {stamp}\n".encode())
        stream.append(f"data {len(message)}\n".encode() + message)
        if i == 1:
            stream.append(b"from refs/heads/main^0\n")
        stream.append(f"M 100644 inline metrics.json\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=path, input=b"".join(stream), check=True, env=env
    )
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=path, check=True, env=env)


def median_wall(cmd: list[str], cwd: Path, runs: int) -> tuple[float, bytes]:
    env = _env()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=True).stdout
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - begin)
    return statistics.median(times), out


def median_call(fn: Any, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def same_answer(ours: dict[str, Any], dvc: dict[str, Any]) -> bool:
    for commit in ours["commits"]:
        entry = dvc.get(commit["sha"], {}).get("data", {}).get("metrics.json", {})
        if flatten(entry.get("data", {})) != commit["values"]:
            return False
    return len(ours["commits"]) > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=1000, help="commits for mlops-ci")
    parser.add_argument(
        "--dvc-commits", type=int, default=1000, help="commits for DVC (e.g. 100 to save time)"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    args = parser.parse_args()
    ours_cli = [sys.executable, "-m", "mlops_ci", "metrics", "history", "--json", "--last"]
    dvc_cli = [sys.executable, "-m", "dvc", "metrics", "show", "--all-commits", "--json"]
    rows: list[tuple[str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        big = Path(tmp) / "big"
        build_repo(big, args.commits)
        small = big
        if args.dvc_commits != args.commits:
            small = Path(tmp) / "small"
            build_repo(small, args.dvc_commits)
        t_cli, out = median_wall([*ours_cli, str(args.commits)], big, args.runs)
        assert len(json.loads(out)["commits"]) == args.commits
        t_fn = median_call(
            lambda: metric_history(big, "main", None, args.commits, files=["metrics.json"]),
            args.runs,
        )
        rows = [
            ("`mlops-ci metrics history --json` (new process)", args.commits, t_cli, "1.0x"),
            ("`metric_history()` (in-process)", args.commits, t_fn, ""),
        ]
        t_small, small_out = t_cli, out
        if small is not big:
            t_small, small_out = median_wall([*ours_cli, str(args.dvc_commits)], small, args.runs)
            rows.append(
                ("`mlops-ci metrics history --json` (new process)", args.dvc_commits, t_small,
                 "1.0x")
            )  # fmt: skip
        t_dvc, dvc_out = median_wall(dvc_cli, small, max(1, min(args.runs, 3)))
        agree = same_answer(json.loads(small_out), json.loads(dvc_out))
        rows.append(
            ("`dvc metrics show --all-commits --json`", args.dvc_commits, t_dvc,
             f"{t_dvc / t_small:.0f}x slower")
        )  # fmt: skip
    if args.markdown:
        print("| what | commits | median | vs the mlops-ci process at the same size |")
        print("|---|---:|---:|---|")
        for label, n, value, ratio in rows:
            print(f"| {label} | {n:,} | {value:.3f} s | {ratio or '—'} |")
        print(f"\nSame values for every commit: {'yes' if agree else 'NO'}")
        return
    width = max(len(r[0]) for r in rows)
    for label, n, value, ratio in rows:
        print(f"{label:<{width}}  {n:>6,}  {value:8.3f} s  {ratio}")
    print(f"same values for every commit: {'yes' if agree else 'NO'}")


if __name__ == "__main__":
    main()
