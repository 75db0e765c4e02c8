"""Run every benchmark side by side with its anchor, and record the results.

    python -m benchmarks                 # run all, print each table
    python -m benchmarks --write         # ... and refresh the tables in docs/benchmarks.md
    python -m benchmarks --only registry --only report

Each benchmark is its own script (`bench_*.py`, runnable alone with more options) that
times mlops-ci and the peer doing the same job on the same input in one run. This
runner calls them one after another (never in parallel: they would disturb each other's
timings), prints their output, and with `--write` replaces the block between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in docs/benchmarks.md with the output
of that run, under a line naming the machine, the versions and the command. The prose
around the blocks is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"

# name -> arguments of its script (defaults sized for the targets in docs/benchmarks.md).
BENCHMARKS: dict[str, list[str]] = {
    "cli": ["bench_cli.py", "--runs", "21"],
    "registry": ["bench_registry.py", "--sizes", "1000", "10000", "--runs", "3"],
    "report": ["bench_report.py", "--repeat", "5"],
    "history": ["bench_history.py", "--runs", "5"],
    "drift": ["bench_drift.py", "--repeat", "3"],
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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{dt.date.today().isoformat()}: {os.cpu_count()} cores, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; {versions}; "
        f"load average at start {load:.1f}"
    )


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


def write_block(text: str, name: str, output: str, header: str) -> str:
    """Replace the marked block of `name` (or append one) with this run's output."""
    script_args = " ".join(BENCHMARKS[name])
    block = (
        f"<!-- bench:{name} -->\n"
        f"Last run by `python -m benchmarks --only {name} --write` "
        f"(`python benchmarks/{script_args}`), {header}:\n\n"
        f"```text\n{output}\n```\n"
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
    args = parser.parse_args()
    header = machine_line()
    print(header)
    failed = []
    text = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else "# Benchmarks\n"
    for name in args.only or list(BENCHMARKS):
        code, output = run_one(name, [])
        if code != 0:
            failed.append(name)
            continue
        text = write_block(text, name, output, header)
    if args.write:
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
