"""Cold start, as new processes: `mlops-ci --help` and `mlops-ci report --no-run`.

- `mlops-ci --help` against `gto --help` and `dvc --version`, side by side
  (budget: 0.1 s);
- `mlops-ci report --no-run --publish none` on the report benchmark's repository
  (10,000 metrics and 1,000 params at a base and a head commit; budget: 0.5 s).

Every process starts with compiled bytecode available, as an installed package has it:
`PYTHONDONTWRITEBYTECODE` is dropped and `PYTHONPYCACHEPREFIX` points at a temporary
directory (the source tree is not written to), and one warm-up run fills it.

Run: python benchmarks/bench_cli.py [--runs N] [--metrics N] [--params N] [--no-report]
Prints medians (wall and CPU) and ratios; `--markdown` prints the rows as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
HELP_BUDGET = 0.1
REPORT_BUDGET = 0.5


def _command(name: str, *args: str) -> list[str] | None:
    exe = BIN / name
    if exe.exists():
        return [str(exe), *args]
    found = shutil.which(name)
    return [found, *args] if found else None


def _environment(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(DVC_NO_ANALYTICS="1", PYTHONPYCACHEPREFIX=str(pycache))
    return env


@dataclass(frozen=True)
class Timing:
    """Medians of one command: wall time, and CPU time (user + system), which a machine
    busy with other work inflates much less."""

    wall: float
    cpu: float


def median_wall(cmd: list[str], runs: int, env: dict[str, str], cwd: Path | None = None) -> Timing:
    # Warm-up: the page cache and the bytecode cache; it must succeed.
    subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return Timing(statistics.median(walls), statistics.median(cpus))


def _row(label: str, value: Timing | None, ours: Timing, markdown: bool) -> str:
    if value is None:
        return f"| `{label}` | not installed | | |" if markdown else f"{label:44} not installed"
    ratio = value.wall / ours.wall
    if markdown:
        return f"| `{label}` | {value.wall:.3f} s | {value.cpu:.3f} s | {ratio:.1f}x |"
    return (
        f"{label:44} median {value.wall:.3f} s (CPU {value.cpu:.3f} s)"
        f"   {ratio:5.1f}x of mlops-ci --help"
    )


def _verdict(label: str, value: Timing, budget: float) -> str:
    verdict = "within" if value.wall <= budget else "OVER"
    return f"{label}: {value.wall:.3f} s, {verdict} the {budget} s budget"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per command (median reported)")
    parser.add_argument("--metrics", type=int, default=10_000, help="metrics in the report repo")
    parser.add_argument("--params", type=int, default=1_000, help="params in the report repo")
    parser.add_argument("--no-report", action="store_true", help="time the help commands only")
    parser.add_argument("--markdown", action="store_true", help="print Markdown table rows")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        env = _environment(Path(tmp) / "pycache")
        ours_cmd = _command("mlops-ci") or [sys.executable, "-m", "mlops_ci"]
        ours = median_wall([*ours_cmd, "--help"], args.runs, env)
        rows: list[tuple[str, Timing | None]] = [("mlops-ci --help", ours)]
        for label, cmd in (
            ("gto --help", _command("gto", "--help")),
            ("dvc --version", _command("dvc", "--version")),
        ):
            rows.append((label, None if cmd is None else median_wall(cmd, args.runs, env)))
        report: Timing | None = None
        if not args.no_report:
            from bench_report import build

            root = Path(tmp) / "repo"
            base = build(root, args.metrics, args.params)
            report_cmd = [*ours_cmd, "report", "--no-run", "--publish", "none", "--base", base]
            report = median_wall(report_cmd, args.runs, env, cwd=root)
            rows.append((f"mlops-ci report --no-run ({args.metrics:,} metrics)", report))

    if args.markdown:
        print("| command | median wall | median CPU | vs `mlops-ci --help` |\n|---|---|---|---|")
    for label, value in rows:
        print(_row(label, value, ours, args.markdown))
    print(_verdict("mlops-ci --help", ours, HELP_BUDGET))
    if report is not None:
        print(_verdict("mlops-ci report --no-run --publish none", report, REPORT_BUDGET))


if __name__ == "__main__":
    main()
