"""Shared fixtures: isolated git, the real sample project, and GitHub's real payloads."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from github_data import github_data

from mlops_ci.services.shared.sample_project import SampleProject, copy_sample, make_sample_project

pytest_plugins = ["github_double.fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]

RUNNER_VARIABLES = (
    "GITHUB_ACTIONS", "GITHUB_TOKEN", "GH_TOKEN", "MLOPS_CI_GITHUB_TOKEN", "GITHUB_EVENT_PATH",
    "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY", "GITHUB_EVENT_NAME", "CI",
)  # fmt: skip

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# Fixed dates instead of sleeping: tags and commits order deterministically.
FIXED_DATE = "2026-02-01T12:00:00+00:00"


def _isolate_git(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "DVC_NO_ANALYTICS": "1",
        "DVC_GLOBAL_CONFIG_DIR": str(home / ".dvc-global"),
        "DVC_SITE_CACHE_DIR": str(home / ".dvc-site-cache"),
    }


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads the developer's git or DVC config, or talks to a GitHub it did not start."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(_isolate_git(home))
    # As in an activated virtual environment: the sample pipeline's `python` is ours.
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    for name in RUNNER_VARIABLES:
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def sample_project_template(tmp_path_factory: pytest.TempPathFactory) -> SampleProject:
    """The sample ML project, built once per test session (never modify it: copy it)."""
    return make_sample_project(tmp_path_factory.mktemp("sample") / "sample")


@pytest.fixture
def sample_project(sample_project_template: SampleProject, tmp_path: Path) -> SampleProject:
    """A private copy of the sample project (repository, DVC remote, bare origin)."""
    return copy_sample(sample_project_template, tmp_path / "sample")


@pytest.fixture(scope="session")
def promoted_template(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> SampleProject:
    """A copy of the sample with `main` registered as v1.0.0 and promoted to staging,
    then production, through the CLI (each promotion proved by serving the release):
    built once per session, never modified (copy it)."""
    sample = copy_sample(sample_project_template, tmp_path_factory.mktemp("promoted") / "s")
    steps = (
        ["register", "cancer-classifier", "--version", "v1.0.0", "--ref", sample.main_sha],
        ["promote", "cancer-classifier", "--version", "v1.0.0", "--stage", "staging"],
        ["promote", "cancer-classifier", "--version", "v1.0.0", "--stage", "production"],
    )
    for step in steps:
        done = subprocess.run(
            [sys.executable, "-m", "mlops_ci", *step], cwd=sample.root,
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    return sample


@pytest.fixture
def promoted(
    promoted_template: SampleProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SampleProject:
    """A private copy of the sample with v1.0.0 in production; the working directory."""
    sample = copy_sample(promoted_template, tmp_path / "sample")
    monkeypatch.chdir(sample.root)
    return sample


class GitRepo:
    """A real git repository in a temporary directory, with explicit dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tick = 0

    def git(self, *args: str, date: str | None = None) -> str:
        env = dict(os.environ)
        if date is None:
            self._tick += 1
            date = f"2026-02-01T12:{self._tick // 60:02d}:{self._tick % 60:02d}+00:00"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        result = subprocess.run(
            ["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True
        )
        return result.stdout.strip()

    def write(self, path: str, text: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def commit(
        self, message: str, files: dict[str, str] | None = None, date: str | None = None
    ) -> str:
        for path, text in (files or {}).items():
            self.write(path, text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, date=date)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch `main`."""
    root = tmp_path / "repo"
    root.mkdir()
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    return repo


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local S3 server (moto) on 127.0.0.1, with its test credentials in the environment."""
    pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed")
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


MERMAID_BLOCK = re.compile(r"```mermaid\n(.*?)\n?```", re.DOTALL)
# Read before `isolated_environment` drops CI: under CI a missing renderer fails the
# chart tests instead of skipping them (.ci/run installs mermaid-cli and Chromium).
UNDER_CI = bool(os.environ.get("CI"))


def _mermaid_cli() -> tuple[str, str]:
    """mmdc and the browser it drives: `MLOPS_CI_MMDC` and `MLOPS_CI_CHROMIUM` (as
    .ci/run exports them), else `mmdc` and `chromium` on PATH."""
    mmdc = os.environ.get("MLOPS_CI_MMDC") or shutil.which("mmdc")
    chromium = os.environ.get("MLOPS_CI_CHROMIUM") or shutil.which("chromium")
    found = [p for p in (mmdc, chromium) if p and os.access(p, os.X_OK)]
    if mmdc and chromium and len(found) == 2:
        return mmdc, chromium
    reason = (
        f"mermaid-cli (mmdc: {mmdc or 'not found'}) or Chromium ({chromium or 'not found'}) "
        "is missing: charts are not rendered (`bash .ci/install-mermaid DIR` installs both "
        "and prints the MLOPS_CI_MMDC and MLOPS_CI_CHROMIUM to set)"
    )
    if UNDER_CI:
        pytest.fail(f"{reason}; under CI they must be", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def render_mermaid(tmp_path: Path) -> Callable[..., list[Path]]:
    """Render every Mermaid block of some Markdown with the real Mermaid renderer.

    `render(markdown, name="charts")` returns one PNG per block; a chart Mermaid cannot
    parse fails the test, naming it (`name`, its number and title) with Mermaid's error.
    The blocks are rendered by one mmdc process (one browser start). Skipped, with the
    reason, where mermaid-cli or Chromium is missing, except under CI, where it fails.
    """
    mmdc, chromium = _mermaid_cli()
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium, "args": CHROMIUM_ARGS}))
    calls = iter(range(1, 1000))

    def render(markdown: str, name: str = "charts") -> list[Path]:
        blocks = MERMAID_BLOCK.findall(markdown)
        assert blocks, f"{name}: no Mermaid chart in the Markdown"
        folder = tmp_path / f"mermaid{next(calls)}"
        folder.mkdir()
        source = folder / "charts.md"
        source.write_text("".join(f"```mermaid\n{block}\n```\n\n" for block in blocks))
        proc = subprocess.run(
            [mmdc, "-p", str(config), "-i", str(source), "-o", str(folder / "out.md"),
             "-e", "png"],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        pngs = [folder / f"out-{i}.png" for i in range(1, len(blocks) + 1)]
        # mmdc renders the blocks in order and stops at the first it cannot parse.
        broken = next((i for i, png in enumerate(pngs) if not png.is_file()), None)
        error = "\n".join(proc.stderr.strip().splitlines()[:6])
        if broken is not None:
            block = blocks[broken]
            title = next((t.strip() for t in block.splitlines() if "title " in t), "untitled")
            pytest.fail(
                f"{name}: Mermaid cannot render chart {broken + 1} of {len(blocks)} "
                f"({title}):\n{error}\n--- chart ---\n{block}",
                pytrace=False,
            )
        assert proc.returncode == 0, f"{name}: mmdc failed: {error}"
        return pngs

    return render


@pytest.fixture
def payloads_dir() -> Path:
    """GitHub's real webhook payloads, kept in tests/data/github/payloads (a missing
    folder fails the test: it never skips)."""
    return github_data("payloads")
