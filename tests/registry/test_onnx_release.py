"""A model released as ONNX, end to end on the real sample project: a DVC stage exports
the trained forest with skl2onnx, the release records its signature and sample through
onnxruntime, the promotion proof serves it, and `mlops-ci serve` answers what
onnxruntime itself answers on the whole dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from registry_helpers import Repo

from mlops_ci.adapters.mlserver import free_port
from mlops_ci.services.shared.sample_project import FEATURE_NAMES, SampleProject, dataset_csv

MODEL = "cancer-classifier"

EXPORT = '''"""Export the trained forest as ONNX (float inputs, probabilities as a tensor)."""
import pickle

import numpy as np
from skl2onnx import to_onnx

with open("models/model.pkl", "rb") as handle:
    model = pickle.load(handle)
sample = np.zeros((1, model.n_features_in_), dtype=np.float32)
onnx = to_onnx(model, sample, options={id(model): {"zipmap": False}}, target_opset=17)
with open("models/model.onnx", "wb") as handle:
    handle.write(onnx.SerializeToString())
'''

STAGE = """  export:
    cmd: python src/export.py
    deps:
      - data/prepared
      - models/model.pkl
      - src/export.py
    outs:
      - models/model.onnx
"""


def _tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    for key in [k for k in env if k.startswith("GITHUB_")]:
        del env[key]
    return env


@pytest.fixture
def onnx_project(sample_project: SampleProject, capsys: pytest.CaptureFixture[str]) -> Repo:
    repo = Repo(sample_project.root, capsys)
    root = repo.root
    repo.git("checkout", "-q", "main")
    (root / "src" / "export.py").write_text(EXPORT)
    (root / "dvc.yaml").write_text((root / "dvc.yaml").read_text() + STAGE)
    config = root / "mlops-ci.yaml"
    config.write_text(
        config.read_text().replace("path: models/model.pkl", "path: models/model.onnx")
        + "deploy:\n  proof_requests: 40\n"
    )
    for step in (["repro", "-q"], ["push", "-q"]):
        subprocess.run([sys.executable, "-m", "dvc", *step], cwd=root, env=_tool_env(), check=True)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "Export the model as ONNX", t=50)
    repo.git("push", "-q", "origin", "main")
    assert repo.cli("register", MODEL, "--version", "v0.2.0", t=100).code == 0
    return repo


def test_an_onnx_release_is_proved_and_served_as_onnxruntime_answers(
    onnx_project: Repo,
) -> None:
    import onnxruntime

    repo = onnx_project
    released = repo.cli("release", "--tag", f"{MODEL}@v0.2.0", "--json")
    assert released.code == 0, released.err
    directory = repo.root / ".mlops-ci" / "release" / f"{MODEL}@v0.2.0"
    assert {"model.onnx", "signature.json", "sample.json"} <= {p.name for p in directory.iterdir()}
    signature = json.loads((directory / "signature.json").read_text())
    assert [f["name"] for f in signature["features"]] == FEATURE_NAMES

    for number, stage in enumerate(("staging", "production"), 1):
        promoted = repo.cli("promote", MODEL, "--stage", stage, "--json", t=110 + number)
        assert promoted.code == 0, promoted.err
        proof = promoted.json()["proof"]
        assert (proof["answered"], proof["refusals"]) == (40, [])

    data = np.genfromtxt(dataset_csv(), delimiter=",", skip_header=1)[:, : len(FEATURE_NAMES)]
    session = onnxruntime.InferenceSession(
        str(directory / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {session.get_inputs()[0].name: data.astype(np.float32)})

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlops_ci", "serve", MODEL, "--port", str(port), "--no-log"],
        cwd=repo.root, env=_tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/v2/models/{MODEL}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert json.load(answer)["platform"] == "onnx"
        body = {
            "inputs": [
                {"name": "input-0", "shape": list(data.shape), "datatype": "FP64",
                 "data": data.ravel().tolist()}
            ]
        }  # fmt: skip
        request = urllib.request.Request(
            f"{url}/infer", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            outputs = {o["name"]: o["data"] for o in json.load(answer)["outputs"]}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert outputs["predict"] == labels.tolist()
    served = np.asarray(outputs["predict_proba"]).reshape(proba.shape)
    assert np.array_equal(served, proba.astype(np.float64))
