"""Run every benchmark side by side with its anchor, and record the results.

    python -m benchmarks                 # run all, print each table
    python -m benchmarks --write         # ... and refresh the tables in docs/benchmarks.md
    python -m benchmarks --only registry --only report
    python -m benchmarks --only report --tries 2 --write   # keep the quieter of two runs

Each benchmark is its own script (`bench_*.py`, runnable alone with more options) that
times mlops-ci and the peer doing the same job on the same input in one run. This
runner calls them one after another (never in parallel: they would disturb each other's
timings), prints their output, and with `--write` replaces the block between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md with the output
of that run, under a line naming the machine, the versions, the command and the load
average before and after that benchmark. With `--tries N` each benchmark runs N times and
the run with the lowest load average (the mean of before and after) is kept: the machines
are shared, and a quieter run is the truer one. The prose around the blocks is kept. A
benchmark that prints a Markdown table (its output has lines starting with `|`) is written
as Markdown, the others as text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"

# name -> arguments of its script (defaults sized for the targets in docs/benchmarks.md).
BENCHMARKS: dict[str, list[str]] = {
    "cli": ["bench_cli.py", "--runs", "21"],
    "registry": ["bench_registry.py", "--sizes", "1000", "10000", "--runs", "3"],
    "report": ["bench_report.py", "--repeat", "7"],
    "data-diff": ["bench_data_diff.py", "--runs", "5"],
    "history": ["bench_history.py", "--runs", "5"],
    "drift": ["bench_drift.py", "--repeat", "3"],
    # The whole `mlops-ci monitor` command as a new process on Parquet (exact path).
    "monitor": ["bench_monitor.py", "--rows", "1000000", "--repeat", "3"],
    # `mlops-ci predict` on 10M rows as a new process, against a pandas chunk loop.
    "batch-predict": ["bench_batch_predict.py", "--rows", "10000000", "--repeat", "3"],
    # `mlops-ci serve` against `mlflow models serve` (MLflow from $MLOPS_CI_BENCH_MLFLOW).
    "serving": ["bench_serving.py", "--repeat", "3"],
}


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_line() -> str:
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("mlops-ci", "dvc", "gto", "numpy", "scipy", "pydantic", "PyGithub")
    )
    return (
        f"{dt.date.today().isoformat()}: {os.cpu_count()} cores, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; {versions}"
    )


def load_average() -> float:
    """The 1-minute load average (NaN where the system has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


@dataclass
class Run:
    code: int
    output: str
    load_before: float
    load_after: float

    @property
    def load(self) -> float:
        return (self.load_before + self.load_after) / 2

    def load_text(self) -> str:
        return f"load average {self.load_before:.1f} before, {self.load_after:.1f} after"


def run_best(name: str, tries: int) -> Run:
    """Run `name` `tries` times; keep the successful run with the lowest load."""
    runs = []
    for attempt in range(tries):
        before = load_average()
        code, output = run_one(name, [])
        runs.append(Run(code, output, before, load_average()))
        print(f"-- {name} run {attempt + 1}/{tries}: exit {code}, {runs[-1].load_text()}")
    ok = [r for r in runs if r.code == 0]
    return min(ok, key=lambda r: r.load) if ok else runs[-1]


def run_one(name: str, extra: list[str]) -> tuple[int, str]:
    script, *args = BENCHMARKS[name]
    command = [sys.executable, str(HERE / script), *args, *extra]
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    evidently = os.environ.get("MLOPS_CI_BENCH_EVIDENTLY_PYTHON")
    if name == "drift" and evidently:
        command += ["--evidently-python", evidently]
    shown = " ".join(["python", f"benchmarks/{script}", *args, *extra])
    print(f"== {name}: {shown}")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = result.stdout.rstrip()
    print(output)
    if result.returncode != 0:
        print(result.stderr.rstrip()[-2000:], file=sys.stderr)
    return result.returncode, output


def write_block(text: str, name: str, output: str, header: str, tries: int = 1) -> str:
    """Replace the marked block of `name` (or append one) with this run's output."""
    script_args = " ".join(BENCHMARKS[name])
    markdown = any(line.startswith("|") for line in output.splitlines())
    body = f"{output}\n\n" if markdown else f"```text\n{output}\n```\n"
    block = (
        f"<!-- bench:{name} -->\n"
        f"Last run by `python -m benchmarks --only {name} --write"
        f"{f' --tries {tries}' if tries > 1 else ''}` "
        f"(`python benchmarks/{script_args}`), {header}:\n\n"
        f"{body}"
        f"<!-- /bench:{name} -->"
    )
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run only these (repeatable)"
    )
    parser.add_argument("--write", action="store_true", help="refresh docs/benchmarks.md")
    parser.add_argument(
        "--tries", type=int, default=1, help="runs per benchmark; the least loaded is kept"
    )
    args = parser.parse_args()
    header = machine_line()
    print(header)
    failed = []
    blocks: dict[str, tuple[str, str]] = {}
    for name in args.only or list(BENCHMARKS):
        best = run_best(name, max(1, args.tries))
        if best.code != 0:
            failed.append(name)
            continue
        blocks[name] = (best.output, f"{header}; {best.load_text()}")
    if args.write:
        # Read the page only now: it may have been edited while the benchmarks ran.
        text = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else "# Benchmarks\n"
        for name, (output, line) in blocks.items():
            text = write_block(text, name, output, line, args.tries)
        tmp = DOCS.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, DOCS)
        print(f"wrote {DOCS}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
