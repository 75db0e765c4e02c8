"""Every child process has a timeout and a process group of its own: on a timeout, or
a SIGTERM to mlops-ci, the child and everything it started are gone (checked by pid),
and the timeout is one line that names the setting to raise. No module but the runner
starts processes."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mlops_ci.adapters.dvc import Dvc
from mlops_ci.adapters.git import Git
from mlops_ci.adapters.process import run_child
from mlops_ci.errors import DvcError, GitError, MlopsCIError
from mlops_ci.services.shared.sample_project import SampleProject

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_ci"
RUNNER = PACKAGE / "adapters" / "process.py"
# A child that starts a grandchild in the background and waits: both write their pids.
FAMILY = "sleep 300 & echo $! > grandchild.pid; echo $$ > child.pid; wait"


def _gone(pid: int, within: float = 10.0) -> bool:
    """True once `pid` no longer runs (absent, or a zombie waiting for its reaper)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return True
        if "\nState:\tZ" in state or "\nState:\tX" in state:
            return True
        time.sleep(0.05)
    return False


def _pids(where: Path) -> list[int]:
    return [int((where / f"{n}.pid").read_text()) for n in ("child", "grandchild")]


def _wait_for(path: Path, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_a_timeout_kills_the_child_and_its_grandchild(tmp_path: Path) -> None:
    with pytest.raises(MlopsCIError) as caught:
        run_child(
            ["sh", "-c", FAMILY], cwd=tmp_path, env=dict(os.environ), timeout=1.0,
            what="the family", timeout_setting="NOTHING_HERE",
        )  # fmt: skip
    assert str(caught.value) == "the family did not finish within 1 s and was stopped"
    assert caught.value.hint == "raise NOTHING_HERE"
    for pid in _pids(tmp_path):
        assert _gone(pid), f"process {pid} survived the timeout"


def test_a_hanging_git_is_stopped_after_the_git_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "config", "alias.hang", f"!{FAMILY}"], cwd=root, check=True)
    monkeypatch.setenv("MLOPS_CI_GIT_TIMEOUT_MINUTES", "0.02")
    with pytest.raises(GitError) as caught:
        Git(root).run("hang")
    assert "git hang did not finish within 1.2 s" in str(caught.value)
    assert "MLOPS_CI_GIT_TIMEOUT_MINUTES" in (caught.value.hint or "")
    for pid in _pids(root):
        assert _gone(pid), f"process {pid} survived the git timeout"


def test_a_pipeline_past_its_timeout_is_stopped_with_its_children(tmp_path: Path) -> None:
    with pytest.raises(DvcError) as caught:
        Dvc(tmp_path).run_pipeline(FAMILY, timeout=1.0)
    assert "did not finish within 1 s" in str(caught.value)
    assert caught.value.hint == "raise pipeline.timeout_minutes in mlops-ci.yaml"
    for pid in _pids(tmp_path):
        assert _gone(pid), f"process {pid} survived the pipeline timeout"


def test_a_finished_pipeline_leaves_no_background_process(tmp_path: Path) -> None:
    result = Dvc(tmp_path).run_pipeline("sleep 300 & echo $! > grandchild.pid; echo $$ > child.pid")
    assert result.returncode == 0
    for pid in _pids(tmp_path):
        assert _gone(pid), f"process {pid} outlived the pipeline"


def _configure(sample: SampleProject, pipeline: dict[str, object]) -> None:
    path = sample.root / "mlops-ci.yaml"
    config = yaml.safe_load(path.read_text())
    config["pipeline"] = {**(config.get("pipeline") or {}), **pipeline}
    path.write_text(yaml.safe_dump(config))


def test_a_dvc_timeout_is_one_line_and_exit_1(sample_project: SampleProject) -> None:
    _configure(sample_project, {"pull": "always"})
    env = {**os.environ, "MLOPS_CI_DVC_TIMEOUT_MINUTES": "0.001"}
    proc = subprocess.run(
        [sys.executable, "-P", "-m", "mlops_ci", "report", "--publish", "local", "--quiet"],
        cwd=sample_project.root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "did not finish within 0.06 s and was stopped" in proc.stderr, proc.stderr
    assert "MLOPS_CI_DVC_TIMEOUT_MINUTES" in proc.stderr


def test_sigterm_to_mlops_ci_kills_the_pipeline_and_its_children(
    sample_project: SampleProject,
) -> None:
    _configure(sample_project, {"pull": "never", "run": FAMILY})
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "mlops_ci", "report", "--publish", "local", "--quiet"],
        cwd=sample_project.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(sample_project.root / "child.pid")
        _wait_for(sample_project.root / "grandchild.pid")
        pids = _pids(sample_project.root)
        assert not any(_gone(pid, within=0) for pid in pids), "the pipeline was not running"
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGTERM
    for pid in pids:
        assert _gone(pid), f"process {pid} survived mlops-ci's SIGTERM"


_MODULES = {"subprocess", "pty", "multiprocessing"}
_STARTERS = {"system", "popen", "spawnl", "spawnv", "spawnvp", "execv", "execvp", "fork"}


def test_no_module_but_the_runner_starts_processes() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == RUNNER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in _STARTERS
            ):
                names = [f"os.{node.attr}"]
            for name in names:
                if name.startswith("os.") or name.split(".")[0] in _MODULES:
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    assert offenders == []
