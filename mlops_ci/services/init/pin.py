"""Which commit of mlops-ci the workflows written by init call, and how it is written.

A reusable workflow called by tag or branch runs whatever that name points at later;
zizmor reports it (`unpinned-uses`). So init pins by commit SHA, with the release tag as
a comment for people and Dependabot: `...@<40-hex> # v1.2.3`. The commit comes from,
in order: `--ref`; the release stamped into this package (`mlops_ci.release_pin`); the
commit pip installed from mlops-ci's GitHub repository; the HEAD of the source checkout
the package runs from (a development install). A tag or branch `--ref` is written only
with `allow_unpinned`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.adapters.git import Git
from mlops_ci.errors import GitError, InputError

UPSTREAM = "mlops-ci/mlops-ci"
SHA_RE = re.compile(r"^[0-9a-fA-F]{40}$")
VERSION_TAG_RE = re.compile(r"^v\d+(\.\d+){0,2}([-+.][0-9A-Za-z.-]+)?$")
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_UPSTREAM_URL = re.compile(r"github\.com[:/]" + re.escape(UPSTREAM) + r"(\.git)?/?$")
_HINT = "pass --ref <40-hex commit SHA> --ref-tag vX.Y.Z of the mlops-ci release you use"


@dataclass(frozen=True)
class Pin:
    """The ref the workflows call, the version tag it is, and a note for the user when
    the pin is not a release (None when there is nothing to say)."""

    ref: str
    tag: str | None = None
    note: str | None = None

    @property
    def by_commit(self) -> bool:
        return bool(SHA_RE.match(self.ref))

    def suffix(self) -> str:
        """What follows the workflow path in `uses:` (`@<ref>`, then ` # <tag>`)."""
        return f"@{self.ref}" + (f" # {self.tag}" if self.tag else "")


def choose_pin(
    ref: str | None,
    tag: str | None = None,
    *,
    allow_unpinned: bool = False,
    release: tuple[str | None, str | None] | None = None,
    package_dir: Path | None = None,
) -> Pin:
    """The pin for `--ref`/`--ref-tag`, or, without `--ref`, for the installed package."""
    if tag is not None and not VERSION_TAG_RE.match(tag):
        raise InputError(f"--ref-tag: {tag!r} is not a version tag", hint="e.g. v1.2.3")
    if release is None:
        from mlops_ci.release_pin import RELEASE_COMMIT, RELEASE_TAG

        release = (RELEASE_COMMIT, RELEASE_TAG)
    if ref is None:
        if tag is not None:
            raise InputError("--ref-tag: names the release of --ref; pass --ref <sha> too")
        if package_dir is None:
            import mlops_ci

            package_dir = Path(mlops_ci.__file__).parent
        return installed_pin(release, direct_url=_direct_url(), package_dir=package_dir)
    if not REF_RE.match(ref):
        raise InputError(f"--ref: {ref!r} is not a git tag, branch or commit")
    if SHA_RE.match(ref):
        sha = ref.lower()
        return Pin(sha, tag or (release[1] if sha == release[0] else None))
    if not allow_unpinned:
        raise InputError(
            f"--ref: {ref!r} is a tag or branch, not a commit SHA: zizmor reports a "
            "reusable workflow called by it (unpinned-uses)",
            hint=_HINT + ", or add --allow-unpinned to write it anyway",
        )
    if tag is not None:
        raise InputError("--ref-tag: only with a commit SHA --ref")
    return Pin(ref, None, f"--ref {ref} is not a commit: zizmor will report unpinned-uses")


def installed_pin(
    release: tuple[str | None, str | None], *, direct_url: str | None, package_dir: Path
) -> Pin:
    """The pin for the mlops-ci that runs: its release, else the commit it came from."""
    commit, tag = release
    if commit:
        return Pin(commit, tag)
    vcs = pip_vcs_commit(direct_url)
    if vcs is not None:
        commit, revision = vcs
        if revision and VERSION_TAG_RE.match(revision):
            return Pin(commit, revision)
        return Pin(commit, None, f"pinned to commit {commit}, which pip installed mlops-ci "
                   "from; it is no release")  # fmt: skip
    head = checkout_head(package_dir)
    if head is not None:
        return Pin(head, None, f"mlops-ci runs from a source checkout: the workflows are "
                   f"pinned to its HEAD, {head}, which must be on GitHub; or {_HINT}")  # fmt: skip
    from mlops_ci import __version__

    raise InputError(
        f"mlops-ci {__version__} knows no release commit to pin the workflows to", hint=_HINT
    )


def pip_vcs_commit(direct_url: str | None) -> tuple[str, str | None] | None:
    """(commit, requested revision) of a pip install from mlops-ci's GitHub repository,
    read from the `direct_url.json` pip records (PEP 610); None for any other install."""
    if not direct_url:
        return None
    try:
        data = json.loads(direct_url)
    except ValueError:
        return None
    vcs = data.get("vcs_info") if isinstance(data, dict) else None
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git":
        return None
    commit, revision = vcs.get("commit_id"), vcs.get("requested_revision")
    if not isinstance(commit, str) or not SHA_RE.match(commit):
        return None
    if not _UPSTREAM_URL.search(str(data.get("url", ""))):
        return None  # a fork's commit would be an impostor commit under mlops-ci/mlops-ci
    return commit.lower(), revision if isinstance(revision, str) else None


def _direct_url() -> str | None:
    from importlib import metadata

    try:
        return metadata.distribution("mlops-ci").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None


def checkout_head(package_dir: Path) -> str | None:
    """HEAD of the source checkout whose top level holds the package directory (an
    editable install); None when the package lies anywhere else, e.g. in a virtualenv
    inside some other repository."""
    try:
        git = Git(package_dir)
        top = git.toplevel()
        if top is None or top.resolve() != package_dir.resolve().parent:
            return None
        if not (top / "pyproject.toml").is_file():
            return None
        return git.current_sha()
    except GitError:
        return None
