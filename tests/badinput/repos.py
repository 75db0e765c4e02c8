"""Tiny git repositories for the corpus: made once per session, copied per case."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIXED_DATE = "2026-02-01T12:00:00+00:00"
GOOD_METRICS = '{"accuracy": 0.91, "loss": 0.2}\n'


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": FIXED_DATE, "GIT_COMMITTER_DATE": FIXED_DATE}
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    """A repository on `main` with one commit holding `files`."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    commit(root, files, "initial")
    return root


def commit(root: Path, files: dict[str, str | bytes], message: str) -> str:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def copy_repo(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


def config_yaml(
    *, metrics: str = "metrics.json", params: str | None = None, gate: bool = True
) -> str:
    """An mlops-ci.yaml for model `clf` reading `metrics` (and `params`)."""
    text = f"metrics:\n  files: [{metrics!r}]\n"
    if gate:
        text += "  gates:\n    accuracy: {direction: higher, min: 0.5}\n"
    if params is not None:
        text += f"params:\n  files: [{params!r}]\n"
    return text + "models:\n  clf:\n    stages: [staging, production]\n"
