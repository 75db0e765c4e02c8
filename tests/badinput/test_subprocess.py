"""A few cases through the installed entry point in a fresh interpreter, as a runner
calls it: the same one line and exit code as in-process, and nothing on stdout that
looks like a traceback (the in-process cases cannot see interpreter-level output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import judge, snapshot

TOO_DEEP = b"metrics: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.update(extra)
    return env


def test_deeply_nested_config_in_a_fresh_interpreter(tmp_path: Path) -> None:
    (tmp_path / "mlops-ci.yaml").write_bytes(TOO_DEEP)
    before = snapshot([tmp_path])
    proc = _run(["validate"], _env(), tmp_path)
    judge("subprocess", "config/deep_nesting", proc.returncode, proc.stdout, proc.stderr,
          before, snapshot([tmp_path]), expect=[1], message="mlops-ci.yaml")  # fmt: skip


def test_truncated_event_payload_on_a_runner(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"head": ')
    output = tmp_path / "output"
    output.touch()
    env = _env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event),
        GITHUB_OUTPUT=str(output), GITHUB_REPOSITORY="octo-org/octo-repo",
    )  # fmt: skip
    before = snapshot([tmp_path])
    proc = _run(["report", "--no-run", "--root", "repo"], env, tmp_path)
    judge("subprocess", "event/truncated_payload", proc.returncode, proc.stdout, proc.stderr,
          before, snapshot([tmp_path]), expect=[1], message="event payload")  # fmt: skip
    # On a runner the same line is an annotation naming the file.
    assert f"::error file={event}" in proc.stdout


def test_truncated_parquet_for_monitor(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0] * 100}), tmp_path / "ref.parquet")
    data = (tmp_path / "ref.parquet").read_bytes()
    (tmp_path / "cur.parquet").write_bytes(data[: len(data) // 3])
    before = snapshot([tmp_path])
    proc = _run(["monitor", "--reference", "ref.parquet", "--current", "cur.parquet"], _env(),
                tmp_path)  # fmt: skip
    judge("subprocess", "monitoring/truncated_parquet", proc.returncode, proc.stdout,
          proc.stderr, before, snapshot([tmp_path]), expect=[1], message="cur.parquet")  # fmt: skip


@pytest.mark.parametrize("kind", ["metadata.json", "report.json"])
def test_bundle_file_replaced_by_a_symlink(tmp_path: Path, kind: str) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "metadata.json").write_text(json.dumps({"repository": "o/r"}))
    (bundle / "report.json").write_text("{}")
    (bundle / kind).unlink()
    (bundle / kind).symlink_to("/etc/hostname")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"workflow_run": {"id": 1, "head_sha": "0" * 40}}))
    env = _env(GITHUB_EVENT_NAME="workflow_run", GITHUB_EVENT_PATH=str(event),
               GITHUB_REPOSITORY="o/r")  # fmt: skip
    before = snapshot([tmp_path])
    proc = _run(["post", "--bundle", "bundle", "--dry-run"], env, tmp_path)
    judge("subprocess", f"bundle/symlinked_{kind}", proc.returncode, proc.stdout, proc.stderr,
          before, snapshot([tmp_path]), expect=[1], message=kind)  # fmt: skip
