"""What changed in DVC-tracked data between two revisions, as `dvc diff --json` says it.

DVC compares two indexes of its outputs: every output recorded in `dvc.lock` and
`.dvc` files (those kept in the cache: `cache: false` outputs live in git), and,
inside a tracked directory, every file its manifest (the `.dir` object) lists. We
build the same two indexes from the recorded hashes and compare them the same way:

- an entry only at head is *added*, only at base *deleted*; at both, *modified* when
  its hash differs or it turned from a file into a directory (or back). A hash is
  its name and value: `md5` (DVC 3) and `md5-dos2unix` (DVC 1.x/2.x outputs without
  `hash: md5`) differ even for the same value, as in DVC;
- an added and a deleted entry with the same hash are a *rename* (the deleted entry
  with the smallest path goes first, as in DVC);
- directories get a trailing `/`; the subdirectories inside a tracked directory
  have no hash and are never reported;
- a directory whose manifest is unknown (in neither the cache nor the lock) has
  unknown contents: nothing inside it is reported, and `unknown` names it;
- *not in cache* (only when the caller says what the cache holds): every base entry
  whose object the cache lacks, changed or not.

Pure: callers pass the recorded outputs and the manifests they could read.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mlops_ci.core.dvcfiles import uncached_paths
from mlops_ci.core.lockfile import LockedFile, load_yaml, read_dvc_file, read_lock

#: DVC's legacy hash name: an `md5` recorded without `hash: md5` (DVC 1.x and 2.x).
LEGACY_MD5 = "md5-dos2unix"

#: A hash as DVC compares them: (name, value).
HashKey = tuple[str, str]
Key = tuple[str, ...]

ADDED, DELETED, MODIFIED, RENAMED = "added", "deleted", "modified", "renamed"
NOT_IN_CACHE = "not in cache"
STATUSES = (ADDED, DELETED, MODIFIED, RENAMED, NOT_IN_CACHE)


@dataclass(frozen=True)
class Output:
    """A tracked output at one revision."""

    path: str
    hash: HashKey | None
    size: int | None = None
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return bool(self.hash and self.hash[1].endswith(".dir"))

    @classmethod
    def from_locked(cls, out: LockedFile) -> Output:
        return cls(out.path.rstrip("/"), hash_key(out), out.size, out.nfiles)

    def _replace_path(self, path: str) -> Output:
        return Output(path.rstrip("/"), self.hash, self.size, self.nfiles)


def hash_key(out: LockedFile) -> HashKey | None:
    """The hash of a recorded output as DVC names it (`md5`, `md5-dos2unix`, `etag`…)."""
    if not out.md5:
        return None
    if out.hash_key == "md5":
        return (LEGACY_MD5 if out.legacy else "md5", out.md5)
    return (out.hash_key, out.md5)


def is_dvc_file(path: str) -> bool:
    """Whether a repository path is one `recorded_outputs` reads (outside `.dvc/`)."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith(".dvc/"):
        return False
    return name in ("dvc.lock", "dvc.yaml") or (name.endswith(".dvc") and name != ".dvc")


def _join(*parts: str) -> str:
    kept = [p.strip("/") for p in parts if p not in ("", ".")]
    return "/".join(kept)


def _lock_outputs(lock_path: str, text: str | bytes, dvc_yaml: str | bytes | None) -> list[Output]:
    """Cached outputs of one `dvc.lock` (either format), with root-relative paths."""
    folder = lock_path.rpartition("/")[0]
    declared = load_yaml(dvc_yaml)
    stages = declared.get("stages") if isinstance(declared, dict) else None
    uncached = {_join(folder, p) for p in uncached_paths(declared)}
    found = []
    for name, stage in read_lock(text).items():
        body = stages.get(name) if isinstance(stages, dict) else None
        wdir = str(body.get("wdir", "")) if isinstance(body, dict) else ""
        for out in stage.outs:
            path = _join(folder, wdir, out.path)
            if out.cache and path not in uncached:
                found.append(Output.from_locked(out)._replace_path(path))
    return found


#: Outputs already read from a file's exact text: (path, text, its dvc.yaml's text).
ParseMemo = dict[tuple[str, str | bytes, str | bytes | None], list[Output]]


