"""The release workflow of mlops-ci itself (`.github/workflows/release-package.yml`):
its build job's scripts run for real, in bash, on a clone of this repository at HEAD,
with the environment GitHub gives them on a pushed tag.

What runs is the YAML's own `run:` text, with one change: `python -m build` gets
`--no-isolation`, because the isolated build would fetch hatchling from a package index
this test does not reach; the build backend is then the installed hatchling. The
publish and GitHub Release jobs talk to PyPI and GitHub only; here they are checked for
their triggers and permissions, and the linters (test_lint.py) read all of it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "release-package.yml"
BUILD = "python -m build --outdir dist/ ."


def _workflow() -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as True.
        data["on"] = data.pop(True)
    return data


def _build_step(name: str) -> dict[str, Any]:
    steps = [s for s in _workflow()["jobs"]["build"]["steps"] if s.get("name") == name]
    assert len(steps) == 1, f"the build job has one step named {name!r}"
    return steps[0]


def _script(name: str) -> str:
    script: str = _build_step(name)["run"]
    if BUILD in script:
        assert script.count(BUILD) == 1
        script = script.replace(BUILD, BUILD.replace("build", "build --no-isolation", 1))
    return script


def _documented_stamp() -> str:
    docs = (REPO_ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```bash\n(.*?)```", docs, re.S) if "release_pin.py" in b]
    assert len(blocks) == 1
    return "\n".join(line.strip() for line in blocks[0].strip().splitlines())


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _version() -> str:
    text = (REPO_ROOT / "mlops_ci" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match
    return match.group(1)


class Runner:
    """Runs build-job scripts in a checkout, as the runner would: bash -e, the env of
    a pushed tag, GITHUB_OUTPUT collected, the interpreter of this test first on PATH."""

    def __init__(self, checkout: Path, tmp: Path, ref_name: str, ref_type: str = "tag") -> None:
        self.checkout = checkout
        self.output = tmp / f"output-{ref_name}"
        self.output.write_text("", encoding="utf-8")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))},
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
            "GITHUB_SHA": _git(checkout, "rev-parse", "HEAD"),
            "GITHUB_REF_NAME": ref_name,
            "GITHUB_REF_TYPE": ref_type,
            "GITHUB_OUTPUT": str(self.output),
            "PIP_NO_INDEX": "1",
        }

    def run(self, step: str) -> subprocess.CompletedProcess[str]:
        bash = shutil.which("bash")
        assert bash is not None
        return subprocess.run(
            [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", _script(step)],
            cwd=self.checkout, env=self.env, capture_output=True, text=True,
            check=False, timeout=180,
        )  # fmt: skip

    def outputs(self) -> dict[str, str]:
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository at HEAD: what actions/checkout gives the job."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("the tests do not run from a git checkout")
    pytest.importorskip("build", reason="pip install -e '.[test]' provides build")
    pytest.importorskip("hatchling", reason="pip install -e '.[test]' provides hatchling")
    root = tmp_path_factory.mktemp("release") / "mlops-ci"
    head = _git(REPO_ROOT, "rev-parse", "HEAD")
    _git(REPO_ROOT.parent, "clone", "-q", "--shared", "--no-checkout", str(REPO_ROOT), str(root))
    _git(root, "checkout", "-q", "--detach", head)
    return root


@pytest.fixture(scope="module")
def released(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The build job's steps, in order, for the tag of the checked-out version."""
    runner = Runner(checkout, tmp_path_factory.mktemp("runner"), f"v{_version()}")
    for step in (
        "Check the tag against the version",
        "Stamp the release into mlops_ci/release_pin.py",
        "Build the sdist and the wheel",
        "Check the stamp in the distributions",
    ):
        result = runner.run(step)
        assert result.returncode == 0, f"{step}:\n{result.stdout}{result.stderr}"
    return runner


def _stamped(text: str) -> tuple[str | None, str | None]:
    namespace: dict[str, Any] = {}
    exec(compile(text, "release_pin.py", "exec"), namespace)
    return namespace["RELEASE_COMMIT"], namespace["RELEASE_TAG"]


