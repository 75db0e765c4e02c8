"""Registry read speed: `mlops-ci registry --json` against `gto show --json`.

Builds repositories with N annotated registry tags in one `git fast-import` (register,
assign, deregister and unassign tags over --models artifacts, counters as GTO writes them),
then times each tool as a fresh process on the same repository in the same run, and
prints medians and the ratio.

    python benchmarks/bench_registry.py                 # 1,000 side by side, 10,000 ours
    python benchmarks/bench_registry.py --sizes 100 1000 --gto-max 1000 --runs 5
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

BASE = 1_767_225_600
STAGES = ("staging", "production")


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        DVC_NO_ANALYTICS="1",
    )
    return env


def tag_plan(count: int, models: int) -> list[tuple[str, int]]:
    """(tag name, commit index) for ``count`` tags, in time order."""
    tags: list[tuple[str, int]] = []
    versions: dict[int, list[tuple[str, int]]] = {m: [] for m in range(models)}
    counters = dict.fromkeys(range(models), 0)
    registered = dict.fromkeys(range(models), 0)
    step = 0
    while len(tags) < count:
        model = step % models
        name = f"model-{model}"
        kind = (step // models) % 10
        existing = versions[model]
        if kind < 4 or not existing:
            number = registered[model]
            registered[model] += 1
            version = f"v{number // 10}.{number % 10}.0"
            commit = number  # one version per commit and model, as GTO requires
            existing.append((version, commit))
            tags.append((f"{name}@{version}", commit))
        elif kind < 9:
            version, commit = existing[(step * 7) % len(existing)]
            counters[model] += 1
            stage = STAGES[step % 2]
            cancel = "!" if kind == 8 else ""
            tags.append((f"{name}#{stage}{cancel}#{counters[model]}", commit))
        else:
            version, commit = existing[0]
            tags.append((f"{name}@{version}!", commit))
            existing.pop(0)
        step += 1
    return tags


def build_repo(root: Path, count: int, models: int, env: dict[str, str]) -> None:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, env=env, check=True)
    lines: list[str] = []
    plan = tag_plan(count, models)
    commits = max(commit for _, commit in plan) + 1
    for i in range(commits):
        message = f"commit {i}".encode()
        lines.append("commit refs/heads/main")
        lines.append(f"mark :{i + 1}")
        lines.append(f"committer Bench <bench@example.com> {BASE + i} +0000")
        lines.append(f"data {len(message)}")
        lines.append(message.decode())
        if i:
            lines.append(f"from :{i}")
        lines.append(f"M 644 inline file.txt\ndata {len(str(i))}\n{i}")
    for n, (name, commit) in enumerate(plan):
        message = f"event {n}"
        lines.append(f"tag {name}")
        lines.append(f"from :{commit + 1}")
        lines.append(f"tagger Bench <bench@example.com> {BASE + commits + n} +0000")
        lines.append(f"data {len(message)}")
        lines.append(message)
    proc = subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=root,
        env=env,
        check=False,
        capture_output=True,
        input=("\n".join(lines) + "\n").encode(),
    )
    if proc.returncode != 0:
        raise SystemExit(f"git fast-import failed: {proc.stderr.decode()[-500:]}")
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, env=env, check=True)


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr[-500:]}")
    return elapsed, proc.stdout


def ours_cmd(root: Path) -> list[str]:
    return [sys.executable, "-m", "mlops_ci", "registry", "--json", "--root", str(root)]


def gto_cmd() -> list[str]:
    return [str(Path(sys.executable).parent / "gto"), "show", "--json"]


def agree(ours: str, gto: str) -> bool:
    mine = {m["name"]: m for m in json.loads(ours)["models"]}
    theirs = json.loads(gto)
    return all(
        mine[name]["latest"] == d["version"]
        and all(mine[name]["stages"].get(s) == v for s, v in d["stage"].items())
        for name, d in theirs.items()
    ) and set(mine) == set(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--gto-max", type=int, default=1000, help="Largest size to run gto on.")
    parser.add_argument("--runs", type=int, default=3, help="Runs per tool and size (median).")
    parser.add_argument("--models", type=int, default=1, help="Artifacts the tags spread over.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    env = _env(work / "home")
    (work / "home").mkdir()
    rows = []
    try:
        for size in args.sizes:
            root = work / f"repo-{size}"
            build_repo(root, size, args.models, env)
            ours_times, out = [], ""
            for _ in range(args.runs):
                elapsed, out = timed(ours_cmd(root), root, env)
                ours_times.append(elapsed)
            ours = statistics.median(ours_times)
            gto = None
            same = None
            if size <= args.gto_max:
                gto_times, gto_out = [], ""
                for _ in range(args.runs):
                    elapsed, gto_out = timed(gto_cmd(), root, env)
                    gto_times.append(elapsed)
                gto = statistics.median(gto_times)
                same = agree(out, gto_out)
            rows.append((size, ours, gto, same))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{'tags':>7} | {'mlops-ci registry --json':>24} | {'gto show --json':>15} | "
        f"{'ratio':>6} | same answer"
    )
    for size, ours, gto, same in rows:
        ratio = f"{gto / ours:.0f}x" if gto else "-"
        gto_text = f"{gto:.2f} s" if gto else "-"
        same_text = "-" if same is None else ("yes" if same else "NO")
        print(f"{size:>7} | {ours:>22.2f} s | {gto_text:>15} | {ratio:>6} | {same_text}")


if __name__ == "__main__":
    main()
