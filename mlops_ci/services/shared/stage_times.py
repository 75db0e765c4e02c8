"""How long each pipeline stage took when it last ran, kept beside DVC's run-cache.

DVC's run-cache (`<cache>/runs/`) records what a stage produced, not how long it
took. We keep that here, one small JSON file per stage under `<cache>/runs/mlops-ci/`:
`dvc push --run-cache` and `dvc pull --run-cache` copy every file under `runs/`, so
the durations travel to a fresh CI checkout with the entries they describe. DVC reads
only `runs/<2 chars>/<key>/<entry>` and never looks in `mlops-ci/`.

A duration is keyed by the stage's `dvc.lock` entry after the run (`stage_hashes`):
a stage restored from the run-cache gets exactly that entry back, so the time it
saved is the measured time of the run that produced those outputs, or unknown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from mlops_ci.adapters.files import write_atomic

STORE = Path("runs") / "mlops-ci"
KEEP = 50  # newest durations kept per stage
_MAX_BYTES = 64 * 1024


def _path(cache_dir: Path, stage: str) -> Path:
    digest = hashlib.sha256(stage.encode("utf-8")).hexdigest()[:16]
    return cache_dir / STORE / f"{digest}.json"


def _load(cache_dir: Path, stage: str) -> dict[str, float]:
    """`{lock hash: seconds}` for `stage`; empty when missing or not ours (never raises)."""
    path = _path(cache_dir, stage)
    try:
        if path.stat().st_size > _MAX_BYTES:
            return {}
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("stage") != stage:
        return {}
    runs = data.get("seconds")
    if not isinstance(runs, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in runs.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e7
    }


def seconds_for(cache_dir: Path, stage: str, lock_hash: str | None) -> float | None:
    """The measured duration of the run of `stage` whose `dvc.lock` entry is `lock_hash`."""
    if not lock_hash:
        return None
    return _load(cache_dir, stage).get(lock_hash)


def record(cache_dir: Path, measured: Mapping[str, tuple[str, float]]) -> None:
    """Add `{stage: (lock hash, seconds)}`, keeping the newest `KEEP` per stage."""
    for stage, (lock_hash, seconds) in measured.items():
        runs = _load(cache_dir, stage)
        runs.pop(lock_hash, None)
        runs[lock_hash] = round(seconds, 3)
        newest = dict(list(runs.items())[-KEEP:])
        text = json.dumps({"stage": stage, "seconds": newest}, indent=1, sort_keys=False)
        write_atomic(_path(cache_dir, stage), text + "\n")