def recorded_outputs(
    files: Mapping[str, str | bytes], memo: ParseMemo | None = None
) -> dict[str, Output]:
    """path → `Output` of every cached output `files` record at one revision.

    `files` maps each `dvc.lock`, `dvc.yaml` and `.dvc` file's path (relative to the
    DVC root) to its text; a `dvc.yaml` tells which of its lock's outputs are
    `cache: false` (kept in git, so not data DVC compares). Pass the same `memo` for
    both revisions: a file unchanged between them is parsed once.
    """
    outputs: list[Output] = []
    for path, text in sorted(files.items()):
        folder, _, name = path.rpartition("/")
        if name != "dvc.lock" and not name.endswith(".dvc"):
            continue
        declared = files.get(_join(folder, "dvc.yaml")) if name == "dvc.lock" else None
        key = (path, text, declared)
        found = memo.get(key) if memo is not None else None
        if found is None:
            if name == "dvc.lock":
                found = _lock_outputs(path, text, declared)
            else:
                found = [Output.from_locked(o) for o in read_dvc_file(path, text) if o.cache]
            if memo is not None:
                memo[key] = found
        outputs += found
    return {o.path: o for o in outputs}


def parse_manifest(raw: bytes | str) -> dict[str, str] | None:
    """relpath → md5 of a `.dir` object (a JSON list of `{"md5", "relpath"}`); None if
    it is not one."""
    import json

    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    found: dict[str, str] = {}
    for entry in data:
        if isinstance(entry, dict) and isinstance(entry.get("relpath"), str):
            md5 = entry.get("md5")
            if isinstance(md5, str):
                found[entry["relpath"]] = md5
    return found


class Node(NamedTuple):
    """One entry of a side's index: an output, a file inside one, or a subdirectory.

    A tuple: a tracked directory of 100,000 files makes as many."""

    key: Key
    hash: HashKey | None
    is_dir: bool
    size: int | None = None
    nfiles: int | None = None

    @property
    def path(self) -> str:
        """The path as DVC prints it: directories end with `/`."""
        return "/".join(self.key) + ("/" if self.is_dir else "")


@dataclass(frozen=True)
class Change:
    status: str  # added | deleted | modified | renamed | not in cache
    old: Node | None
    new: Node | None

    @property
    def path(self) -> str:
        node = self.new if self.status == ADDED else (self.old or self.new)
        assert node is not None
        return node.path


@dataclass
class DataDiffResult:
    changes: list[Change] = field(default_factory=list)
    #: Directories (with a trailing `/`) whose contents are unknown at a side.
    unknown: list[str] = field(default_factory=list)

    def as_dvc_json(self) -> dict[str, list[dict[str, Any]]]:
        """The shape `dvc diff --json` prints (`{}` when nothing changed)."""
        out: dict[str, list[dict[str, Any]]] = {status: [] for status in STATUSES}
        for change in self.changes:
            if change.status == RENAMED:
                assert change.old is not None
                assert change.new is not None
                out[RENAMED].append({"path": {"old": change.old.path, "new": change.new.path}})
            else:
                out[change.status].append({"path": change.path})
        return out if any(out.values()) else {}


class _Side:
    """One revision's index: outputs, and the files and subdirectories inside them."""

    def __init__(
        self, outputs: Mapping[str, Output], manifests: Mapping[str, Any], skip: set[str]
    ) -> None:
        self.nodes: dict[Key, Node] = {}
        self.children: dict[Key, set[Key]] = defaultdict(set)
        self.unknown: set[Key] = set()
        for out in outputs.values():
            key = tuple(out.path.split("/"))
            self.nodes[key] = Node(key, out.hash, out.is_dir, out.size, out.nfiles)
            if out.is_dir and out.hash is not None and out.path not in skip:
                manifest = manifests.get(out.hash[1])
                if manifest is None:
                    self.unknown.add(key)
                else:
                    self._add_manifest(key, out.hash[0], manifest)

    def _add_manifest(self, root: Key, name: str, manifest: Mapping[str, str]) -> None:
        nodes, children, top = self.nodes, self.children, len(root)
        new = tuple.__new__  # Node(...) without its Python-level __new__: one per file
        for relpath, md5 in manifest.items():
            key = root + tuple(relpath.split("/"))
            if key not in nodes:
                nodes[key] = new(Node, (key, (name, md5), False, None, None))
            child = key
            while len(child) > top:  # register the chain of parents up to the first known
                parent = child[:-1]
                siblings = children[parent]
                if child in siblings:
                    break
                siblings.add(child)
                if len(parent) > top and parent not in nodes:
                    nodes[parent] = new(Node, (parent, None, True, None, None))
                child = parent

    def ls(self, key: Key) -> set[Key] | None:
        """The entries directly inside `key`; None when its manifest is unknown."""
        if key in self.unknown:
            return None
        return self.children.get(key, set())


