"""`mlops-ci verify`: can this commit be reproduced from the DVC remote?

Two checks, both from the commit itself (not the workspace): every cached output its
`dvc.lock` and `.dvc` files record is in the remote, and every git-tracked metrics or
plots file (`cache: false`) has the hash `dvc.lock` records — so the numbers in git are
the numbers the pipeline produced.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from mlops_ci.adapters.dvc_remote import DvcRemote, MissingOutput
from mlops_ci.adapters.git import Git
from mlops_ci.core.dvcfiles import uncached_paths
from mlops_ci.core.lockfile import (
    LockedFile,
    cached_outputs,
    git_tracked_outputs,
    mark_uncached,
    parse_dvc_file,
    parse_lock,
)
from mlops_ci.core.safe_load import decode, load_yaml


@dataclass(frozen=True)
class HashMismatch:
    path: str
    locked: str
    actual: str | None  # None: the file is not in git at that commit


@dataclass
class VerifyResult:
    ref: str
    commit: str
    remote: str = ""
    checked: list[str] = field(default_factory=list)
    missing: list[MissingOutput] = field(default_factory=list)
    mismatched: list[HashMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    def to_json(self) -> dict[str, object]:
        return {
            "ref": self.ref,
            "commit": self.commit,
            "ok": self.ok,
            "checked": self.checked,
            "missing": [m.__dict__ for m in self.missing],
            "mismatched": [m.__dict__ for m in self.mismatched],
        }

    def summary(self) -> str:
        """One line for a refusal, naming what is missing."""
        parts = []
        if self.missing:
            names = ", ".join(f"{m.path} ({m.reason})" for m in self.missing)
            parts.append(f"outputs not in the DVC remote: {names}")
        if self.mismatched:
            names = ", ".join(m.path for m in self.mismatched)
            parts.append(f"files in git differ from dvc.lock: {names}")
        return f"{self.ref} ({self.commit[:8]}) cannot be reproduced: " + "; ".join(parts)


def _load_yaml(raw: bytes, where: str) -> object:
    # The same limits as every YAML we read from a repository (bombs, depth, size).
    return load_yaml(decode(raw, where), where)


def _md5_matches(content: bytes, out: LockedFile) -> tuple[bool, str]:
    plain = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if out.md5 == plain:
        return True, plain
    if out.legacy:
        # DVC before 3.0 hashed text files with CRLF turned into LF.
        unix = hashlib.md5(content.replace(b"\r\n", b"\n"), usedforsecurity=False).hexdigest()
        if out.md5 == unix:
            return True, unix
    return False, plain


def verify(root: Path, ref: str = "HEAD", remote: str | None = None) -> VerifyResult:
    """Check a commit's outputs against the remote and its git-tracked hashes."""
    git = Git(root)
    commit = git.rev_parse(ref)
    result = VerifyResult(ref=ref, commit=commit)
    lock_raw = git.show_file(commit, "dvc.lock")
    stages = parse_lock(_load_yaml(lock_raw, f"dvc.lock@{ref}")) if lock_raw else {}
    dvc_yaml_raw = git.show_file(commit, "dvc.yaml")
    if dvc_yaml_raw:
        uncached = uncached_paths(_load_yaml(dvc_yaml_raw, f"dvc.yaml@{ref}"))
        stages = mark_uncached(stages, uncached)
    dvc_files: dict[str, list[LockedFile]] = {}
    for path in git.list_files(commit):
        if path.endswith(".dvc") and not path.startswith(".dvc/"):
            raw = git.show_file(commit, path)
            if raw is not None:
                dvc_files[path] = parse_dvc_file(path, _load_yaml(raw, f"{path}@{ref}"))
    outputs = cached_outputs(stages, dvc_files)
    result.checked = sorted({o.path for o in outputs})
    if outputs:
        with DvcRemote(root, remote) as store:
            result.remote = store.url
            result.missing = store.missing(outputs)
    for out in git_tracked_outputs(stages):
        if not out.md5 or out.is_dir:
            continue
        content = git.show_file(commit, out.path)
        if content is None:
            result.mismatched.append(HashMismatch(out.path, out.md5, None))
            continue
        same, actual = _md5_matches(content, out)
        if not same:
            result.mismatched.append(HashMismatch(out.path, out.md5, actual))
        result.checked.append(out.path)
    return result
