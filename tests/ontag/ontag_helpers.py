"""Helpers for the on-tag tests: the CLI in-process, real git, and GitHub's real webhook
payloads with their tag names and repository fields rewritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from github_data import github_data

from mlops_ci.cli import main

MODEL = "cancer-classifier"
GTO = str(Path(sys.executable).parent / "gto")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> CliResult:
    """`mlops-ci ARGS --root ROOT` in-process: exit code, stdout, stderr."""
    capsys.readouterr()
    try:
        main([*args, "--root", str(root)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=False, env=os.environ
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


def payload(name: str, tag: str, repository: str, default_branch: str = "main") -> dict[str, Any]:
    """A real payload from tests/data/github/payloads with `tag` and our repository in it."""
    path = github_data("payloads", f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    owner, repo = repository.split("/")
    data["repository"].update(full_name=repository, name=repo, default_branch=default_branch)
    if "master_branch" in data["repository"]:
        data["repository"]["master_branch"] = default_branch
    data["repository"]["owner"]["login"] = owner
    if name.startswith("push."):
        data["ref"] = f"refs/tags/{tag}"
    elif name.startswith("create."):
        data["ref"] = tag
        data["master_branch"] = default_branch
    elif name.startswith("release."):
        data["release"]["tag_name"] = tag
    return data
