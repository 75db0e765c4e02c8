"""Git, through the `git` command line: refs, files at a revision, and annotated tags.

Every call runs `git` with a list of arguments (never a shell) in the repository root.
Tags are read in one `git for-each-ref` call, NUL-separated, so a registry of ten
thousand tags costs one process; a branch's history is one `git log` and the files
at all its commits one `git cat-file --batch`, however many commits. Tags are created
annotated, pushed one per push (GitHub sends no push event when more than three tags
arrive in one push), and never moved, deleted or force-pushed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlops_ci.errors import GitError, InputError, PolicyRefused

if TYPE_CHECKING:
    from mlops_ci.adapters.process import ChildResult
    from mlops_ci.core.registry import GitTagRecord

_TAG_FIELDS = (
    "%(refname)",
    "%(objecttype)",
    "%(objectname)",
    "%(*objectname)",
    "%(*objecttype)",
    "%(taggername)",
    "%(taggeremail:trim)",
    "%(taggerdate:iso-strict)",
    "%(contents)",
)
_TAG_FORMAT = "%00".join(_TAG_FIELDS) + "%00"
_NETWORK = frozenset({"push", "fetch", "ls-remote", "pull"})
GIT_TIMEOUT_VARIABLE = "MLOPS_CI_GIT_TIMEOUT_MINUTES"
_SIGNATURE_MARKERS = ("-----BEGIN PGP SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----")


def git_timeout() -> float:
    """Seconds a git call may take: `MLOPS_CI_GIT_TIMEOUT_MINUTES`, else 5 minutes."""
    raw = os.environ.get(GIT_TIMEOUT_VARIABLE, "").strip()
    try:
        minutes = float(raw) if raw else 5.0
    except ValueError:
        minutes = 5.0
    return max(minutes, 0.001) * 60


@dataclass(frozen=True)
class TagResult:
    """What `create_annotated_tag` or `push_tag` did: created/pushed, or it was already so."""

    name: str
    commit: str
    outcome: Literal["created", "exists", "pushed", "already-pushed"]


class Git:
    """A git repository at ``root``; all operations run the `git` CLI."""

    def __init__(self, root: Path | str, env: Mapping[str, str] | None = None) -> None:
        self.root = Path(root)
        self._env = dict(env) if env is not None else None

    def with_env(self, extra: Mapping[str, str]) -> Git:
        """The same repository, with `extra` added to git's environment (an identity)."""
        base = os.environ if self._env is None else self._env
        return Git(self.root, env={**base, **extra})

    # --- plumbing -------------------------------------------------------------------

    def run(self, *args: str, check: bool = True, input_bytes: bytes | None = None) -> ChildResult:
        """Run ``git ARGS`` in the repository; raise GitError on failure when ``check``.

        Only git's own network calls (push, fetch, ls-remote) see the token and the
        credential helper; every other git runs without them. Each call is stopped
        after `MLOPS_CI_GIT_TIMEOUT_MINUTES` (default 5).
        """
        from mlops_ci.adapters.process import run_child, scrub_credentials, with_git_credentials

        base = os.environ if self._env is None else self._env
        network = bool(args) and args[0] in _NETWORK
        env = with_git_credentials(base) if network else scrub_credentials(base)
        env.setdefault("GIT_TERMINAL_PROMPT", "0")
        try:
            proc = run_child(
                ["git", *args],
                cwd=self.root,
                env=env,
                input_bytes=input_bytes,
                timeout=git_timeout(),
                what=f"git {args[0] if args else ''}".strip(),
                timeout_setting=f"{GIT_TIMEOUT_VARIABLE} (minutes; default 5)",
                error=GitError,
            )
        except FileNotFoundError:
            if not self.root.is_dir():
                raise GitError(f"{self.root}: no such directory") from None
            raise GitError("git is not installed or not on PATH") from None
        if check and proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}")
        return proc

    def _out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "replace").strip()

    # --- reading --------------------------------------------------------------------

    def is_repo(self) -> bool:
        return self.run("rev-parse", "--git-dir", check=False).returncode == 0

    def rev_parse(self, rev: str) -> str:
        """The full commit hexsha ``rev`` names; GitError when it names no commit."""
        proc = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if proc.returncode != 0:
            raise GitError(
                f"unknown revision {rev!r}",
                hint="check the name; in CI fetch full history (actions/checkout fetch-depth: 0)",
            )
        return proc.stdout.decode().strip()

    def current_sha(self) -> str:
        """The commit checked out (HEAD)."""
        return self.rev_parse("HEAD")

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two revisions, or None when they share no history."""
        proc = self.run("merge-base", a, b, check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip() or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is reachable from ``descendant`` (or is it)."""
        proc = self.run("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        if proc.returncode in (0, 1):
            return proc.returncode == 0
        raise GitError(f"cannot compare {ancestor!r} and {descendant!r}: unknown revision")

    def show_file(self, rev: str, path: str) -> bytes | None:
        """The bytes of ``path`` (relative to the repository root) at ``rev``; None if absent."""
        clean = path.replace("\\", "/").lstrip("/")
        proc = self.run("cat-file", "blob", f"{rev}:{clean}", check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout

    def list_files(self, rev: str) -> list[str]:
        """Every file path in the tree of ``rev`` (relative to the repository root)."""
        raw = self.run("ls-tree", "-r", "-z", "--name-only", rev).stdout
        return [p for p in raw.decode("utf-8", "replace").split("\0") if p]

    def commit_time(self, rev: str) -> datetime:
        """The committer date of ``rev``."""
        return datetime.fromisoformat(self._out("show", "-s", "--format=%cI", rev))

    def default_branch(self, remote: str = "origin") -> str:
        """The default branch: the remote's HEAD, else main/master (remote or local), else
        the current branch."""
        proc = self.run("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
        if proc.returncode == 0:
            ref = proc.stdout.decode().strip()
            return ref.removeprefix(f"refs/remotes/{remote}/")
        for name in ("main", "master"):
            for ref in (f"refs/remotes/{remote}/{name}", f"refs/heads/{name}"):
                if self._ref_exists(ref):
                    return name
        proc = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if proc.returncode == 0:
            return proc.stdout.decode().strip()
        raise GitError("cannot tell the default branch", hint="set default_branch in mlops-ci.yaml")

    def _ref_exists(self, ref: str) -> bool:
        return self.run("show-ref", "--verify", "--quiet", ref, check=False).returncode == 0

    def branch_ref(self, branch: str, remote: str = "origin") -> str:
        """A revision for ``branch``: the remote-tracking ref when present, else the local one."""
        for ref in (f"refs/remotes/{remote}/{branch}", f"refs/heads/{branch}"):
            if self.run("show-ref", "--verify", "--quiet", ref, check=False).returncode == 0:
                return ref
        raise GitError(f"branch {branch!r} not found", hint="fetch it, or set default_branch")

    def resolve_branch(self, branch: str) -> str:
        """A ref for ``branch``: the remote's copy when fetched, else the local branch,
        else any revision of that name; GitError when there is none."""
        try:
            return self.branch_ref(branch)
        except GitError:
            try:
                self.rev_parse(branch)
            except GitError:
                raise GitError(
                    f"branch {branch!r} not found",
                    hint="fetch it (actions/checkout with fetch-depth: 0), or pass --branch",
                ) from None
            return branch

    def toplevel(self) -> Path | None:
        """The top directory of the repository holding ``root``; None outside one."""
        proc = self.run("rev-parse", "--show-toplevel", check=False)
        top = proc.stdout.decode("utf-8", "replace").strip()
        return Path(top) if proc.returncode == 0 and top else None

    def path_prefix(self) -> str:
        """Where ``root`` sits inside its repository (``""`` at the top), for
        ``<rev>:<path>`` names."""
        return self.run("rev-parse", "--show-prefix").stdout.decode().strip()

    def log_first_parent(self, ref: str, last: int | None) -> list[tuple[str, str, str]]:
        """(sha, committer date, subject) of ``ref``'s first-parent history, newest first;
        the newest ``last`` commits, or all when None. One `git log` process."""
        args = ["log", "-z", "--first-parent", "--format=%H%x00%cI%x00%s"]
        if last is not None:
            args.append(f"--max-count={last}")
        raw = self.run(*args, "--end-of-options", ref, "--").stdout
        fields = raw.decode("utf-8", "replace").split("\0")
        commits = []
        for i in range(0, len(fields) - 2, 3):
            sha = fields[i].strip()
            if sha:
                commits.append((sha, fields[i + 1], fields[i + 2]))
        return commits

    def read_blobs(self, specs: Sequence[str]) -> list[tuple[str, bytes] | None]:
        """The blobs ``<rev>:<path>`` names, in one `git cat-file --batch` process.

        Returns (object id, content) per spec, or None where there is no such blob.
        """
        if not specs:
            return []
        for spec in specs:
            if "\n" in spec or "\r" in spec:
                raise InputError(f"{spec!r}: a path with a line break cannot be read in a batch")
        batch = "".join(f"{s}\n" for s in specs).encode()
        out = self.run("cat-file", "--batch", input_bytes=batch).stdout
        results: list[tuple[str, bytes] | None] = []
        pos = 0
        for _ in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode("utf-8", "replace").split(" ")
            pos = end + 1
            if len(header) == 3 and header[2].isdigit():
                oid, kind, size = header[0], header[1], int(header[2])
                content = out[pos : pos + size]
                pos += size + 1  # the content is followed by a newline
                results.append((oid, content) if kind == "blob" else None)
            else:  # "<spec> missing" or "<spec> ambiguous"
                results.append(None)
        return results

    def tags(self) -> list[GitTagRecord]:
        """Every tag with its type, target commit, tagger, date and message (one process)."""
        raw = self.run("for-each-ref", f"--format={_TAG_FORMAT}", "refs/tags").stdout
        return parse_for_each_ref(raw)

    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags()]

    def tag_target(self, name: str) -> str | None:
        """The commit a tag points at, or None when there is no such tag."""
        proc = self.run(
            "rev-parse", "--verify", "--quiet", f"refs/tags/{name}^{{commit}}", check=False
        )
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def has_remote(self, remote: str = "origin") -> bool:
        return self.run("remote", "get-url", remote, check=False).returncode == 0

    def fetch_tags(self, remote: str = "origin") -> None:
        """Fetch the remote's tags (never overwriting a local tag)."""
        self.run("fetch", "--quiet", "--no-tags", remote, "refs/tags/*:refs/tags/*")

    # --- writing --------------------------------------------------------------------

    def create_annotated_tag(self, name: str, rev: str, message: str) -> TagResult:
        """Create the annotated tag ``name`` at ``rev``.

        Re-running is safe: a tag of that name at the same commit is success ("exists");
        at another commit it is a PolicyRefused (tags are never moved).
        """
        commit = self.rev_parse(rev)
        existing = self.tag_target(name)
        if existing is not None:
            if existing == commit:
                return TagResult(name, commit, "exists")
            raise PolicyRefused(
                f"tag {name!r} already exists at {existing[:12]}, not at {commit[:12]}; "
                "tags are never moved",
            )
        proc = self.run(
            "tag",
            "--annotate",
            "--cleanup=whitespace",
            "--file=-",
            "--end-of-options",
            name,
            commit,
            check=False,
            input_bytes=message.encode("utf-8"),
        )
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            if "already exists" in err:
                return self.create_annotated_tag(name, rev, message)
            hint = None
            if "tell me who you are" in err or "empty ident" in err:
                hint = "set git user.name and user.email (or GIT_COMMITTER_NAME/EMAIL)"
            last = err.splitlines()[-1] if err else "unknown error"
            raise GitError(f"cannot create tag {name!r}: {last}", hint=hint)
        return TagResult(name, commit, "created")

    def push_tag(self, name: str, remote: str = "origin") -> TagResult:
        """Push one tag, without force.

        When the remote already has the very same tag object, that is success. When it
        has a different tag of that name (another job won a race), PolicyRefused.
        """
        local_obj = self._out("rev-parse", "--verify", f"refs/tags/{name}")
        commit = self.rev_parse(f"refs/tags/{name}")
        ref = f"refs/tags/{name}"
        proc = self.run("push", "--porcelain", remote, f"{ref}:{ref}", check=False)
        if proc.returncode == 0:
            out = proc.stdout.decode("utf-8", "replace")
            up_to_date = any(line.startswith("=") for line in out.splitlines())
            return TagResult(name, commit, "already-pushed" if up_to_date else "pushed")
        remote_obj = self._remote_tag_object(name, remote)
        if remote_obj == local_obj:
            return TagResult(name, commit, "already-pushed")
        if remote_obj is not None:
            raise PolicyRefused(
                f"the remote already has tag {name!r} (another run created it first); "
                "nothing was overwritten",
                hint="fetch tags, check `mlops-ci registry`, and run again if still needed",
            )
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"cannot push tag {name!r}: {err[-1] if err else 'push failed'}")

    def _remote_tag_object(self, name: str, remote: str) -> str | None:
        proc = self.run("ls-remote", remote, f"refs/tags/{name}", check=False)
        for line in proc.stdout.decode().splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/tags/{name}":
                return sha
        return None


def parse_for_each_ref(raw: bytes) -> list[GitTagRecord]:
    """Parse the NUL-separated output of ``git for-each-ref --format=<_TAG_FORMAT>``."""
    from mlops_ci.core.registry import GitTagRecord  # the registry's model; not for reports

    fields = raw.decode("utf-8", "replace").split("\0")
    width = len(_TAG_FIELDS)
    records: list[GitTagRecord] = []
    # Each record ends with NUL then git's newline, which starts the next record's refname.
    for i in range(0, len(fields) - width + 1, width):
        chunk: Sequence[str] = fields[i : i + width]
        refname = chunk[0].lstrip("\n")
        if not refname.startswith("refs/tags/"):
            continue
        objtype, objname, peeled, peeled_type, tagger, email, date, contents = chunk[1:]
        if objtype == "tag":
            commit, target_type = peeled, peeled_type
            time = datetime.fromisoformat(date) if date else None
        else:
            commit, target_type, time = objname, objtype, None
        records.append(
            GitTagRecord(
                name=refname[len("refs/tags/") :],
                object_type=objtype,
                commit=commit,
                target_type=target_type,
                tagger_name=tagger,
                tagger_email=email,
                time=time,
                message=_strip_signature(contents),
            )
        )
    return records


def _strip_signature(contents: str) -> str:
    for marker in _SIGNATURE_MARKERS:
        at = contents.find(marker)
        if at >= 0:
            contents = contents[:at]
    return contents.strip()
