"""`mlops-ci serve --release-assets DIR`: a release's downloaded assets served, each
checked against SHA256SUMS first; a tampered asset never reaches a server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import (
    MODEL,
    VERSION,
    Oracle,
    Server,
    child_env,
    free_port,
    release_dir,
    serving,
)

from mlops_ci.core.inference import same_outputs
from mlops_ci.services.shared.sample_project import SampleProject


@pytest.fixture(scope="module")
def assets(released: SampleProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release's assets as `gh release download` leaves them: a folder of files."""
    dest = tmp_path_factory.mktemp("download") / "assets"
    shutil.copytree(release_dir(released), dest)
    return dest


@pytest.fixture(scope="module")
def server(released: SampleProject, assets: Path) -> Iterator[Server]:
    log = assets.parent / "serve.log"
    args = (MODEL, "--release-assets", str(assets), "--version", VERSION, "--no-log")
    with serving(released.root, log, *args) as running:
        yield running


def refused(cwd: Path, assets: Path, version: str | None = VERSION) -> tuple[int, list[str]]:
    wanted = ["--version", version] if version else []
    result = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "serve", MODEL, "--release-assets", str(assets),
         *wanted, "--port", str(free_port()), "--workers", "0"],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    lines = (result.stdout + result.stderr).splitlines()
    assert not any("Traceback" in line for line in lines), lines
    return result.returncode, lines


def test_the_assets_serve_the_recorded_sample_bit_for_bit(server: Server, assets: Path) -> None:
    status, metadata = server.get(f"/v2/models/{MODEL}")
    assert status == 200
    assert metadata["versions"] == [VERSION]
    signature = json.loads((assets / "signature.json").read_text())
    assert [i["name"] for i in metadata["inputs"]] == [f["name"] for f in signature["features"]]
    rows = json.loads((assets / "sample.json").read_text())["rows"]
    assert len(rows) == 20
    body = {
        "inputs": [
            {"name": f["name"], "shape": [len(rows)], "datatype": "FP64",
             "data": [r["inputs"][f["name"]] for r in rows]}
            for f in signature["features"]
        ]
    }  # fmt: skip
    status, answer = server.infer(body)
    assert status == 200, answer
    outputs = {o["name"]: o["data"] for o in answer["outputs"]}
    assert outputs["predict"] == [r["outputs"]["predict"] for r in rows]
    recorded = [p for r in rows for p in r["outputs"]["predict_proba"]]
    assert same_outputs(recorded, outputs["predict_proba"], tolerance=0.0) is None


def test_the_assets_serve_the_whole_dataset_as_the_model_does(
    server: Server, oracle: Oracle
) -> None:
    rows = list(range(len(oracle.labels)))
    status, answer = server.infer(oracle.matrix_body(rows))
    assert status == 200, answer
    oracle.check(answer, rows)


def _tampered(assets: Path, tmp_path: Path, name: str) -> Path:
    copy = tmp_path / "assets"
    shutil.copytree(assets, copy)
    if name == "signature.json":
        signature = json.loads((copy / name).read_text())
        # A looser schema: the server would take rows the model never saw.
        signature["features"][0]["nullable"] = True
        (copy / name).write_text(json.dumps(signature, indent=2) + "\n")
    else:
        (copy / name).write_bytes((copy / name).read_bytes() + b"\0")
    return copy


@pytest.mark.parametrize("name", ["signature.json", "model.pkl", "sample.json"])
def test_a_tampered_asset_is_refused_before_serving(
    released: SampleProject, assets: Path, tmp_path: Path, name: str
) -> None:
    copy = _tampered(assets, tmp_path, name)
    code, lines = refused(released.root, copy)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"refused: {copy / name}: sha256 ")
    assert lines[0].endswith("differs from SHA256SUMS")


def test_assets_without_sha256sums_are_one_line(
    released: SampleProject, assets: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "assets"
    shutil.copytree(assets, copy)
    (copy / "SHA256SUMS").unlink()
    code, lines = refused(released.root, copy)
    assert code == 1, lines
    assert lines == [f"error: {copy}: no SHA256SUMS: expected a release's assets"]


def test_the_assets_need_the_version_they_are_of(assets: Path, tmp_path: Path) -> None:
    code, lines = refused(tmp_path, assets, version=None)
    assert code == 1
    assert lines == ["error: --release-assets: expected --version vX.Y.Z, the version they are of"]
