"""The PR report's data diff: ours (recorded hashes + the local cache) vs `dvc diff --json`.

Run: python benchmarks/bench_data_diff.py [--files 50] [--dir-files 1000] [--runs 5]

Builds two git + DVC repositories:

- *tracked*: `--files` files tracked with `dvc add` and two tracked directories of
  `--dir-files` files each (in nested subdirectories); between base and head, a fifth
  of the files and, in each directory, 5% of the files are modified, 5% deleted and
  5% added, and one file is renamed;
- *empty*: a DVC repository that tracks no data.

Times, in the same run, the report's `collect_data_diff` in-process (the git processes
and cache reads included) and `dvc diff --json BASE` as the subprocess the report used
to spawn, and checks that both say the same. Prints the medians side by side.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _env(site_cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(site_cache),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
        }
    )
    return env


def _run(path: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(args, cwd=path, env=env, capture_output=True, text=True, check=True)
    return proc.stdout


def _dvc(path: Path, env: dict[str, str], *args: str) -> str:
    return _run(path, env, sys.executable, "-m", "dvc", *args)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _init(path: Path, env: dict[str, str]) -> None:
    path.mkdir(parents=True)
    _run(path, env, "git", "init", "-q", "-b", "main")
    _dvc(path, env, "init", "-q")


def _commit(path: Path, env: dict[str, str], message: str) -> str:
    _run(path, env, "git", "add", "-A")
    _run(path, env, "git", "commit", "-q", "--allow-empty", "-m", message)
    return _run(path, env, "git", "rev-parse", "HEAD").strip()


def track_data(path: Path, env: dict[str, str], files: int, dir_files: int) -> None:
    """Write `files` files and two directories of `dir_files` files, and `dvc add` them
    (the `.dvc` files are written and the local cache is filled, as a user's `dvc add`)."""
    for i, name in enumerate(_names(files)):
        _write(path / name, f"id,value\n{i},{i * 7}\n")
    for folder in ("images", "features"):
        for i in range(dir_files):
            _write(path / folder / f"part{i % 10}/sub{i % 3}/{i:05d}.txt", f"{folder} {i}\n")
    _dvc(path, env, "add", "-q", *_names(files), "images", "features")


def change_data(path: Path, env: dict[str, str], files: int, dir_files: int) -> None:
    """Change what `track_data` wrote, and `dvc add` again: a fifth of the files
    modified; in each directory 5% of the files modified, 5% deleted, 5% added, and
    one file renamed."""
    changed = _names(files)[: max(1, files // 5)]
    for name in changed:
        _write(path / name, "id,value\n0,changed\n")
    step = 20  # 5%
    for folder in ("images", "features"):
        for i in range(0, dir_files, step):
            target = path / folder / f"part{i % 10}/sub{i % 3}/{i:05d}.txt"
            _write(target, f"{folder} {i} changed\n")
            (path / folder / f"part{(i + 1) % 10}/sub{(i + 1) % 3}/{i + 1:05d}.txt").unlink()
            _write(path / folder / f"new/{i:05d}.txt", f"{folder} new {i}\n")
        moved = path / folder / f"part{2 % 10}/sub{2 % 3}/{2:05d}.txt"
        moved.rename(path / folder / "renamed.txt")
    _dvc(path, env, "add", "-q", *changed, "images", "features")


def _names(files: int) -> list[str]:
    return [f"data/file{i:03d}.csv" for i in range(files)]


def build_tracked(path: Path, env: dict[str, str], files: int, dir_files: int) -> str:
    """The tracked-data repository (head in the workspace); returns the base commit."""
    _init(path, env)
    track_data(path, env, files, dir_files)
    base = _commit(path, env, "base")
    change_data(path, env, files, dir_files)
    return base


def build_empty(path: Path, env: dict[str, str]) -> str:
    _init(path, env)
    _write(path / "README.md", "no data\n")
    return _commit(path, env, "base")


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def normalise(report: dict[str, Any]) -> dict[str, list[Any]]:
    """`dvc diff --json`'s shape as status -> sorted paths (a rename as its JSON)."""
    out: dict[str, list[Any]] = {}
    for status, entries in report.items():
        paths = sorted(
            json.dumps(e["path"], sort_keys=True) if isinstance(e["path"], dict) else e["path"]
            for e in entries
        )
        if paths:
            out[status] = paths
    return out


def _ours_as_dvc(path: Path, base: str) -> dict[str, list[Any]]:
    from mlops_ci.adapters.dvc_cache import DvcCache, outputs_at_rev, outputs_in_workspace
    from mlops_ci.adapters.git import Git
    from mlops_ci.core.data_diff import diff_data

    git = Git(path)
    old, new = outputs_at_rev(git, base), outputs_in_workspace(git, path)
    cache = DvcCache(path)
    result = diff_data(old, new, cache.manifests([*old.values(), *new.values()]), cache.exists)
    return normalise(result.as_dvc_json())


def measure(label: str, path: Path, base: str, env: dict[str, str], runs: int) -> None:
    from mlops_ci.adapters.git import Git
    from mlops_ci.services.report.collect import collect_data_diff

    os.environ.update(env)
    ours, doc = _median(lambda: collect_data_diff(Git(path), path, base), runs)
    theirs, raw = _median(lambda: _dvc(path, env, "diff", "--json", base), runs)
    expected = normalise(json.loads(raw) if raw.strip() else {})
    same = _ours_as_dvc(path, base) == expected
    changes = sum(len(v) for v in expected.values())
    print(
        f"{label:<8} {changes:>6} changes   ours {ours * 1000:8.1f} ms   "
        f"dvc diff --json {theirs * 1000:8.1f} ms   x{theirs / ours:6.1f}   "
        f"rows {len(doc.entries):>5}   same as DVC: {'yes' if same else 'NO'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--dir-files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-data-diff-"))
    try:
        env = _env(work / "site-cache")
        tracked = build_tracked(work / "tracked", env, args.files, args.dir_files)
        empty = build_empty(work / "empty", env)
        print(
            f"medians of {args.runs} runs; tracked: {args.files} files + 2 directories "
            f"of {args.dir_files} files"
        )
        measure("tracked", work / "tracked", tracked, env, args.runs)
        measure("empty", work / "empty", empty, env, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
