"""The base side of a comparison: which commit, and files as they were there.

The PR report compares the workspace with the merge base; a sweep compares each cell
with the same base. Both resolve it and read it the same way: git first, then DVC's
cache or remote for outputs kept out of git, or a worktree where the base was
reproduced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.adapters.dvc import Dvc, tracked_files
from mlops_ci.adapters.git import Git
from mlops_ci.config import Config
from mlops_ci.context import RunContext
from mlops_ci.core.safe_load import MAX_BYTES
from mlops_ci.errors import DvcError, GitError, InputError


class Refused(str):
    """Why a file that is there was not read (outside the repository, too large): its
    values are unknown, not absent."""

    __slots__ = ()


OUTSIDE = Refused("outside the repository (an absolute path or a symlink out of it); not read")

#: Reads one file: (bytes, None); (None, None) when it is new; (None, why it is missing).
FileReader = Callable[[str], tuple[bytes | None, str | None]]


@dataclass
class Collected:
    """Parsed files at one side; `missing` maps a file to why it has no values.

    `unreadable` holds the files among `missing` that are there but could not be
    parsed (a syntax error, an unsafe tag, over a limit, no mapping): their values are
    unknown, which is not the same as absent.
    """

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


@dataclass
class BaseReader:
    """Reads files as they were at the base commit: git first, then DVC (or a worktree)."""

    git: Git
    dvc: Dvc
    sha: str
    mode: str
    reproduced: Path | None = None
    _tracked: dict[str, Any] | None = None

    def tracked(self) -> dict[str, Any]:
        """DVC outputs recorded at the base (`dvc.lock` and `.dvc` files)."""
        if self._tracked is None:
            lock = self.git.show_file(self.sha, "dvc.lock")
            listing = self.git.run("ls-tree", "-r", "--name-only", self.sha, check=False)
            names = listing.stdout.decode("utf-8", "replace").splitlines()
            dvc_files = {}
            for name in names:
                if name.endswith(".dvc"):
                    raw = self.git.show_file(self.sha, name)
                    if raw is not None:
                        dvc_files[name] = raw.decode("utf-8", "replace")
            self._tracked = dict(
                tracked_files(lock.decode("utf-8", "replace") if lock else None, dvc_files)
            )
        return self._tracked

    def read(self, path: str) -> tuple[bytes | None, str | None]:
        """(bytes, None); (None, None) when the file is new in this change; (None, why)."""
        raw = self.git.show_file(self.sha, path)
        if raw is not None:
            return raw, None
        if self.mode == "none":
            return None, "baseline: none"
        if self.reproduced is not None and (self.reproduced / path).is_file():
            return _read_inside(self.reproduced, path)
        if path.rstrip("/") in self.tracked():
            if self.mode != "dvc":
                return None, f"a DVC output, not in git at the base (baseline: {self.mode})"
            try:
                return self.dvc.read_at_rev(path, self.sha), None
            except DvcError as exc:
                return None, f"not in the DVC cache or remote ({exc.message})"
        if self.git.show_file("HEAD", path) is not None:
            return None, None  # committed in this change: a new file
        if self.reproduced is not None:
            return None, "not produced by the base pipeline"
        return None, (
            "an output not committed to git nor tracked by DVC at the base "
            "(baseline: reproduce would run the base pipeline)"
        )


def read_side(
    files: list[str],
    reader: FileReader,
    parse: Callable[[bytes, str], dict[str, Any]],
) -> Collected:
    """Each file read and parsed; what cannot be read or parsed goes to `missing`
    (and, when it is there but cannot be parsed, to `unreadable` too)."""
    result = Collected()
    for name in files:
        raw, why = reader(name)
        if raw is None:
            if why is not None:
                result.missing[name] = why
            if isinstance(why, Refused):
                result.unreadable[name] = f"{name}: {why}"
            continue
        try:
            result.files[name] = parse(raw, name)
        except InputError as exc:
            result.missing[name] = exc.message
            result.unreadable[name] = exc.message
    return result


def workspace_reader(root: Path) -> FileReader:
    """Reads files as they are in the workspace (the head, after the pipeline ran)."""

    def read(path: str) -> tuple[bytes | None, str | None]:
        if (root / path).is_file():
            return _read_inside(root, path)
        return None, "missing in the workspace (did the pipeline run?)"

    return read


def _read_inside(root: Path, path: str) -> tuple[bytes | None, str | None]:
    """The file's bytes, unless it lies outside `root` (an absolute path, `..`, or a
    symlink leading out: a committed `metrics.json -> /etc/hostname` is not read)."""
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        return None, OUTSIDE
    try:
        size = resolved.stat().st_size
        if size > MAX_BYTES:
            return None, Refused(f"{size / 2**20:.0f} MiB, over the {MAX_BYTES >> 20} MiB limit")
        return resolved.read_bytes(), None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"


def resolve_base(
    git: Git, config: Config, ctx: RunContext, explicit: str | None
) -> tuple[str, str | None, list[str]]:
    """(sha, ref label, notes): `--base`, else the merge base with the PR's base branch
    (from the event) or with the default branch."""
    notes: list[str] = []
    if explicit:
        return git.rev_parse(explicit), explicit, notes
    head = "HEAD"
    branch = ctx.base_ref or config.default_branch
    if not branch:
        branch = git.default_branch()
    try:
        ref = git.branch_ref(branch)
    except GitError:
        base_sha = ctx.base_sha
        if base_sha:
            notes.append(f"branch {branch} is not fetched; compared with the event's base commit")
            return git.rev_parse(base_sha), branch, notes
        raise
    merge_base = git.merge_base(ref, head)
    if merge_base is None:
        raise GitError(
            f"HEAD and {branch} share no history",
            hint="fetch full history (actions/checkout with fetch-depth: 0), or pass --base",
        )
    return merge_base, branch, notes