def _entry_status(old: Node | None, new: Node | None) -> str | None:
    """added | deleted | modified, or None when unchanged (DVC compares hash and kind)."""
    if old is None:
        return ADDED if new is not None else None
    if new is None:
        return DELETED
    if old.is_dir != new.is_dir or old.hash != new.hash:
        return MODIFIED
    return None


def _walk(
    old: _Side, new: _Side, roots: set[Key]
) -> Iterator[tuple[str | None, Node | None, Node | None]]:
    """(status, old, new) of every entry under the roots, breadth first; the status is
    None when unchanged or inside a directory whose contents are unknown."""
    todo: deque[tuple[set[Key], bool]] = deque([(roots, False)])
    while todo:
        keys, unknown = todo.popleft()
        for key in keys:
            o, n = old.nodes.get(key), new.nodes.get(key)
            if (o and o.is_dir) or (n and n.is_dir):
                old_items = old.ls(key) if o else set()
                new_items = new.ls(key) if n else set()
                inner_unknown = unknown or old_items is None or new_items is None
                todo.append(((old_items or set()) | (new_items or set()), inner_unknown))
            if o is None and n is None:
                continue
            yield (None if unknown else _entry_status(o, n)), o, n


def _renames(added: list[Change], deleted: list[Change]) -> Iterator[Change]:
    """Pair added and deleted entries of equal hash, as DVC does (smallest paths first)."""
    queues: dict[HashKey | None, deque[Change]] = defaultdict(deque)
    for change in sorted(deleted, key=lambda c: c.old.key if c.old else ()):
        queues[change.old.hash if change.old else None].append(change)
    for change in sorted(added, key=lambda c: c.new.key if c.new else ()):
        queue = queues.get(change.new.hash if change.new else None)
        if change.new and change.new.hash and queue:
            yield Change(RENAMED, queue.popleft().old, change.new)
        else:
            yield change
    for queue in queues.values():
        yield from queue


def diff_data(
    base: Mapping[str, Output],
    head: Mapping[str, Output],
    manifests: Mapping[str, Mapping[str, str] | None],
    in_cache: Callable[[HashKey], bool] | None = None,
) -> DataDiffResult:
    """DVC's data diff of two revisions' outputs (path → `Output`).

    `manifests` maps a directory's hash value (`….dir`) to its manifest (relpath →
    md5), or None when it could not be read. With `in_cache` (does the cache hold this
    object?), base entries the cache lacks are also reported as *not in cache*.
    """
    # Without the cache question, an unchanged directory's files are all unchanged too.
    same: set[str] = set()
    if in_cache is None:
        same = {p for p, o in base.items() if o.is_dir and p in head and head[p].hash == o.hash}
    old = _Side(base, manifests, same)
    new = _Side(head, manifests, same)
    roots = {tuple(p.split("/")) for p in (*base, *head)}
    changes: list[Change] = []
    added: list[Change] = []
    deleted: list[Change] = []
    seen: list[Node] = []
    for status, o, n in _walk(old, new, roots):
        if o is not None:
            seen.append(o)
        if status is None:
            continue
        change = Change(status, o, n)
        {ADDED: added, DELETED: deleted}.get(status, changes).append(change)
    changes.extend(_renames(added, deleted))
    changes = [c for c in changes if not _hashless_dir(c)]
    # A directory whose contents are unknown matters only when it changed.
    changed = {c.old.key for c in changes if c.old} | {c.new.key for c in changes if c.new}
    unknown = sorted("/".join(k) + "/" for k in (old.unknown | new.unknown) & changed)
    if in_cache is not None:
        changes += [
            Change(NOT_IN_CACHE, node, None)
            for node in seen
            if node.hash is not None and not in_cache(node.hash)
        ]
    return DataDiffResult(changes=changes, unknown=unknown)


def _hashless_dir(change: Change) -> bool:
    """Subdirectories inside a tracked directory have no hash: DVC never reports them."""
    return any(n is not None and n.is_dir and n.hash is None for n in (change.old, change.new))
