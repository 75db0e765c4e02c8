"""PR report as users run it, side by side with DVC on the same repository and revisions.

A git + DVC repository with 10,000 metrics (nested JSON), 1,000 params (nested YAML),
20 gates, and DVC-tracked data: 50 files and 2 directories of 1,000 files each, added
with `dvc add` (the `.dvc` files committed, the local cache filled). The head commit
changes most metrics and params and the data (a fifth of the files modified; in each
directory 5% of the files modified, 5% deleted, 5% added, one renamed). The report's
data diff is on (the default).

Each round runs, as new processes and in alternating order:

- `mlops-ci report --no-run --publish none --base BASE --output TMP`;
- `dvc metrics diff --json BASE` + `dvc params diff --json BASE` + `dvc diff --json
  BASE` (the three answers the report gives in one; their times summed per round).

Medians over `--repeat` rounds (wall and CPU time of the process). A secondary row
times the report in-process (`generate_report`, imports done). A sanity check (not
timed) compares the changed data paths in `report.json` with `dvc diff --json`'s.

Processes start with compiled bytecode available, as an installed package has it
(`PYTHONPYCACHEPREFIX` points at a temporary directory; one warm-up round fills it).

Run: python benchmarks/bench_report.py [--metrics 10000] [--params 1000] [--files 50]
     [--dir-files 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data_diff import change_data, normalise, track_data

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
BIN = Path(sys.executable).parent
REPORT_BUDGET = 0.5
RATIO_TARGET = 5.0
DVC_COMMANDS = (("metrics", "diff"), ("params", "diff"), ("diff",))


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        args, cwd=cwd, env=env or ENV, check=True, capture_output=True, text=True
    ).stdout


def nested(count: int, seed: int, width: int = 100) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    groups: dict[str, dict[str, float]] = {}
    for i in range(count):
        groups.setdefault(f"group_{i // width:03d}", {})[f"metric_{i % width:03d}"] = round(
            rng.random(), 6
        )
    return groups


def yaml_params(count: int, seed: int) -> str:
    lines = []
    for group, values in nested(count, seed, width=50).items():
        lines.append(f"{group}:")
        lines.extend(f"  {key}: {value}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def build(root: Path, metrics: int, params: int, files: int = 50, dir_files: int = 1000) -> str:
    """The report's repository at its head commit (checked out); returns the base commit.

    With `files=0, dir_files=0` it tracks no data (the data diff finds nothing)."""
    root.mkdir(parents=True)
    env = {**ENV, "DVC_SITE_CACHE_DIR": str(root.parent / "dvc-site-cache")}
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root, env)
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\nparams:\n  - params.yaml\n")
    gates = "\n".join(f"    group_000.metric_{i:03d}:\n      max_drop: 0.5" for i in range(20))
    (root / "mlops-ci.yaml").write_text(f"metrics:\n  gates:\n{gates}\n")
    (root / ".gitignore").write_text(".mlops-ci/\n")
    (root / "metrics.json").write_text(json.dumps(nested(metrics, 1)))
    (root / "params.yaml").write_text(yaml_params(params, 2))
    if files or dir_files:
        track_data(root, env, files, dir_files)
    run(["git", *GIT_ID, "add", "-A"], root)
    run(["git", *GIT_ID, "commit", "-q", "-m", "base"], root)
    base = run(["git", "rev-parse", "HEAD"], root).strip()
    run(["git", "checkout", "-q", "-b", "pr"], root)
    (root / "metrics.json").write_text(json.dumps(nested(metrics, 3)))
    (root / "params.yaml").write_text(yaml_params(params, 4))
    if files or dir_files:
        change_data(root, env, files, dir_files)
    run(["git", *GIT_ID, "add", "-A"], root)
    run(["git", *GIT_ID, "commit", "-q", "-m", "head"], root)
    return base


def _tool(name: str) -> list[str]:
    exe = BIN / name
    if exe.exists():
        return [str(exe)]
    module = "mlops_ci" if name == "mlops-ci" else name
    return [sys.executable, "-m", module]


def process_env(pycache: Path, site_cache: Path) -> dict[str, str]:
    """A local run's environment: no CI or GitHub variables; bytecode cached aside."""
    env = {k: v for k, v in ENV.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(PYTHONPYCACHEPREFIX=str(pycache), DVC_SITE_CACHE_DIR=str(site_cache))
    return env


@dataclass
class Sample:
    wall: float
    cpu: float
    stdout: str


def timed_process(cmd: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Sample(wall, cpu, proc.stdout)


@dataclass
class Rounds:
    ours: list[Sample]
    dvc: list[list[Sample]]  # per round: one sample per DVC command


def rounds(root: Path, base: str, out: Path, env: dict[str, str], repeat: int) -> Rounds:
    """One warm-up round, then `repeat` rounds; the contenders alternate who goes first."""
    ours_cmd = [*_tool("mlops-ci"), "report", "--no-run", "--publish", "none",
                "--base", base, "--output", str(out)]  # fmt: skip
    dvc_cmds = [[*_tool("dvc"), *sub, "--json", base] for sub in DVC_COMMANDS]

    def ours() -> Sample:
        return timed_process(ours_cmd, root, env)

    def dvc() -> list[Sample]:
        return [timed_process(cmd, root, env) for cmd in dvc_cmds]

    ours(), dvc()  # warm-up: page cache, bytecode
    result = Rounds([], [])
    for i in range(repeat):
        if i % 2:
            result.dvc.append(dvc())
            result.ours.append(ours())
        else:
            result.ours.append(ours())
            result.dvc.append(dvc())
    return result


def in_process(root: Path, base: str, out: Path, repeat: int) -> tuple[float, int, Any]:
    """Median of `generate_report` in this process (imports done), the comment's length
    and the document."""
    from mlops_ci.services.report import ReportRequest, generate_report
    from mlops_ci.services.shared.job import Job

    env = {k: v for k, v in ENV.items() if not k.startswith("GITHUB_") and k != "CI"}
    request = ReportRequest(root=root, base=base, run=False, publish="none", output=out)
    job = Job.from_environ(env)
    outcome = generate_report(request, job)  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        generate_report(request, job)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), len(outcome.markdown), outcome.document


def report_data_paths(report_json: Path) -> dict[str, list[Any]]:
    """`report.json`'s data entries in the shape `normalise` gives `dvc diff --json`."""
    data = json.loads(report_json.read_text("utf-8"))["data"]
    shaped: dict[str, list[dict[str, Any]]] = {}
    for entry in data["entries"]:
        path: Any = entry["path"]
        if entry["status"] == "renamed":
            old, new = path.split(" → ")
            path = {"old": old, "new": new}
        shaped.setdefault(entry["status"], []).append({"path": path})
    return normalise(shaped)


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def table(result: Rounds, inproc: float) -> tuple[list[str], float, float]:
    ours_wall = _median([s.wall for s in result.ours])
    ours_cpu = _median([s.cpu for s in result.ours])
    dvc_wall = _median([sum(s.wall for s in r) for r in result.dvc])
    dvc_cpu = _median([sum(s.cpu for s in r) for r in result.dvc])
    ratio = dvc_wall / ours_wall
    lines = [
        "| what | median wall | median CPU | vs DVC's three |",
        "|---|---:|---:|---:|",
        f"| `mlops-ci report --no-run --publish none` (new process) | {ours_wall:.3f} s "
        f"| {ours_cpu:.3f} s | {ratio:.1f}x faster |",
        f"| `dvc metrics diff` + `dvc params diff` + `dvc diff` (`--json`, 3 processes) "
        f"| {dvc_wall:.3f} s | {dvc_cpu:.3f} s | 1.0x |",
    ]
    for i, sub in enumerate(DVC_COMMANDS):
        wall = _median([r[i].wall for r in result.dvc])
        cpu = _median([r[i].cpu for r in result.dvc])
        lines.append(f"| … of which `dvc {' '.join(sub)} --json` | {wall:.3f} s | {cpu:.3f} s | |")
    lines.append(
        f"| report in-process (`generate_report`, imports done) | {inproc:.3f} s | | "
        f"{dvc_wall / inproc:.1f}x faster |"
    )
    return lines, ours_wall, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=1_000)
    parser.add_argument("--files", type=int, default=50, help="tracked files")
    parser.add_argument("--dir-files", type=int, default=1000, help="files per tracked dir")
    parser.add_argument("--repeat", type=int, default=7, help="rounds (medians)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        root = work / "repo"
        base = build(root, args.metrics, args.params, args.files, args.dir_files)
        env = process_env(work / "pycache", work / "dvc-site-cache")
        result = rounds(root, base, work / "out", env, args.repeat)
        inproc, comment, document = in_process(root, base, work / "out-inproc", args.repeat)
        ours_paths = report_data_paths(work / "out" / "report.json")
        dvc_raw = result.dvc[-1][2].stdout
        dvc_paths = normalise(json.loads(dvc_raw) if dvc_raw.strip() else {})
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines, ours_wall, ratio = table(result, inproc)
    changes = sum(len(v) for v in dvc_paths.values())
    print(
        f"Repository: {len(document.metrics):,} metrics, {len(document.params):,} params, "
        f"{args.files} tracked files + 2 tracked directories of {args.dir_files:,} files "
        f"({changes:,} data changes between base and head); data diff on. Medians of "
        f"{args.repeat} rounds, each contender a new process, alternating.\n"
    )
    print("\n".join(lines))
    same = "yes" if ours_paths == dvc_paths else "NO"
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(dvc_paths.items()))
    print(f"\n- Same changed data paths as `dvc diff --json`: {same} ({counts}).")
    print(f"- Comment length: {comment:,} characters (limit 65,536).")
    budget_ok, ratio_ok = ours_wall <= REPORT_BUDGET, ratio >= RATIO_TARGET
    print(
        f"- Targets: report process <= {REPORT_BUDGET} s: {'met' if budget_ok else 'NOT met'} "
        f"({ours_wall:.3f} s); >= {RATIO_TARGET:.0f}x faster than DVC's three commands: "
        f"{'met' if ratio_ok else 'NOT met'} ({ratio:.1f}x)."
    )


if __name__ == "__main__":
    main()
