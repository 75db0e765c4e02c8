"""PR report at scale, side by side with DVC on the same repository and revisions.

A git + DVC repository with 10,000 metrics (nested JSON) and 1,000 params (nested
YAML) at a base commit and a head commit that changes most values. We time:

- `report (in-process)`: collect (git + workspace), diff, gates, render and write
  `report.md` + `report.json`, as `generate_report(run=False, publish="none")`;
- `mlops-ci report` as a command (a fresh process, as CI runs it);
- `dvc metrics diff --json` + `dvc params diff --json` (the anchor).

Run: python benchmarks/bench_report.py [--metrics 10000] [--params 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def run(args: list[str], cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout


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


def build(root: Path, metrics: int, params: int) -> str:
    root.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], root)
    run([sys.executable, "-m", "dvc", "init", "-q"], root)
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\nparams:\n  - params.yaml\n")
    gates = "\n".join(f"    group_000.metric_{i:03d}:\n      max_drop: 0.5" for i in range(20))
    (root / "mlops-ci.yaml").write_text(f"data:\n  diff: false\nmetrics:\n  gates:\n{gates}\n")
    (root / ".gitignore").write_text(".mlops-ci/\n")
    (root / "metrics.json").write_text(json.dumps(nested(metrics, 1)))
    (root / "params.yaml").write_text(yaml_params(params, 2))
    run(["git", *GIT_ID, "add", "-A"], root)
    run(["git", *GIT_ID, "commit", "-q", "-m", "base"], root)
    base = run(["git", "rev-parse", "HEAD"], root).strip()
    run(["git", "checkout", "-q", "-b", "pr"], root)
    (root / "metrics.json").write_text(json.dumps(nested(metrics, 3)))
    (root / "params.yaml").write_text(yaml_params(params, 4))
    run(["git", *GIT_ID, "commit", "-q", "-am", "head"], root)
    return base


def timed(fn: object, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from mlops_ci.services.report import ReportRequest, generate_report
    from mlops_ci.services.shared.job import Job

    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        root = Path(tmp) / "repo"
        base = build(root, args.metrics, args.params)
        env = {k: v for k, v in ENV.items() if not k.startswith("GITHUB_") and k != "CI"}
        request = ReportRequest(root=root, base=base, run=False, publish="none")
        job = Job.from_environ(env)

        outcome = generate_report(request, job)  # warm-up: imports, file cache
        ours = timed(lambda: generate_report(request, job), args.repeat)
        cli = timed(
            lambda: run(
                [sys.executable, "-m", "mlops_ci", "report", "--no-run", "--publish", "none",
                 "--base", base, "--root", str(root)],
                root,
            ),
            args.repeat,
        )  # fmt: skip
        dvc = timed(
            lambda: (
                run([sys.executable, "-m", "dvc", "metrics", "diff", "--json", base], root),
                run([sys.executable, "-m", "dvc", "params", "diff", "--json", base], root),
            ),
            args.repeat,
        )
        comment = outcome.markdown
        rows = len(outcome.document.metrics), len(outcome.document.params)

    med_ours, med_cli, med_dvc = (statistics.median(s) for s in (ours, cli, dvc))
    print(f"repository: {rows[0]:,} metrics, {rows[1]:,} params; medians of {args.repeat} runs")
    print(f"{'what':<52} {'median s':>9} {'vs DVC':>8}")
    print(f"{'report: collect+diff+gates+render+write (in-process)':<52} {med_ours:>9.3f} "
          f"{med_dvc / med_ours:>7.1f}x")  # fmt: skip
    print(f"{'mlops-ci report --no-run (new process)':<52} {med_cli:>9.3f} "
          f"{med_dvc / med_cli:>7.1f}x")  # fmt: skip
    print(f"{'dvc metrics diff --json + dvc params diff --json':<52} {med_dvc:>9.3f} {'1.0x':>8}")
    print(f"comment length: {len(comment):,} characters (limit 65,536)")
    ok = med_ours <= 1.0 and med_dvc / med_ours >= 5 and len(comment) <= 65_536
    print("targets (<= 1 s, >= 5x faster than DVC, comment fits):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