def test_the_build_makes_an_sdist_and_a_wheel_that_carry_the_release(released: Runner) -> None:
    version, sha = _version(), released.env["GITHUB_SHA"]
    dist = released.checkout / "dist"
    wheel = dist / f"mlops_ci-{version}-py3-none-any.whl"
    sdist = dist / f"mlops_ci-{version}.tar.gz"
    assert sorted(p.name for p in dist.iterdir()) == sorted([wheel.name, sdist.name])
    with zipfile.ZipFile(wheel) as archive:
        pin = archive.read("mlops_ci/release_pin.py").decode()
        metadata = archive.read(f"mlops_ci-{version}.dist-info/METADATA").decode()
    assert _stamped(pin) == (sha, f"v{version}")
    assert f"\nVersion: {version}\n" in metadata
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(f"mlops_ci-{version}/mlops_ci/release_pin.py")
        assert member is not None
        assert _stamped(member.read().decode()) == (sha, f"v{version}")
    assert released.outputs() == {
        "version": version,
        "tag": f"v{version}",
        "major": f"v{version.split('.')[0]}",
        "prerelease": "false" if re.fullmatch(r"\d+\.\d+\.\d+", version) else "true",
    }


def test_the_stamp_step_is_the_documented_one() -> None:
    """docs/workflows.md shows the stamp (and test_init_pin.py runs that block)."""
    step = _build_step("Stamp the release into mlops_ci/release_pin.py")
    ran = "\n".join(line.strip() for line in step["run"].strip().splitlines())
    assert ran == _documented_stamp()
    # Its inputs are the runner's own variables: no expression is expanded in the script.
    assert "${{" not in step["run"]
    assert step["if"] == "github.ref_type == 'tag'"


def test_a_tag_that_is_not_the_version_is_refused(checkout: Path, tmp_path: Path) -> None:
    runner = Runner(checkout, tmp_path, "v9.9.9")
    result = runner.run("Check the tag against the version")
    assert result.returncode == 1
    expected = f'tag v9.9.9 does not match mlops_ci/__init__.py: __version__ = "{_version()}"'
    assert expected in result.stdout
    assert runner.outputs() == {}


def test_a_tag_on_another_commit_is_refused(checkout: Path, tmp_path: Path) -> None:
    runner = Runner(checkout, tmp_path, f"v{_version()}")
    runner.env["GITHUB_SHA"] = "0" * 40
    result = runner.run("Check the tag against the version")
    assert result.returncode == 1
    assert f"but the tag names {'0' * 40}" in result.stdout


def test_a_run_by_hand_from_a_branch_is_a_dry_run(checkout: Path, tmp_path: Path) -> None:
    runner = Runner(checkout, tmp_path, "main", ref_type="branch")
    result = runner.run("Check the tag against the version")
    assert result.returncode == 0, result.stderr
    assert f"dry run from main: this commit would be released as v{_version()}" in result.stdout
    assert runner.outputs()["tag"] == f"v{_version()}"
    assert _workflow()["on"] == {"push": {"tags": ["v*.*.*"]}, "workflow_dispatch": None}


def test_a_stamp_that_is_not_the_release_is_refused(released: Runner, tmp_path: Path) -> None:
    runner = Runner(released.checkout, tmp_path, f"v{_version()}")
    runner.env["GITHUB_SHA"] = "f" * 40
    result = runner.run("Check the stamp in the distributions")
    assert result.returncode == 1
    assert "carries" in result.stderr
    assert "expected" in result.stderr


def test_only_a_pushed_tag_publishes_and_each_job_holds_only_what_it_needs() -> None:
    workflow = _workflow()
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["publish"]["permissions"] == {"id-token": "write", "attestations": "write"}
    assert jobs["publish"]["environment"]["name"] == "pypi"
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    tag_push = "github.event_name == 'push' && github.ref_type == 'tag'"
    assert jobs["publish"]["if"] == jobs["github-release"]["if"] == tag_push
    publish = [s for s in jobs["publish"]["steps"] if "pypi-publish" in s.get("uses", "")]
    # Trusted publishing: no password or token is handed to the upload.
    assert len(publish) == 1
    assert not {"password", "user"} & set(publish[0].get("with", {}))
    # The token of the release job reaches only the steps that call GitHub.
    for step in jobs["github-release"]["steps"]:
        if "run" in step:
            assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
            assert "${{" not in step["run"]
