"""Serving a model repository written beforehand (`serve --repository DIR`, as an image
does): its `max_rows`, a graceful stop, and the refusal of bytes other than the
release's — a swapped model file in the repository, or other bytes in the DVC cache."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import MODEL, VERSION, Oracle, child_env, free_port, run_cli, serving

from mlops_ci.errors import InputError
from mlops_ci.services.shared.model_repository import (
    read_model_repository,
    write_model_repository,
)
from mlops_ci.services.shared.registry import open_registry
from mlops_ci.services.shared.sample_project import SampleProject, copy_sample


@pytest.fixture(scope="module")
def small(released: SampleProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The production model's repository, at most 10 rows per request."""
    dest = tmp_path_factory.mktemp("small") / "repository"
    write_model_repository(
        open_registry(released.root), MODEL, VERSION, released.main_sha, dest, max_rows=10,
        workers=0,
    )  # fmt: skip
    return dest


def one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith(("error:", "refused:"))]
    assert len(errors) == 1, output
    return errors[0]


def serve_refused(cwd: Path, *args: str) -> tuple[int, str]:
    """`mlops-ci serve ARGS` that must end by itself (a refusal), within 90 s."""
    result = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "serve", *args, "--port", str(free_port()),
         "--workers", "0"],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_max_rows_of_the_repository_is_enforced_and_sigterm_stops_cleanly(
    released: SampleProject, small: Path, oracle: Oracle, tmp_path: Path
) -> None:
    settings = json.loads((small / MODEL / "model-settings.json").read_text())
    assert settings["parameters"]["extra"]["max_rows"] == 10
    with serving(released.root, tmp_path / "serve.log", "--repository", str(small)) as server:
        status, answer = server.infer(oracle.columns_body(list(range(11))))
        assert status == 400
        assert answer["error"] == "input 'mean_radius': 11 rows: at most 10 per request"
        status, answer = server.infer(oracle.matrix_body(list(range(11))))
        assert status == 400
        assert answer["error"] == "input 'x': 11 rows: at most 10 per request"
        ten = list(range(100, 110))
        status, answer = server.infer(oracle.columns_body(ten))
        assert status == 200, answer
        oracle.check(answer, ten)
        assert server.stop() == 0  # SIGTERM: MLServer's graceful stop
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", server.port)) != 0


def test_a_model_file_swapped_after_the_repository_was_written_is_never_served(
    released: SampleProject, small: Path, oracle: Oracle, tmp_path: Path
) -> None:
    swapped = tmp_path / "repository"
    shutil.copytree(small, swapped)
    # A working model, pickled again: other bytes, so not the release's.
    (swapped / MODEL / "model.pkl").write_bytes(pickle.dumps(oracle.model, protocol=4))
    code, output = serve_refused(released.root, "--repository", str(swapped))
    assert code == 2, output
    line = one_error_line(output)
    assert line.startswith("refused: model.pkl: sha256")
    assert "differs from the release's" in line


def test_a_repository_without_models_is_one_line(released: SampleProject, tmp_path: Path) -> None:
    code, output = serve_refused(released.root, "--repository", str(tmp_path))
    assert code == 1, output
    assert "model-settings.json" in one_error_line(output)


def test_write_only_writes_a_repository_that_serves_the_same_bytes(
    released: SampleProject, small: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "written"
    code, printed = run_cli("serve", MODEL, "--write-only", "--repository", str(dest),
                            "--root", str(released.root))  # fmt: skip
    assert code == 0, printed
    assert f"wrote the model repository of {MODEL} {VERSION}" in printed
    for name in ("model.pkl", "signature.json", "sample.json"):
        assert (dest / MODEL / name).read_bytes() == (small / MODEL / name).read_bytes()


def test_max_rows_on_the_command_line_goes_into_the_repository(
    released: SampleProject, tmp_path: Path
) -> None:
    dest = tmp_path / "written"
    code, printed = run_cli("serve", MODEL, "--write-only", "--repository", str(dest),
                            "--max-rows", "7", "--root", str(released.root))  # fmt: skip
    assert code == 0, printed
    settings = json.loads((dest / MODEL / "model-settings.json").read_text())
    assert settings["parameters"]["extra"]["max_rows"] == 7


def test_other_bytes_in_the_dvc_cache_are_refused(released: SampleProject, tmp_path: Path) -> None:
    project = copy_sample(released, tmp_path / "sample")
    lock = (project.root / "dvc.lock").read_text()
    md5 = lock.split("path: models/model.pkl", 1)[1].split("md5: ", 1)[1].split()[0]
    cached = project.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    assert cached.is_file()
    os.chmod(cached, stat.S_IWUSR | stat.S_IRUSR)
    cached.write_bytes(b"not the model the commit recorded")
    code, output = serve_refused(project.root, MODEL, "--version", VERSION)
    assert code == 2, output
    line = one_error_line(output)
    assert "models/model.pkl" in line
    assert f"differs from md5:{md5} in dvc.lock" in line


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: "{not json", "not readable JSON"),
        (lambda s: {**s, "parameters": {**s["parameters"], "uri": ""}}, "parameters.uri: expected"),
        (lambda s: {**s, "parameters": {**s["parameters"], "uri": "./gone.pkl"}}, "is not a file"),
        (
            lambda s: {**s, "parameters": {**s["parameters"], "extra": {"format": "sklearn"}}},
            "parameters.extra.sha256: expected the model file's sha256",
        ),
    ],
)
def test_a_written_repository_that_cannot_be_checked_is_one_line(
    small: Path, tmp_path: Path, edit: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    broken = tmp_path / "repository"
    shutil.copytree(small, broken)
    settings_file = broken / MODEL / "model-settings.json"
    changed = edit(json.loads(settings_file.read_text()))
    settings_file.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(InputError) as info:
        read_model_repository(broken)
    assert str(settings_file) in info.value.message
    assert expected in info.value.message


def test_models_of_other_runtimes_are_left_to_mlserver(small: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "repository"
    shutil.copytree(small, mixed)
    other = mixed / "other"
    other.mkdir()
    (other / "model-settings.json").write_text(
        json.dumps({"name": "other", "implementation": "mlserver_sklearn.SKLearnModel"})
    )
    found = read_model_repository(mixed)
    assert [(m.model, m.version, m.model_file.name) for m in found] == [
        (MODEL, VERSION, "model.pkl")
    ]


def test_inference_worker_processes_answer_the_same(
    released: SampleProject, small: Path, oracle: Oracle, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with serving(released.root, log, "--repository", str(small), workers=1) as server:
        rows = list(range(200, 210))
        status, answer = server.infer(oracle.columns_body(rows))
        assert status == 200, answer
        oracle.check(answer, rows)
        body = oracle.columns_body([0, 1])
        body["inputs"][0]["data"][1] = "x"
        status, answer = server.infer(body)
        assert status == 400
        # MLServer names the exception's class before a worker's message.
        wanted = "row 1, field 'mean_radius': expected a finite number, got 'x'"
        assert answer["error"].endswith(wanted)
        status, answer = server.infer(oracle.columns_body(rows))
        assert status == 200
        oracle.check(answer, rows)
