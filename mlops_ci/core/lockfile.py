"""What DVC records: `dvc.lock` and `.dvc` files as plain data.

The one reader of both. `dvc.lock` comes in two formats: DVC 1.x (stage names at the
top, `md5` on each entry) and DVC 2+/3 (`schema: '2.0'`, `stages:`, and `hash: md5`
on DVC 3 entries); `lock_stage_bodies` is the only place that tells them apart. A
`.dvc` file records outputs the same way, with paths relative to its directory.
What `dvc.yaml` declares, and which dependencies are data, is in `core.dvcfiles`.

Pure: callers pass text or parsed YAML; nothing here reads files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

#: Keys an entry's hash can have, in the order DVC prefers them (cloud outputs have
#: an `etag`, very old `.dvc` files a `checksum`).
_HASH_KEYS = ("md5", "etag", "checksum")


@dataclass(frozen=True)
class LockedFile:
    """One dependency or output as the lock (or a `.dvc` file) records it."""

    path: str
    md5: str | None
    size: int | None = None
    nfiles: int | None = None
    # DVC 3 writes `hash: md5`; outputs without it live in the remote's legacy layout.
    legacy: bool = True
    cache: bool = True
    kind: str = "out"  # out | metric | plot | dep
    hash_key: str = "md5"  # which key held the hash: md5 | etag | checksum

    @property
    def is_dir(self) -> bool:
        return bool(self.md5 and self.md5.endswith(".dir"))

    @property
    def hash_text(self) -> str:
        """The hash as lineage shows it (`md5:…`); empty when none is recorded."""
        return f"{self.hash_key}:{self.md5}" if self.md5 else ""


@dataclass(frozen=True)
class LockedStage:
    name: str
    cmd: str = ""
    deps: tuple[LockedFile, ...] = ()
    outs: tuple[LockedFile, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StageChange:
    """How a stage differs between two locks (what a reviewer needs to know)."""

    name: str
    status: str  # added | removed | changed
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    params: bool = False
    cmd: bool = False


@dataclass(frozen=True)
class TrackedFile:
    """A DVC-tracked output as a `.dvc` file or `dvc.lock` records it."""

    path: str
    md5: str | None
    size: int | None


def load_yaml(text: str | bytes | None, path: str = "dvc.lock") -> Any:
    """Parsed YAML, or None when there is no text or it is no YAML we read.

    Read under the limits of `core.safe_load` (an alias bomb or a huge file is not
    YAML we read), with DVC's YAML 1.2 rules.
    """
    if not text:
        return None
    from mlops_ci.core.safe_load import MAX_YAML_BYTES, decode
    from mlops_ci.core.safe_load import load_yaml as safe_load_yaml
    from mlops_ci.errors import InputError

    try:
        return safe_load_yaml(decode(text, path, MAX_YAML_BYTES), path)
    except InputError:
        return None


def _entry(raw: Any, kind: str, wdir: str = "") -> LockedFile | None:
    if not isinstance(raw, dict) or "path" not in raw:
        return None
    path = str(raw["path"])
    if wdir:
        path = str(PurePosixPath(wdir) / path)
    key = next((k for k in _HASH_KEYS if raw.get(k)), "md5")
    md5 = raw.get(key)
    size = raw.get("size")
    nfiles = raw.get("nfiles")
    return LockedFile(
        path=path,
        md5=str(md5) if md5 else None,
        size=int(size) if isinstance(size, int) else None,
        nfiles=int(nfiles) if isinstance(nfiles, int) else None,
        legacy=raw.get("hash") != "md5",
        cache=raw.get("cache", True) is not False,
        kind=kind,
        hash_key=key,
    )


def _cmd(cmd: Any) -> str:
    if isinstance(cmd, list):
        return " && ".join(str(c) for c in cmd)
    return "" if cmd is None else str(cmd)


def _stage(name: str, body: Any) -> LockedStage:
    if not isinstance(body, dict):
        return LockedStage(name=name)
    deps = tuple(e for raw in body.get("deps") or [] if (e := _entry(raw, "dep")))
    outs = tuple(e for raw in body.get("outs") or [] if (e := _entry(raw, "out")))
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    return LockedStage(
        name=name, cmd=_cmd(body.get("cmd")), deps=deps, outs=outs, params=dict(params or {})
    )


def lock_stage_bodies(data: Any) -> dict[str, Any]:
    """Stage name → its raw body, from a parsed `dvc.lock` in either format.

    DVC 2+ nests the stages under `stages:` (next to `schema: '2.0'`); DVC 1.x puts
    them at the top level.
    """
    if not isinstance(data, dict):
        return {}
    stages = data.get("stages") if "schema" in data or "stages" in data else data
    if not isinstance(stages, dict):
        return {}
    return {str(name): body for name, body in stages.items()}


def parse_lock(data: Any) -> dict[str, LockedStage]:
    """Stages of a parsed `dvc.lock`, in either format; an empty or odd lock has none."""
    return {name: _stage(name, body) for name, body in lock_stage_bodies(data).items()}


def read_lock(text: str | bytes | None) -> dict[str, LockedStage]:
    """Stages of `dvc.lock` text; none when there is no text or it is not YAML."""
    return parse_lock(load_yaml(text))


def stage_hashes(text: str | bytes | None) -> dict[str, str]:
    """Per stage of `dvc.lock` text, a short hash of everything it records.

    Two runs whose stage has the same digest recorded the same deps, params and outs.
    """
    hashes: dict[str, str] = {}
    for name, body in lock_stage_bodies(load_yaml(text)).items():
        if isinstance(body, dict):
            canonical = json.dumps(body, sort_keys=True, default=str)
            hashes[name] = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return hashes


def recorded_hashes(stages: dict[str, LockedStage]) -> dict[str, str]:
    """path → hash of every dependency and output the lock records, sorted by path."""
    found = {f.path: f.md5 for s in stages.values() for f in (*s.deps, *s.outs) if f.md5}
    return dict(sorted(found.items()))


def parse_dvc_file(path: str, data: Any) -> list[LockedFile]:
    """Outputs of a `.dvc` file at `path` (their paths are relative to its directory)."""
    if not isinstance(data, dict):
        return []
    wdir = str(PurePosixPath(path).parent)
    wdir = "" if wdir == "." else wdir
    return [e for raw in data.get("outs") or [] if (e := _entry(raw, "out", wdir))]


def read_dvc_file(path: str, text: str | bytes | None) -> list[LockedFile]:
    """Outputs of the `.dvc` file at `path` from its text; none when it is not YAML."""
    return parse_dvc_file(path, load_yaml(text))


def imports_data(data: Any) -> bool:
    """Whether a parsed `.dvc` file imports data (`dvc import`/`import-url` give it deps)."""
    return isinstance(data, dict) and bool(data.get("deps"))


def tracked_files(
    lock_text: str | bytes | None, dvc_files: Mapping[str, str | bytes]
) -> dict[str, TrackedFile]:
    """Outputs recorded in a `dvc.lock` (either format) and `.dvc` files, by path.

    `dvc_files` maps each `.dvc` file's path to its text.
    """
    outs = [out for stage in read_lock(lock_text).values() for out in stage.outs]
    for dvc_path, text in dvc_files.items():
        outs += read_dvc_file(dvc_path, text)
    found: dict[str, TrackedFile] = {}
    for out in outs:
        path = out.path.rstrip("/")
        found[path] = TrackedFile(path, out.md5, out.size)
    return found


def mark_uncached(stages: dict[str, LockedStage], uncached: set[str]) -> dict[str, LockedStage]:
    """Apply `dvc.yaml`'s `cache: false` flags, which `dvc.lock` does not record."""
    return {
        name: replace(
            stage,
            outs=tuple(replace(o, cache=False) if o.path in uncached else o for o in stage.outs),
        )
        for name, stage in stages.items()
    }


