"""`mlops-ci predict` on the real sample project: a version registered and promoted to
production through the CLI scores the sample's data in chunks; scikit-learn's own
`predict` on the same rows is the oracle."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import pickle
import subprocess

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from cli_helpers import run

from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"


def model_at_main(sample: SampleProject) -> object:
    raw = subprocess.run(
        ["dvc", "get", ".", "models/model.pkl", "--rev", sample.main_sha, "-o", "-"],
        cwd=sample.root, capture_output=True, check=False,
    )  # fmt: skip
    if raw.returncode == 0 and raw.stdout:
        return pickle.loads(raw.stdout)
    with (sample.root / "models" / "model.pkl").open("rb") as handle:
        return pickle.load(handle)


def features(sample: SampleProject) -> tuple[list[str], np.ndarray]:
    with (sample.root / "data" / "breast_cancer.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    matrix = np.array([[float(v) for v in row[:-1]] for row in body])
    return header, matrix


def predict(
    sample: SampleProject, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    args = ["predict", MODEL, "--input", "data/breast_cancer.csv", "--root", str(sample.root)]
    return run([*args, *extra], capsys)


def test_predictions_equal_the_models_own_and_carry_provenance(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    out = promoted.base / "out.parquet"
    code, stdout, err = predict(
        promoted, capsys, "--stage", "production", "--output", str(out), "--json"
    )
    assert code == 0, stdout + err
    outcome = json.loads(stdout)
    table = pq.read_table(out)
    header, matrix = features(promoted)
    model = model_at_main(promoted)
    expected = model.predict(matrix)  # type: ignore[attr-defined]
    assert table.num_rows == len(matrix) == outcome["rows"]
    assert np.array_equal(table.column("prediction").to_numpy(), expected)
    proba = model.predict_proba(matrix)  # type: ignore[attr-defined]
    assert np.allclose(table.column("proba_1").to_numpy(), proba[:, 1])
    assert table.column_names[: len(header)] == header  # input columns kept
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}

    digest = hashlib.sha256((promoted.root / "data" / "breast_cancer.csv").read_bytes()).hexdigest()
    assert meta["mlops_ci.model_version"] == "v1.0.0" == outcome["model_version"]
    assert meta["mlops_ci.input_sha256"] == digest
    assert meta["mlops_ci.model_commit"] == promoted.main_sha
    assert meta["mlops_ci.model"] == MODEL


def test_small_chunks_give_identical_results_and_csv_output(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, chunked = promoted.base / "whole.parquet", promoted.base / "chunked.parquet"
    assert predict(promoted, capsys, "--output", str(whole))[0] == 0
    code, stdout, err = predict(
        promoted, capsys, "--output", str(chunked), "--chunk-rows", "50", "--json"
    )
    assert code == 0, stdout + err
    assert json.loads(stdout)["chunks"] == 12  # 569 rows, 50 at a time
    assert pq.read_table(chunked).equals(pq.read_table(whole))
    as_csv = promoted.base / "out.csv"
    assert predict(promoted, capsys, "--output", str(as_csv), "--chunk-rows", "100")[0] == 0
    table = pacsv.read_csv(io.BytesIO(as_csv.read_bytes()))
    assert set(table.column("mlops_ci_model_version").to_pylist()) == {"v1.0.0"}
    assert (
        table.column("prediction").to_pylist()
        == pq.read_table(whole).column("prediction").to_pylist()
    )


def test_missing_column_is_one_line_exit_1(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    source = promoted.root / "data" / "breast_cancer.csv"
    lines = source.read_text().splitlines()
    short = promoted.base / "short.csv"
    short.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n")
    out = promoted.base / "never.parquet"
    code, _stdout, err = run(
        [
            "predict",
            MODEL,
            "--input",
            str(short),
            "--output",
            str(out),
            "--root",
            str(promoted.root),
        ],
        capsys,
    )
    assert code == 1
    first = err.strip().splitlines()[0]
    assert "short.csv" in first, err
    assert "expected 30 feature columns" in first, err
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(promoted.base.glob(".never.parquet.*"))


def test_no_production_version_and_bad_output_suffix(
    sample_project: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--root", str(sample_project.root)]
    code, _, err = run(
        ["predict", MODEL, "--input", "data/breast_cancer.csv", "--output", "o.parquet", *root],
        capsys,
    )
    assert code == 1
    assert "cancer-classifier: no such model in the registry" in err
    code, _, err = run(
        ["predict", MODEL, "--input", "data/breast_cancer.csv", "--output", "o.json", *root],
        capsys,
    )
    assert code == 1
    assert "expected a .parquet or .csv name" in err


def test_parquet_input_by_version_in_chunks(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_out, pq_out = promoted.base / "from-csv.parquet", promoted.base / "from-pq.parquet"
    assert predict(promoted, capsys, "--output", str(csv_out))[0] == 0
    source = promoted.base / "input.parquet"
    pq.write_table(pacsv.read_csv(promoted.root / "data" / "breast_cancer.csv"), source)
    args = ["predict", MODEL, "--version", "v1.0.0", "--input", str(source)]
    code, stdout, err = run(
        [*args, "--output", str(pq_out), "--chunk-rows", "64", "--root", str(promoted.root)],
        capsys,
    )
    assert code == 0, stdout + err
    scored = pq.read_table(pq_out)
    assert scored.num_rows == 569
    assert scored.column("prediction").equals(pq.read_table(csv_out).column("prediction"))
    meta = scored.schema.metadata or {}
    assert (
        meta[b"mlops_ci.input_sha256"].decode() == hashlib.sha256(source.read_bytes()).hexdigest()
    )


def test_a_model_fitted_on_named_columns_gets_them_and_names_a_missing_one() -> None:
    import pyarrow as pa
    from sklearn.linear_model import LogisticRegression

    from mlops_ci.errors import InputError
    from mlops_ci.services.predict import _score, feature_columns

    rng = np.random.default_rng(7)
    train = pa.table({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    labels = (train.column("a").to_numpy() > train.column("b").to_numpy()).astype(int)
    model = LogisticRegression().fit(train, labels)
    # Columns in another order, with an id: the model's names pick and order them.
    batch = pa.record_batch(
        {"id": np.arange(200), "b": train["b"].to_numpy(), "a": train["a"].to_numpy()}
    )
    wanted = feature_columns(model, batch.schema.names, None)
    assert wanted == ["a", "b"]
    scored = _score(model, batch, wanted, named=True)
    assert scored.column("prediction").to_pylist() == model.predict(train).tolist()
    assert scored.column_names == ["id", "b", "a", "prediction", "proba_0", "proba_1"]
    with pytest.raises(InputError, match="missing column 'b' that the model expects"):
        feature_columns(model, ["id", "a"], None)


def test_fsspec_urls_for_input_and_output(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    source = (promoted.root / "data" / "breast_cancer.csv").read_bytes()
    memory.pipe("/incoming/batch.csv", source)
    local = promoted.base / "local.parquet"
    assert predict(promoted, capsys, "--output", str(local))[0] == 0
    args = ["predict", MODEL, "--input", "memory://incoming/batch.csv"]
    target = "memory://scored/batch.parquet"
    code, stdout, err = run([*args, "--output", target, "--root", str(promoted.root)], capsys)
    assert code == 0, stdout + err
    scored = pq.read_table(io.BytesIO(memory.cat("/scored/batch.parquet")))
    assert scored.equals(pq.read_table(local))
    meta = scored.schema.metadata or {}
    assert meta[b"mlops_ci.input_sha256"].decode() == hashlib.sha256(source).hexdigest()
