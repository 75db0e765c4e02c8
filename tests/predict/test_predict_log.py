"""`mlops-ci predict` writes what it scored to the inference log (`--log`, or
`deploy.log` in mlops-ci.yaml), and `monitor --current` reads that log: the loop from
scoring back to drift, on the real sample project."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import run

from mlops_ci.adapters.inference_log import LOG_COLUMNS, model_directory
from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
ROWS = 569


def predict(
    sample: SampleProject, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    args = ["predict", MODEL, "--input", "data/breast_cancer.csv", "--root", str(sample.root)]
    return run([*args, "--output", str(sample.base / "scored.parquet"), *extra], capsys)


def logged(directory: Path) -> tuple[pa.Table, list[Path]]:
    files = sorted((directory / model_directory(MODEL)).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]), files


def test_predict_log_then_monitor_reads_it(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = promoted.base / "logs"
    code, out, err = predict(promoted, capsys, "--log", str(logs))
    assert code == 0, out + err
    assert f"logged {ROWS} rows to {logs}" in out
    table, _ = logged(logs)
    scored = pq.read_table(promoted.base / "scored.parquet")
    # The model's features and answers, not the label it was not given.
    assert "diagnosis" not in table.column_names
    assert table.column_names[-len(LOG_COLUMNS) :] == list(LOG_COLUMNS)
    outputs = [c for c in scored.column_names if c == "prediction" or c.startswith("proba_")]
    assert table.column_names == [
        *(c for c in scored.column_names if c not in ("diagnosis", *outputs)),
        *outputs,
        *LOG_COLUMNS,
    ]
    assert table.column("prediction").to_pylist() == scored.column("prediction").to_pylist()
    assert set(table.column("mlops_ci_model_version").to_pylist()) == {"v1.0.0"}

    out_dir = promoted.base / "monitor"
    args = ["monitor", "--root", str(promoted.root), "--current", str(logs)]
    code, out, err = run([*args, "--output", str(out_dir), "--publish", "local", "--json"], capsys)
    assert code == 0, out + err
    report = json.loads(out)
    assert report["dataset_drift"] is False
    assert report["current"]["rows"] == ROWS
    assert [(v["version"], v["rows"]) for v in report["served_versions"]] == [("v1.0.0", ROWS)]
    names = {f["name"] for f in report["features"]}
    assert "mean_radius" in names
    assert not names & {"prediction", *outputs, *LOG_COLUMNS}
    assert f"Served version: `v1.0.0` ({ROWS} logged rows" in (out_dir / "drift.md").read_text()


def test_deploy_log_in_the_config_is_the_default_and_no_log_turns_it_off(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    config = promoted.root / "mlops-ci.yaml"
    config.write_text(
        config.read_text() + "deploy:\n  log:\n    path: logs\n    sample: 0.5\n"
        "    rotate_rows: 100\n"
    )
    logs = promoted.root / "logs"
    code, out, err = predict(promoted, capsys, "--no-log")
    assert code == 0, out + err
    assert not logs.exists()
    assert "logged" not in out

    code, out, err = predict(promoted, capsys, "--json")
    assert code == 0, out + err
    outcome = json.loads(out)
    table, files = logged(logs)
    # Half the rows, sampled one by one: Binomial(569, 0.5) has an sd of about 12.
    assert abs(outcome["logged_rows"] - ROWS / 2) < 5 * 12
    assert table.num_rows == outcome["logged_rows"]
    assert outcome["log_dropped_rows"] == 0
    assert outcome["log"] == str(logs)
    assert len(files) == -(-table.num_rows // 100)
    assert all(pq.read_metadata(f).num_rows <= 100 for f in files)


def test_log_and_no_log_together_is_one_line(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = predict(promoted, capsys, "--log", "logs", "--no-log")
    assert code == 1
    assert "--log and --no-log" in err
    assert "Traceback" not in err
