"""Registry test helpers: real git repositories with explicit tagger dates, the CLI run
in-process, and the real `gto` CLI with a pinned clock (GTO takes its tagger date from
the wall clock, not GIT_COMMITTER_DATE)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.cli import main

BASE_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z

_GTO_WITH_CLOCK = (
    "import sys, time\n"
    "now = float(sys.argv[1])\n"
    "time.time = lambda: now\n"
    "sys.argv = ['gto', *sys.argv[2:]]\n"
    "from gto.cli import app\n"
    "sys.exit(app())\n"
)


def git_date(t: int) -> str:
    return f"{t} +0000"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Repo:
    """A git repository in tmp_path; every write takes an explicit time (seconds offset)."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def env(self, t: int | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if t is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = git_date(BASE_TIME + t)
        return env

    def git(self, *args: str, t: int | None = 0, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env(t),
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def commit(self, message: str, t: int, files: dict[str, str] | None = None) -> str:
        for path, text in (files or {}).items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", path, t=t)
        self.git("commit", "-q", "--allow-empty", "-m", message, t=t)
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, t: int, rev: str = "HEAD", message: str | None = None) -> None:
        """An annotated tag at ``rev`` with tagger date BASE_TIME + t."""
        self.git("tag", "-a", "-m", message or name, name, rev, t=t)

    def lightweight(self, name: str, rev: str = "HEAD") -> None:
        self.git("tag", name, rev)

    def cli(self, *args: str, t: int | None = None, root: Path | None = None) -> CliResult:
        """Run `mlops-ci ARGS --root REPO` in-process; tags it writes get time BASE_TIME + t."""
        self.capsys.readouterr()
        saved = {k: os.environ.get(k) for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
        if t is not None:
            os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = git_date(
                BASE_TIME + t
            )
        try:
            main([*args, "--root", str(root or self.root)])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    def gto(self, *args: str, t: int = 0) -> str:
        """The real gto CLI with its clock pinned to BASE_TIME + t."""
        proc = subprocess.run(
            [sys.executable, "-c", _GTO_WITH_CLOCK, str(BASE_TIME + t), *args],
            cwd=self.root,
            env=self.env(t),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"gto {' '.join(args)} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def gto_show(self) -> dict[str, Any]:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "gto"), "show", "--json"],
            cwd=self.root,
            env=self.env(None),
            capture_output=True,
            text=True,
            check=True,
        )
        data: dict[str, Any] = json.loads(proc.stdout)
        return data