def cached_outputs(
    stages: dict[str, LockedStage], dvc_files: dict[str, list[LockedFile]]
) -> list[LockedFile]:
    """Every output that lives in the DVC cache (and so must be in the remote)."""
    outs = [out for stage in stages.values() for out in stage.outs if out.cache]
    outs += [out for files in dvc_files.values() for out in files if out.cache]
    return outs


def git_tracked_outputs(stages: dict[str, LockedStage]) -> list[LockedFile]:
    """Outputs with `cache: false` (metrics and plots committed to git)."""
    return [out for stage in stages.values() for out in stage.outs if not out.cache]


def diff_locks(old: dict[str, LockedStage], new: dict[str, LockedStage]) -> list[StageChange]:
    """Stages that differ between the committed lock (`old`) and the fresh one (`new`)."""
    changes: list[StageChange] = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            changes.append(StageChange(name=name, status="added"))
            continue
        if name not in new:
            changes.append(StageChange(name=name, status="removed"))
            continue
        a, b = old[name], new[name]
        deps = _changed(a.deps, b.deps)
        outs = _changed(a.outs, b.outs)
        params = a.params != b.params
        cmd = a.cmd != b.cmd
        if deps or outs or params or cmd:
            changes.append(
                StageChange(
                    name=name, status="changed", deps=deps, outs=outs, params=params, cmd=cmd
                )
            )
    return changes


def _changed(a: tuple[LockedFile, ...], b: tuple[LockedFile, ...]) -> tuple[str, ...]:
    before = {f.path: f.md5 for f in a}
    after = {f.path: f.md5 for f in b}
    return tuple(sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)))
