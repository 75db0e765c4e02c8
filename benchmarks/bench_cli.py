"""Cold start: `mlops-ci --help` against `gto --help` and `dvc --version`, side by side.

Run: python benchmarks/bench_cli.py [--runs N]
Prints a table of medians and ratios; `--markdown` prints the docs/benchmarks.md rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _command(name: str, *args: str) -> list[str] | None:
    exe = BIN / name
    if exe.exists():
        return [str(exe), *args]
    found = shutil.which(name)
    return [found, *args] if found else None


def median_wall(cmd: list[str], runs: int) -> float:
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    subprocess.run(cmd, capture_output=True, env=env, check=False)  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11, help="runs per command (median reported)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    args = parser.parse_args()
    cases = {
        "mlops-ci --help": _command("mlops-ci", "--help"),
        "gto --help": _command("gto", "--help"),
        "dvc --version": _command("dvc", "--version"),
    }
    ours = median_wall(cases["mlops-ci --help"] or [], args.runs)
    rows = []
    for label, cmd in cases.items():
        if cmd is None:
            rows.append((label, None, None))
            continue
        value = ours if label == "mlops-ci --help" else median_wall(cmd, args.runs)
        rows.append((label, value, value / ours))
    for label, value, ratio in rows:
        if value is None:
            print(
                f"| {label} | not installed | |" if args.markdown else f"{label:18} not installed"
            )
        elif args.markdown:
            print(f"| `{label}` | {value:.3f} s | {ratio:.1f}x |")
        else:
            print(f"{label:18} median {value:.3f} s   {ratio:5.1f}x of mlops-ci --help")
    budget = 0.2
    verdict = "within" if ours <= budget else "OVER"
    print(f"mlops-ci --help: {ours:.3f} s, {verdict} the {budget} s budget")


if __name__ == "__main__":
    main()
