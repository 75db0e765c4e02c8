"""`mlops-ci serve` on the sample project's production model, one real server for the
module: health and metadata, the whole dataset equal to the model's own outputs in both
request forms, bad requests answered with the field named (and the server going on),
and a bounded load answered in full."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import MODEL, VERSION, Oracle, Server, release_dir, serving

from mlops_ci.services.shared.sample_project import SampleProject

CHUNK = 100
GOOD_ROWS = [0, 17, 211, 568]


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("repository")


@pytest.fixture(scope="module")
def server(released: SampleProject, repository: Path) -> Iterator[Server]:
    log = repository.parent / "serve.log"
    args = (MODEL, "--repository", str(repository), "--no-log")
    with serving(released.root, log, *args) as running:
        yield running


def test_health_and_metadata_name_the_signature_and_version(server: Server, oracle: Oracle) -> None:
    assert server.request("GET", "/v2/health/live")[0] == 200
    assert server.request("GET", "/v2/health/ready")[0] == 200
    assert server.request("GET", f"/v2/models/{MODEL}/ready")[0] == 200
    status, metadata = server.get(f"/v2/models/{MODEL}")
    assert status == 200
    assert metadata["name"] == MODEL
    assert metadata["versions"] == [VERSION]
    assert [i["name"] for i in metadata["inputs"]] == oracle.signature.names
    assert {i["datatype"] for i in metadata["inputs"]} == {"FP64"}
    outputs = {o["name"]: o["datatype"] for o in metadata["outputs"]}
    # What the answers carry: integer labels, float probabilities.
    assert outputs == {"predict": "INT64", "predict_proba": "FP64"}
    assert f"serving {MODEL} {VERSION}" in server.output()


def test_the_repository_holds_the_released_bytes(released: SampleProject, repository: Path) -> None:
    sums = dict(
        reversed(line.split("  "))
        for line in (release_dir(released) / "SHA256SUMS").read_text().splitlines()
    )
    served = repository / MODEL / "model.pkl"
    assert hashlib.sha256(served.read_bytes()).hexdigest() == sums["model.pkl"]
    settings = json.loads((repository / MODEL / "model-settings.json").read_text())
    assert settings["parameters"]["extra"]["sha256"] == sums["model.pkl"]


def test_the_whole_dataset_in_chunks_equals_the_models_own(server: Server, oracle: Oracle) -> None:
    rows = len(oracle.labels)
    assert rows == 569
    worst, answered = 0.0, 0
    for start in range(0, rows, CHUNK):
        chunk = list(range(start, min(start + CHUNK, rows)))
        status, answer = server.infer(oracle.columns_body(chunk))
        assert status == 200, answer
        assert answer["model_version"] == VERSION
        worst = max(worst, oracle.check(answer, chunk))
        answered += len(chunk)
    assert answered == rows
    assert worst <= 1e-9


def test_the_whole_dataset_as_one_matrix_equals_the_models_own(
    server: Server, oracle: Oracle
) -> None:
    rows = list(range(len(oracle.labels)))
    status, answer = server.infer(oracle.matrix_body(rows))
    assert status == 200, answer
    oracle.check(answer, rows)
    assert answer["outputs"][1]["shape"] == [569, 2]


def _columns(oracle: Oracle, **changes: Any) -> dict[str, Any]:
    body = oracle.columns_body([0, 1, 2])
    for item in body["inputs"]:
        item.update(changes.get(item["name"], {}))
    return body


def _bad_requests(oracle: Oracle) -> list[tuple[str, bytes | dict[str, Any], int, list[str]]]:
    good = oracle.columns_body([0, 1, 2])["inputs"]
    width = len(oracle.signature.names)
    matrix = oracle.matrix_body([0, 1])["inputs"][0]
    last = oracle.signature.names[-1]
    return [
        ("malformed JSON", b'{"inputs": [', 422, ["JSON decode error"]),
        ("no inputs", {"id": "1"}, 422, ["inputs", "Field required"]),
        ("empty inputs", {"inputs": []}, 400, ["inputs: expected at least one input tensor"]),
        ("a missing feature", {"inputs": good[:-1]}, 400, [f"field '{last}': missing"]),
        (
            "an unknown feature",
            {"inputs": [*good, {**good[0], "name": "colour"}]},
            400,
            ["input 'colour': not a feature of the model"],
        ),
        (
            "the same input twice",
            {"inputs": [*good, good[4]]},
            400,
            ["input 'mean_smoothness': given twice"],
        ),
        (
            "BYTES for a float feature",
            _columns(oracle, mean_radius={"datatype": "BYTES", "data": ["1", "2", "3"]}),
            400,
            ["input 'mean_radius': datatype BYTES: feature 'mean_radius' is float"],
        ),
        (
            "a shape that disagrees with the data",
            _columns(oracle, mean_area={"shape": [4]}),
            400,
            ["input 'mean_area': shape [4] says 4 values, data has 3"],
        ),
        (
            "different row counts",
            _columns(oracle, mean_area={"shape": [2], "data": [1.0, 2.0]}),
            400,
            ["inputs have different numbers of rows", "mean_area: 2"],
        ),
        (
            "null for a feature that is never missing",
            _columns(oracle, worst_texture={"data": [1.0, None, 3.0]}),
            400,
            ["row 1, field 'worst_texture': expected a value, got nothing"],
        ),
        (
            "the string NaN",
            _columns(oracle, worst_texture={"data": [1.0, 2.0, "NaN"]}),
            400,
            ["row 2, field 'worst_texture': expected a finite number, got 'NaN'"],
        ),
        (
            "a bare NaN (Python's json writes one)",
            json.dumps(_columns(oracle, error_area={"data": [float("nan"), 1.0, 2.0]})).encode(),
            422,
            ["JSON decode error"],
        ),
        (
            "a text value",
            _columns(oracle, mean_radius={"data": [1.0, "x", 2.0]}),
            400,
            ["row 1, field 'mean_radius': expected a finite number, got 'x'"],
        ),
        (
            "a matrix of the wrong width",
            {"inputs": [{**matrix, "shape": [2, width - 1], "data": matrix["data"][:-2]}]},
            400,
            [f"input 'x': shape [2, {width - 1}]: expected [rows, {width}]"],
        ),
        (
            "a 3-D shape",
            {"inputs": [{**matrix, "shape": [1, 2, width]}]},
            400,
            [f"input 'x': shape [1, 2, {width}]: expected [rows, {width}]"],
        ),
        (
            "a 2-D column",
            _columns(oracle, mean_radius={"shape": [1, 3]}),
            400,
            ["input 'mean_radius': shape [1, 3]: expected [rows] or [rows, 1]"],
        ),
        (
            "a datatype that is not one",
            _columns(oracle, mean_radius={"datatype": "FLOAT"}),
            422,
            ["datatype"],
        ),
    ]


def test_bad_requests_are_refused_naming_the_field_and_the_server_goes_on(
    server: Server, oracle: Oracle
) -> None:
    cases = _bad_requests(oracle)
    assert len(cases) >= 10
    for what, body, status, words in cases:
        code, answer = server.infer(body)
        text = json.dumps(answer)
        assert code == status, (what, code, text)
        for word in words:
            assert word in text, (what, text)
        # The next good request is answered as before.
        code, answer = server.infer(oracle.columns_body(GOOD_ROWS))
        assert code == 200, (what, answer)
        oracle.check(answer, GOOD_ROWS)


def test_an_unknown_model_is_404_naming_it(server: Server, oracle: Oracle) -> None:
    code, answer = server.infer(oracle.columns_body([0]), model="no-such-model")
    assert code == 404
    assert "no-such-model" in answer["error"]
    assert server.request("GET", "/v2/models/no-such-model/ready")[0] == 404
    code, answer = server.infer(oracle.columns_body(GOOD_ROWS))
    assert code == 200
    oracle.check(answer, GOOD_ROWS)


def test_a_bounded_load_is_answered_in_full(server: Server, oracle: Oracle) -> None:
    clients, each = 8, 250
    rows = len(oracle.labels)
    bodies = [json.dumps(oracle.columns_body([r])).encode() for r in range(rows)]
    answered: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        # One keep-alive connection per client, as a real client pool holds.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        done = 0
        try:
            for i in range(each):
                row = (number * each + i) % rows
                connection.request(
                    "POST", f"/v2/models/{MODEL}/infer", body=bodies[row],
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                response = connection.getresponse()
                raw = response.read()
                if response.status != 200:
                    raise AssertionError(f"row {row}: {response.status} {raw[:200]!r}")
                oracle.check(json.loads(raw), [row])
                done += 1
        except Exception as exc:  # a lost answer must fail the test, whichever thread
            with lock:
                failures.append(f"client {number}: {exc!r}")
        finally:
            connection.close()
            with lock:
                answered.append(done)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert sum(answered) == clients * each == 2000
    assert server.process.poll() is None
