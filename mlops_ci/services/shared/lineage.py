"""What a registered version was made from, and its model file, read at its commit.

`lineage_at` lists the pipeline's stages and the data they used, from the `dvc.lock`
(either DVC format) and `.dvc` files committed there (`core.lockfile`); what counts
as data is `core.dvcfiles.is_data`, as for the monitor's training data. `fetch_model`
streams the model file from git or, for a DVC output, through DVC at that commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from mlops_ci.core.dvcfiles import is_data
from mlops_ci.core.lockfile import LockedFile, read_dvc_file, read_lock
from mlops_ci.errors import DvcError
from mlops_ci.services.shared.registry import Registry

_CHUNK = 1 << 20


def _described(file: LockedFile) -> dict[str, Any]:
    return {"path": file.path, "hash": file.hash_text, "size": file.size}


def lineage_at(reg: Registry, commit: str) -> dict[str, Any]:
    """Stages and data dependencies (with hashes) from `dvc.lock` and `.dvc` files.

    A pipeline's own outputs stay listed with the stages that use them, so the chain
    from the raw data to the model can be followed.
    """
    stages = read_lock(reg.git.show_file(commit, "dvc.lock"))
    data: dict[str, dict[str, Any]] = {}
    for stage in stages.values():
        for dep in stage.deps:
            data.setdefault(dep.path, {**_described(dep), "stages": []})["stages"].append(
                stage.name
            )
    outputs = {out.path for stage in stages.values() for out in stage.outs}
    tracked = set(outputs)
    for path in reg.git.list_files(commit):
        if not path.endswith(".dvc"):
            continue
        for out in read_dvc_file(path, reg.git.show_file(commit, path)):
            entry = data.setdefault(out.path, {**_described(out), "stages": []})
            entry["tracked_by"] = path
            entry["hash"] = entry["hash"] or out.hash_text
            tracked.add(out.path)
    described = [
        {
            "name": stage.name,
            "cmd": stage.cmd,
            "deps": [_described(dep) for dep in stage.deps],
            "outs": [_described(out) for out in stage.outs],
            "params": stage.params,
        }
        for stage in stages.values()
    ]
    used = [entry for entry in data.values() if is_data(entry["path"], tracked)]
    return {
        "commit": commit,
        "stages": described,
        "data": sorted(used, key=lambda d: d["path"]),
        "pipeline_outputs": sorted(outputs),
    }


def lock_output(lineage: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """What the lineage records of `path`: a stage's output, else a data dependency."""
    for stage in lineage["stages"]:
        for out in stage["outs"]:
            if out["path"] == path:
                found: Mapping[str, Any] = out
                return found
    for dep in lineage["data"]:
        if dep["path"] == path:
            return dep  # type: ignore[no-any-return]
    return None


def _copy_hashing(source: Iterable[bytes], dest: Path | None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    handle = dest.open("wb") if dest is not None else None
    try:
        for chunk in source:
            digest.update(chunk)
            size += len(chunk)
            if handle is not None:
                handle.write(chunk)
    finally:
        if handle is not None:
            handle.close()
    return digest.hexdigest(), size


def _chunks(stream: BinaryIO) -> Iterable[bytes]:
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def fetch_model(reg: Registry, path: str, commit: str, dest: Path | None) -> tuple[str, int]:
    """Stream the model file at ``commit`` to ``dest`` (None: hash only); (sha256, size).

    A file committed to git is read from git; a DVC output through DVC at that
    revision (local cache first, then the remote).
    """
    raw = reg.git.show_file(commit, path)
    if raw is not None:
        return _copy_hashing([raw], dest)
    from mlops_ci.adapters.dvc import Dvc, first_line

    try:
        with Dvc(reg.root).open_at_rev(path, commit) as stream:
            return _copy_hashing(_chunks(stream), dest)
    except Exception as exc:
        raise DvcError(
            f"cannot fetch {path} at {commit[:12]} through DVC: {first_line(exc)}",
            hint="check the DVC remote and credentials (`dvc pull` must work here)",
        ) from None
