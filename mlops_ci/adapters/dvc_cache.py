"""The local DVC cache, read directly: objects, their sizes, and directory manifests.

DVC keeps an object under its hash: DVC 3 at `<cache>/files/md5/<2>/<rest>`, outputs
recorded without `hash: md5` (DVC 1.x and 2.x) at `<cache>/<2>/<rest>`. A tracked
directory's manifest is the object `<hash>.dir`: a JSON list of `{"md5", "relpath"}`.
The cache is `.dvc/cache` unless `cache.dir` in `.dvc/config` (or `config.local`)
says otherwise. Reading it costs a file open per manifest, where DVC's CLI costs a
process and its whole index.

Also here: what `dvc.lock`, `dvc.yaml` and `.dvc` files record at a git revision
(one `git cat-file --batch` for all of them) and in the workspace.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterable
from pathlib import Path

from mlops_ci.adapters.git import Git
from mlops_ci.core.data_diff import (
    LEGACY_MD5,
    HashKey,
    Output,
    ParseMemo,
    is_dvc_file,
    parse_manifest,
    recorded_outputs,
)

__all__ = ["DvcCache", "outputs_at_rev", "outputs_in_workspace"]

_OBJECT_NAME = re.compile(r"[0-9A-Za-z]{3}[0-9A-Za-z_-]*(\.dir)?")


def _configured_cache_dir(root: Path) -> Path | None:
    """`cache.dir` from `.dvc/config.local`, else `.dvc/config` (relative to `.dvc/`)."""
    for name in ("config.local", "config"):
        try:
            text = (root / ".dvc" / name).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "cache" not in text:  # most configs name no cache section: skip the parser
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        for section in parser.sections():
            if section.strip().strip("'\"") != "cache":
                continue
            value = parser.get(section, "dir", fallback=None)
            if value and value.strip().strip("'\""):
                return root / ".dvc" / value.strip().strip("'\"")
    return None


class DvcCache:
    """A repository's local DVC cache, read without DVC."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = _configured_cache_dir(root) or root / ".dvc" / "cache"
        self._dir = str(self.dir)

    def object_paths(self, hash_: HashKey) -> list[Path]:
        """Where the object may be: its layout's place first, then the other layout's."""
        return [Path(p) for p in self._places(hash_)]

    def _places(self, hash_: HashKey) -> list[str]:
        # Plain strings: a report asks for hundreds of objects, and pathlib costs more
        # than the stat it prepares.
        name, value = hash_
        if not _OBJECT_NAME.fullmatch(value):  # a hash from the repository names no other file
            return []
        legacy = os.path.join(self._dir, value[:2], value[2:])
        kind = "md5" if name == LEGACY_MD5 else name
        modern = os.path.join(self._dir, "files", kind, value[:2], value[2:])
        return [legacy, modern] if name == LEGACY_MD5 else [modern, legacy]

    def exists(self, hash_: HashKey) -> bool:
        """Whether the cache holds the object in the layout DVC would look in."""
        paths = self._places(hash_)
        return bool(paths) and os.path.isfile(paths[0])

    def size(self, hash_: HashKey) -> int | None:
        """The object's size in bytes; None when the cache lacks it."""
        for path in self._places(hash_):
            try:
                return os.stat(path).st_size
            except OSError:
                continue
        return None

    def manifest(self, hash_: HashKey) -> dict[str, str] | None:
        """relpath → md5 of a directory's `.dir` object; None when absent or unreadable."""
        for path in self._places(hash_):
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
            except OSError:
                continue
            found = parse_manifest(raw)
            if found is not None:
                return found
        return None

    def manifests(self, outputs: Iterable[Output]) -> dict[str, dict[str, str] | None]:
        """Directory hash → its manifest (None when the cache lacks it), per directory."""
        return {o.hash[1]: self.manifest(o.hash) for o in outputs if o.is_dir and o.hash}


def outputs_at_rev(git: Git, rev: str, memo: ParseMemo | None = None) -> dict[str, Output]:
    """Cached outputs recorded at `rev`: its `dvc.lock`, `dvc.yaml` and `.dvc` files,
    read in one `git cat-file --batch` (paths relative to the DVC root). GitError when
    `rev` is unknown. `memo`: see `recorded_outputs`."""
    names = [n for n in git.list_files(rev) if is_dvc_file(n) and "\n" not in n]
    blobs = git.read_blobs([f"{rev}:./{name}" for name in names])
    files = {name: blob[1] for name, blob in zip(names, blobs, strict=True) if blob is not None}
    return recorded_outputs(files, memo)


def outputs_in_workspace(git: Git, root: Path, memo: ParseMemo | None = None) -> dict[str, Output]:
    """Cached outputs recorded in the workspace (committed or not, not ignored)."""
    proc = git.run("ls-files", "-z", "--cached", "--others", "--exclude-standard", check=False)
    names = proc.stdout.decode("utf-8", "replace").split("\0") if proc.returncode == 0 else []
    files: dict[str, bytes] = {}
    for name in names:
        if name and is_dvc_file(name) and "\n" not in name:
            try:
                files[name] = (root / name).read_bytes()
            except OSError:  # deleted in the workspace
                continue
    return recorded_outputs(files, memo)
