"""Which commit of mlops-ci `mlops-ci init` pins the workflows to: `--ref`, the stamped
release, the commit pip installed from, the source checkout; and refusals otherwise."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import mlops_ci.release_pin
from mlops_ci.errors import InputError
from mlops_ci.services.init import Pin, choose_pin
from mlops_ci.services.init.pin import (
    SHA_RE,
    VERSION_TAG_RE,
    checkout_head,
    installed_pin,
    pip_vcs_commit,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"
NO_RELEASE: tuple[str | None, str | None] = (None, None)


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _direct_url(url: str, revision: str | None = None, commit: str = SHA) -> str:
    vcs: dict[str, str] = {"vcs": "git", "commit_id": commit}
    if revision is not None:
        vcs["requested_revision"] = revision
    return json.dumps({"url": url, "vcs_info": vcs})


def test_a_sha_ref_is_pinned_with_its_tag() -> None:
    assert choose_pin(SHA, "v1.2.3", release=NO_RELEASE) == Pin(SHA, "v1.2.3")
    assert choose_pin(SHA.upper(), release=NO_RELEASE) == Pin(SHA)
    # The commit of the stamped release gets the release's tag without --ref-tag.
    assert choose_pin(SHA, release=(SHA, "v2.0.0")) == Pin(SHA, "v2.0.0")
    assert choose_pin(OTHER, release=(SHA, "v2.0.0")) == Pin(OTHER)
    assert Pin(SHA, "v1.2.3").suffix() == f"@{SHA} # v1.2.3"
    assert Pin(SHA).suffix() == f"@{SHA}"


def test_a_tag_ref_needs_allow_unpinned() -> None:
    with pytest.raises(InputError, match=r"'v1\.4\.0' is a tag or branch, not a commit SHA"):
        choose_pin("v1.4.0", release=NO_RELEASE)
    pin = choose_pin("v1.4.0", allow_unpinned=True, release=NO_RELEASE)
    assert (pin.ref, pin.tag, pin.by_commit) == ("v1.4.0", None, False)
    assert pin.note is not None
    assert "unpinned-uses" in pin.note
    with pytest.raises(InputError, match="only with a commit SHA"):
        choose_pin("v1.4.0", "v1.4.0", allow_unpinned=True, release=NO_RELEASE)


@pytest.mark.parametrize(
    ("ref", "tag", "message"),
    [
        ("v1; rm -rf /", None, "is not a git tag, branch or commit"),
        (SHA, "1.2.3; x", "is not a version tag"),
        (None, "v1.2.3", "pass --ref <sha> too"),
    ],
)
def test_bad_ref_or_tag_is_one_clear_error(ref: str | None, tag: str | None, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        choose_pin(ref, tag, allow_unpinned=True, release=NO_RELEASE)


def test_the_stamped_release_comes_first(tmp_path: Path) -> None:
    upstream = _direct_url("https://github.com/mlops-ci/mlops-ci", "v9.9.9", OTHER)
    pin = installed_pin((SHA, "v1.2.3"), direct_url=upstream, package_dir=tmp_path)
    assert pin == Pin(SHA, "v1.2.3")
    assert pin.note is None


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (_direct_url("https://github.com/mlops-ci/mlops-ci", "v1.2.3"), (SHA, "v1.2.3")),
        (_direct_url("https://github.com/mlops-ci/mlops-ci.git"), (SHA, None)),
        (_direct_url("ssh://git@github.com/mlops-ci/mlops-ci.git", "main"), (SHA, "main")),
        # A fork's commit, called through mlops-ci/mlops-ci, would be an impostor commit.
        (_direct_url("https://github.com/someone/mlops-ci", "v1.2.3"), None),
        (_direct_url("https://github.com/mlops-ci/mlops-ci", commit="abc123"), None),
        (json.dumps({"url": "file:///src/mlops-ci", "dir_info": {"editable": True}}), None),
        ("{not json", None),
        (None, None),
    ],
)
def test_commit_pip_installed_from(
    direct_url: str | None, expected: tuple[str, str | None] | None
) -> None:
    assert pip_vcs_commit(direct_url) == expected


def test_pip_install_from_a_release_tag_or_a_branch(tmp_path: Path) -> None:
    tagged = _direct_url("https://github.com/mlops-ci/mlops-ci", "v1.2.3")
    assert installed_pin(NO_RELEASE, direct_url=tagged, package_dir=tmp_path) == Pin(SHA, "v1.2.3")
    branch = _direct_url("https://github.com/mlops-ci/mlops-ci", "main")
    pin = installed_pin(NO_RELEASE, direct_url=branch, package_dir=tmp_path)
    assert (pin.ref, pin.tag) == (SHA, None)
    assert pin.note is not None
    assert "no release" in pin.note


def test_a_source_checkout_pins_its_head() -> None:
    """This checkout runs the tests: its HEAD is what a development install pins."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("the tests do not run from a git checkout")
    head = _git(REPO_ROOT, "rev-parse", "HEAD")
    assert checkout_head(REPO_ROOT / "mlops_ci") == head
    pin = installed_pin(NO_RELEASE, direct_url=None, package_dir=REPO_ROOT / "mlops_ci")
    assert (pin.ref, pin.tag) == (head, None)
    assert pin.note is not None
    assert head in pin.note


def test_a_package_inside_some_other_repository_is_not_a_checkout(tmp_path: Path) -> None:
    """A virtualenv inside the user's repository: its HEAD is not a commit of mlops-ci."""
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n", encoding="utf-8")
    _git(tmp_path, "add", "pyproject.toml")
    _git(tmp_path, "commit", "-q", "-m", "mine")
    package = tmp_path / ".venv" / "lib" / "site-packages" / "mlops_ci"
    package.mkdir(parents=True)
    assert checkout_head(package) is None
    with pytest.raises(InputError, match="knows no release commit") as raised:
        installed_pin(NO_RELEASE, direct_url=None, package_dir=package)
    assert "--ref <40-hex commit SHA>" in str(raised.value.hint)
    assert checkout_head(tmp_path / "not-a-repo") is None


def test_the_source_tree_carries_no_stamp_or_a_well_formed_one() -> None:
    commit, tag = mlops_ci.release_pin.RELEASE_COMMIT, mlops_ci.release_pin.RELEASE_TAG
    assert (commit is None) == (tag is None)
    if commit is not None and tag is not None:
        assert SHA_RE.match(commit)
        assert VERSION_TAG_RE.match(tag)


def _stamp_commands() -> str:
    """The stamp step docs/workflows.md gives the release job."""
    docs = (REPO_ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```bash\n(.*?)```", docs, re.S)
    stamps = [block for block in blocks if "mlops_ci/release_pin.py" in block]
    assert len(stamps) == 1, "docs/workflows.md shows one stamp step"
    return stamps[0]


def test_the_documented_stamp_sets_the_release(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    (tmp_path / "mlops_ci").mkdir()
    target = tmp_path / "mlops_ci" / "release_pin.py"
    shutil.copyfile(REPO_ROOT / "mlops_ci" / "release_pin.py", target)
    env = {**os.environ, "GITHUB_SHA": SHA, "GITHUB_REF_NAME": "v1.2.3"}
    subprocess.run([bash, "-eu", "-c", _stamp_commands()], cwd=tmp_path, env=env, check=True)
    namespace: dict[str, object] = {}
    exec(compile(target.read_text(encoding="utf-8"), str(target), "exec"), namespace)
    assert (namespace["RELEASE_COMMIT"], namespace["RELEASE_TAG"]) == (SHA, "v1.2.3")
