"""DVC as we use it: pull, push, reproduce, data diff, and reading files at a revision.

Commands run as subprocesses of this interpreter (`python -m dvc`), so the DVC
that mlops-ci was installed with is the one used, always with
`DVC_NO_ANALYTICS=1`. Reading a DVC output at an old revision goes through DVC's
Python API, imported only then (it costs about half a second).
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.adapters.process import pipeline_env, tool_env
from mlops_ci.errors import DvcError

LineSink = Callable[[str], None]

__all__ = ["CommandResult", "DataChange", "Dvc", "TrackedFile"]


@dataclass(frozen=True)
class CommandResult:
    command: str
    returncode: int
    seconds: float
    tail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DataChange:
    """One DVC-tracked path that differs between two revisions (from `dvc diff`)."""

    path: str
    status: str  # added | modified | deleted | renamed | not in cache


@dataclass(frozen=True)
class TrackedFile:
    """A DVC-tracked output as a `.dvc` file or `dvc.lock` records it."""

    path: str
    md5: str | None
    size: int | None


def _drain(stream: Any, sink: LineSink | None, tail: list[str]) -> None:
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        tail.append(line)
        if len(tail) > 40:
            del tail[:-40]
        if sink is not None:
            sink(line)
    stream.close()


class Dvc:
    """DVC operations in the repository at `root`."""

    def __init__(
        self,
        root: Path | str,
        env: Mapping[str, str] | None = None,
        *,
        own_python_first: bool = False,
    ) -> None:
        self.root = Path(root)
        self.env = tool_env(env)
        # The pipeline is the project's (or a pull request's) code: no GitHub token.
        self.pipeline_env = pipeline_env(env, own_python_first=own_python_first)

    # --- commands -------------------------------------------------------------------

    def _dvc(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dvc", *args]

    def stream(
        self,
        argv: list[str] | str,
        *,
        sink: LineSink | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run a command, streaming its combined output line by line to `sink`.

        A string runs through the shell: it is the pipeline command the repository
        itself declares (`pipeline.run`), code the user already trusts.
        """
        shell = isinstance(argv, str)
        shown = argv if isinstance(argv, str) else shlex.join(argv)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd or self.root,
                env=dict(env) if env is not None else self.env,
                shell=shell,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise DvcError(f"cannot start `{shown}`: {exc.strerror}") from None
        tail: list[str] = []
        reader = threading.Thread(target=_drain, args=(proc.stdout, sink, tail), daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            reader.join(5)
            raise DvcError(
                f"`{shown}` did not finish within {timeout:.0f} s",
                hint="raise pipeline.timeout_minutes in mlops-ci.yaml",
            ) from None
        reader.join(10)
        return CommandResult(shown, code, time.monotonic() - start, tail)

    def _check(self, result: CommandResult, what: str) -> CommandResult:
        if result.returncode != 0:
            last = next((line for line in reversed(result.tail) if line.strip()), "")
            raise DvcError(
                f"{what} failed (exit {result.returncode}): {last.strip()[:300]}",
                hint=f"run `{result.command}` locally to see the whole output",
            )
        return result

    def pull(self, sink: LineSink | None = None) -> CommandResult:
        """`dvc pull`: fetch the data and outputs the workspace's DVC files point at."""
        return self._check(self.stream(self._dvc("pull"), sink=sink), "dvc pull")

    def push(self, sink: LineSink | None = None) -> CommandResult:
        return self._check(self.stream(self._dvc("push"), sink=sink), "dvc push")

    def run_pipeline(
        self,
        command: str,
        *,
        sink: LineSink | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run the pipeline command (`dvc repro` by default) through this DVC."""
        argv: list[str] | str = command
        parts = shlex.split(command)
        if parts[:1] == ["dvc"] and not any(c in command for c in "|&;<>$`"):
            argv = self._dvc(*parts[1:])
        result = self.stream(argv, sink=sink, cwd=cwd, timeout=timeout, env=self.pipeline_env)
        return self._check(result, f"the pipeline `{command}`")

    # --- configuration ----------------------------------------------------------------

    def remotes(self) -> dict[str, str]:
        """Configured remotes (name -> url) from `.dvc/config` and `.dvc/config.local`."""
        found: dict[str, str] = {}
        for name in ("config", "config.local"):
            path = self.root / ".dvc" / name
            if not path.is_file():
                continue
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read_string(path.read_text("utf-8"))
            except (configparser.Error, UnicodeDecodeError):
                continue
            for section in parser.sections():
                text = section.strip("'\"")
                if text.startswith("remote "):
                    remote = text[len("remote ") :].strip().strip("'\"")
                    found[remote] = parser.get(section, "url", fallback="")
        return found

    def has_remote(self) -> bool:
        return bool(self.remotes())

    # --- reading ------------------------------------------------------------------------

    def data_diff(self, base: str, head: str | None = None) -> list[DataChange]:
        """`dvc diff --json BASE [HEAD]` (HEAD omitted: the workspace)."""
        args = ["diff", "--json", base] + ([head] if head else [])
        proc = subprocess.run(
            self._dvc(*args), cwd=self.root, env=self.env, capture_output=True, check=False
        )
        if proc.returncode != 0:
            lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise DvcError(f"dvc diff failed: {lines[-1] if lines else proc.returncode}")
        text = proc.stdout.decode("utf-8", "replace").strip()
        data = json.loads(text) if text else {}
        changes: list[DataChange] = []
        for status in ("added", "modified", "deleted", "renamed", "not in cache"):
            for entry in data.get(status, []) or []:
                path = entry.get("path")
                if isinstance(path, dict):  # renamed: {"old": ..., "new": ...}
                    path = f"{path.get('old')} → {path.get('new')}"
                changes.append(DataChange(str(path), status))
        return changes

    def read_at_rev(self, path: str, rev: str) -> bytes:
        """The bytes of a DVC-tracked output at `rev`: from the cache, else the remote."""
        saved = {k: os.environ.get(k) for k in ("DVC_NO_ANALYTICS",)}
        os.environ["DVC_NO_ANALYTICS"] = "1"
        try:
            import dvc.api

            with dvc.api.open(path, repo=str(self.root), rev=rev, mode="rb") as handle:
                data: bytes = handle.read()
            return data
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DvcError(f"{path}@{rev[:12]}: cannot read through DVC: {message}") from None
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def tracked_files(lock_text: str | None, dvc_files: Mapping[str, str]) -> dict[str, TrackedFile]:
    """Outputs recorded in a `dvc.lock` (DVC 1.x or 2.0 schema) and `.dvc` files.

    `dvc_files` maps each `.dvc` file's path to its text. Pure.
    """
    import yaml

    found: dict[str, TrackedFile] = {}

    def add(entry: Any, wdir: str) -> None:
        if not isinstance(entry, dict) or "path" not in entry:
            return
        path = str(entry["path"])
        if wdir not in ("", "."):
            path = f"{wdir.rstrip('/')}/{path}"
        size = entry.get("size")
        md5 = entry.get("md5") or entry.get("etag") or entry.get("checksum")
        found[path.rstrip("/")] = TrackedFile(
            path.rstrip("/"), str(md5) if md5 else None, size if isinstance(size, int) else None
        )

    if lock_text:
        try:
            lock = yaml.safe_load(lock_text) or {}
        except yaml.YAMLError:
            lock = {}
        stages = lock.get("stages", lock) if isinstance(lock, dict) else {}
        if isinstance(stages, dict):
            for body in stages.values():
                if isinstance(body, dict):
                    for out in body.get("outs", []) or []:
                        add(out, "")
    for dvc_path, text in dvc_files.items():
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            continue
        wdir = dvc_path.rsplit("/", 1)[0] if "/" in dvc_path else ""
        if isinstance(data, dict):
            for out in data.get("outs", []) or []:
                add(out, wdir)
    return found


def stage_hashes(lock_text: str | None) -> dict[str, str]:
    """Per stage of a `dvc.lock`, a short hash of its recorded deps, params and outs. Pure."""
    import hashlib

    import yaml

    if not lock_text:
        return {}
    try:
        lock = yaml.safe_load(lock_text) or {}
    except yaml.YAMLError:
        return {}
    stages = lock.get("stages", lock) if isinstance(lock, dict) else {}
    hashes: dict[str, str] = {}
    if not isinstance(stages, dict):
        return hashes
    for name, body in stages.items():
        if isinstance(body, dict):
            canonical = json.dumps(body, sort_keys=True, default=str)
            hashes[str(name)] = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    return hashes
