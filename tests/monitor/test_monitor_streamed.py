"""Data beyond `monitor.max_memory`: streamed into sketches and exact counts, the same
verdicts as the exact method, the approximation and its bound stated."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import run
from scipy import stats

from mlops_ci.core.drift_sketch import NumericSketch, SketchPair
from mlops_ci.core.sizes import format_size, parse_size

ROWS = 200_000


def _table(rng: np.random.Generator, *, current: bool) -> pa.Table:
    columns: dict[str, Any] = {}
    for i in range(8):
        shift = 0.4 if current and i in (1, 5) else 0.0
        columns[f"num_{i}"] = rng.normal(shift, 1.0 + (0.5 if current and i == 6 else 0), ROWS)
    # A few-valued numeric column (tested as categories) and two text columns.
    columns["stars"] = rng.choice([1.0, 2.0, 3.0], ROWS, p=[0.2, 0.3, 0.5] if current else None)
    weights = [0.6, 0.3, 0.1] if current else [0.2, 0.3, 0.5]
    columns["colour"] = rng.choice(np.array(["red", "green", "blue"]), ROWS, p=weights)
    with_missing = rng.choice(np.array(["a", "b"]), ROWS).astype(object)
    with_missing[rng.random(ROWS) < 0.1] = None
    columns["letter"] = with_missing
    return pa.table(columns)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    rng = np.random.default_rng(11)
    pq.write_table(_table(rng, current=False), tmp_path / "ref.parquet", row_group_size=50_000)
    current = _table(rng, current=True)
    # The current data in two files, the second without the `letter` column.
    pq.write_table(current.slice(0, 120_000), tmp_path / "cur-1.parquet")
    pq.write_table(current.slice(120_000).drop_columns(["letter"]), tmp_path / "cur-2.parquet")
    return tmp_path


def _monitor(
    project: Path, capsys: pytest.CaptureFixture[str], out: str, max_memory: str | None
) -> tuple[dict[str, Any], str]:
    config = "monitor:\n  reference: ref.parquet\n"
    if max_memory:
        config += f"  max_memory: {max_memory}\n"
    (project / "mlops-ci.yaml").write_text(config)
    args = ["monitor", "--root", str(project), "--current", "cur-*.parquet"]
    code, _, err = run([*args, "--publish", "none", "--output", str(project / out)], capsys)
    assert code == 0, err
    document = json.loads((project / out / "drift.json").read_text())
    return document, (project / out / "drift.md").read_text()


def test_streamed_flags_the_same_features_as_exact_and_says_approximate(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exact, exact_md = _monitor(project, capsys, "exact", None)
    streamed, streamed_md = _monitor(project, capsys, "streamed", "1MB")
    assert exact["method"] == "exact"
    assert "Approximate" not in exact_md
    assert streamed["method"].startswith("streamed, numeric features from KLL sketches (k=4096")
    drifted = {f["name"] for f in exact["features"] if f["drifted"]}
    assert drifted == {"num_1", "num_5", "num_6", "stars", "colour"}
    assert {f["name"] for f in streamed["features"] if f["drifted"]} == drifted
    assert streamed["current"]["rows"] == exact["current"]["rows"] == ROWS
    by_name = {f["name"]: f for f in streamed["features"]}
    exact_by_name = {f["name"]: f for f in exact["features"]}
    for name, feature in by_name.items():
        other = exact_by_name[name]
        assert feature["test"] == other["test"]
        assert feature["missing_current"] == pytest.approx(other["missing_current"])
        if name.startswith("num_"):
            # Numeric: from the sketches, within the bound they state.
            assert feature["approximate"] is True
            bound = feature["error_bound"]
            assert 0 < bound < 0.05
            assert abs(feature["score"] - other["score"]) <= bound
        else:
            # Categories and few-valued numbers: counted exactly.
            assert feature["approximate"] is False
            assert feature["score"] == pytest.approx(other["score"], rel=1e-12)
    assert "Approximate: streamed" in streamed_md
    assert "wasserstein within ±" in streamed_md
    assert "approximate \\(score ±" in streamed_md


def test_bad_max_memory_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "mlops-ci.yaml").write_text("monitor:\n  max_memory: lots\n")
    args = ["monitor", "--root", str(project), "--reference", "ref.parquet"]
    code, _, err = run([*args, "--current", "cur-1.parquet", "--publish", "none"], capsys)
    assert code == 1
    assert len(err.strip().splitlines()) <= 2
    assert "monitor.max_memory" in err
    assert "expected a size such as 4GiB" in err


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.5])
def test_sketch_ks_and_wasserstein_within_their_bound_of_scipy(shift: float) -> None:
    rng = np.random.default_rng(3)
    ref = rng.standard_t(5, 300_000)
    cur = rng.standard_t(5, 200_000) + shift
    sketches = NumericSketch(), NumericSketch()
    for side, values in zip(sketches, (ref, cur), strict=True):
        for batch in np.array_split(values, 7):  # merged batch by batch
            side.update(batch)
    pair = SketchPair(*sketches)
    d, bound = pair.ks()
    assert abs(d - stats.ks_2samp(ref, cur).statistic) <= bound
    raw, w_bound = pair.wasserstein()
    assert abs(raw - stats.wasserstein_distance(ref, cur)) <= w_bound
    assert sketches[0].std == pytest.approx(float(np.std(ref)), rel=1e-9)
    assert sketches[0].n == ref.shape[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4GiB", 4 << 30), ("512 MB", 512_000_000), ("2.5G", 2_500_000_000), (1024, 1024)],
)
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1", "0", "4 parsecs", ""])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_size(text)


def test_format_size() -> None:
    assert format_size(3 << 30) == "3.0 GiB"
    assert not math.isnan(float(format_size(10).split()[0]))


@pytest.mark.parametrize("max_memory", [None, "1"])
def test_csv_type_clash_is_the_same_line_exact_or_streamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], max_memory: str | None
) -> None:
    (tmp_path / "ref.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
    (tmp_path / "cur-1.csv").write_text("x,y\n1,a\n")
    (tmp_path / "cur-2.csv").write_text("x,y\nhello,b\n")
    config = "monitor:\n  reference: ref.csv\n"
    (tmp_path / "mlops-ci.yaml").write_text(
        config + (f"  max_memory: {max_memory}\n" if max_memory else "")
    )
    args = ["monitor", "--root", str(tmp_path), "--current", "cur-*.csv", "--publish", "none"]
    code, _, err = run(args, capsys)
    assert code == 1
    assert err.splitlines()[0] == (
        "error: cur-2.csv: column 'x' holds text but numbers in cur-1.csv; "
        "expected one type per column"
    )


def test_streamed_csv_counts_rows_and_missing_like_the_exact_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(5)
    rows = ["x,y"] + [
        f"{v:.6f},{c}" for v, c in zip(rng.normal(size=3000), "abc" * 1000, strict=True)
    ]
    (tmp_path / "ref.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "cur.csv").write_text("x,y\n" + "\n".join(rows[1:1500]) + "\n,\n")
    documents = []
    for out, max_memory in (("exact", ""), ("streamed", "  max_memory: 1\n")):
        (tmp_path / "mlops-ci.yaml").write_text("monitor:\n  reference: ref.csv\n" + max_memory)
        args = ["monitor", "--root", str(tmp_path), "--current", "cur.csv", "--publish", "none"]
        code, _, err = run([*args, "--output", str(tmp_path / out)], capsys)
        assert code == 0, err
        documents.append(json.loads((tmp_path / out / "drift.json").read_text()))
    exact, streamed = ({f["name"]: f for f in d["features"]} for d in documents)
    assert documents[1]["method"].startswith("streamed")
    for name in ("x", "y"):
        for key in ("n_reference", "n_current", "missing_current", "test", "drifted"):
            assert streamed[name][key] == exact[name][key], (name, key)
    # 3000 values fit in the sketch whole: its CDF is exact, only the grid is not.
    assert streamed["x"]["score"] == pytest.approx(exact["x"]["score"], abs=1e-3)
