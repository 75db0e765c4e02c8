"""An ONNX model served from a written repository: the sample's random forest converted
with skl2onnx (with and without its ZipMap output), beside the scikit-learn model in the
same repository, one server for all three. onnxruntime's own outputs are the oracle;
scikit-learn's labels must agree and its probabilities within float32 rounding."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
import skl2onnx
from serve_helpers import MODEL, VERSION, Oracle, Server, serving

from mlops_ci.core.inference import DEFAULT_MAX_ROWS
from mlops_ci.services.shared.model_repository import RUNTIME, write_model_repository
from mlops_ci.services.shared.registry import open_registry
from mlops_ci.services.shared.sample_project import SampleProject

#: float32 sums of 40 trees' leaf frequencies against scikit-learn's float64 ones.
FLOAT32_TOLERANCE = 1e-5
ONNX_MODELS = {"cancer-onnx": False, "cancer-onnx-zipmap": True}


def run_onnx(path: Path, matrix: Any) -> tuple[list[Any], list[list[float]]]:
    """onnxruntime's own labels and class probabilities (ZipMap's dicts in class order)."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    labels, proba = session.run(None, {name: np.asarray(matrix, dtype=np.float32)})
    if isinstance(proba, list):
        proba = [[row[k] for k in sorted(row)] for row in proba]
    return np.asarray(labels).tolist(), np.asarray(proba, dtype=np.float64).tolist()


def add_onnx_model(root: Path, name: str, model: Any, matrix: Any, *, zipmap: bool) -> Path:
    """Beside the written scikit-learn model: the same model as ONNX, its settings, the
    release's signature, and the sample's inputs with onnxruntime's outputs."""
    source, directory = root / MODEL, root / name
    directory.mkdir()
    onnx_model = skl2onnx.to_onnx(
        model, np.asarray(matrix[:1], dtype=np.float32), options={id(model): {"zipmap": zipmap}}
    )
    model_file = directory / "model.onnx"
    model_file.write_bytes(onnx_model.SerializeToString())
    shutil.copyfile(source / "signature.json", directory / "signature.json")
    sample = json.loads((source / "sample.json").read_text())
    names = [f["name"] for f in json.loads((source / "signature.json").read_text())["features"]]
    inputs = [[r["inputs"][n] for n in names] for r in sample["rows"]]
    labels, proba = run_onnx(model_file, inputs)
    for row, label, probabilities in zip(sample["rows"], labels, proba, strict=True):
        row["outputs"] = {"predict": label, "predict_proba": probabilities}
    (directory / "sample.json").write_text(json.dumps(sample, indent=2) + "\n")
    settings = json.loads((source / "model-settings.json").read_text())
    settings["name"] = name
    settings["platform"] = "onnx"
    settings["parameters"]["uri"] = "./model.onnx"
    settings["parameters"]["extra"].update(
        sha256=hashlib.sha256(model_file.read_bytes()).hexdigest(), format="onnx"
    )
    assert settings["implementation"] == RUNTIME
    assert settings["parameters"]["extra"]["max_rows"] == DEFAULT_MAX_ROWS
    (directory / "model-settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    return model_file


@pytest.fixture(scope="module")
def repository(
    released: SampleProject, oracle: Oracle, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("onnx") / "repository"
    reg = open_registry(released.root)
    write_model_repository(reg, MODEL, VERSION, released.main_sha, root, workers=0)
    for name, zipmap in ONNX_MODELS.items():
        add_onnx_model(root, name, oracle.model, oracle.matrix, zipmap=zipmap)
    return root


@pytest.fixture(scope="module")
def server(released: SampleProject, repository: Path) -> Iterator[Server]:
    log = repository.parent / "serve.log"
    with serving(released.root, log, "--repository", str(repository), model="cancer-onnx") as s:
        yield s


@pytest.mark.parametrize("name", list(ONNX_MODELS))
def test_onnx_answers_equal_onnxruntimes_and_sklearns_labels(
    server: Server, repository: Path, oracle: Oracle, name: str
) -> None:
    assert server.request("GET", f"/v2/models/{name}/ready")[0] == 200
    status, metadata = server.get(f"/v2/models/{name}")
    assert status == 200
    assert metadata["platform"] == "onnx"
    assert {o["name"]: o["datatype"] for o in metadata["outputs"]} == {
        "predict": "INT64",
        "predict_proba": "FP64",
    }
    rows = list(range(len(oracle.labels)))
    labels, proba = run_onnx(repository / name / "model.onnx", oracle.matrix)
    status, answer = server.infer(oracle.matrix_body(rows), model=name)
    assert status == 200, answer
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["predict"]["data"] == labels
    assert outputs["predict_proba"]["shape"] == [569, 2]
    served = np.array(outputs["predict_proba"]["data"]).reshape(569, 2)
    assert np.max(np.abs(served - np.array(proba))) <= 1e-9  # float32 values, carried exactly
    # Against scikit-learn: the same labels, probabilities within float32 rounding.
    assert labels == oracle.labels
    assert np.max(np.abs(served - np.array(oracle.proba))) <= FLOAT32_TOLERANCE


def test_the_sklearn_model_beside_them_still_answers_exactly(
    server: Server, oracle: Oracle
) -> None:
    assert server.request("GET", f"/v2/models/{MODEL}/ready")[0] == 200
    rows = list(range(0, 569, 3))
    status, answer = server.infer(oracle.columns_body(rows), model=MODEL)
    assert status == 200, answer
    oracle.check(answer, rows)


def test_a_bad_request_to_onnx_names_the_field(server: Server, oracle: Oracle) -> None:
    body = oracle.columns_body([0, 1])
    body["inputs"][3]["data"][1] = None
    status, answer = server.infer(body, model="cancer-onnx")
    assert status == 400
    assert answer["error"] == "row 1, field 'mean_area': expected a value, got nothing"
