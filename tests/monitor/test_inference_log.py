"""The inference log: sampled rows of inputs and outputs, as rotating Parquet files written
whole, to a local directory or an fsspec URL, from several threads, never failing the
caller."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_ci.adapters.inference_log import (
    LOG_COLUMNS,
    InferenceLog,
    model_directory,
    of_model,
    read_log_summary,
)
from mlops_ci.adapters.tables import read_table, resolve_files
from mlops_ci.errors import InputError

MODEL = "cancer-classifier"


def batch(rows: int, start: int = 0) -> tuple[pa.Table, pa.Table]:
    ids = np.arange(start, start + rows, dtype=np.float64)
    inputs = pa.table(
        {
            "row": ids,
            "mean radius": ids * 0.5,
            "kind": ["a", "b"] * (rows // 2) + ["a"] * (rows % 2),
        }
    )
    outputs = pa.table(
        {
            "prediction": (ids % 2).astype(np.int64),
            "proba_0": ids / (ids.max() + 1),
            "proba_1": 1 - ids / (ids.max() + 1),
        }
    )
    return inputs, outputs  # fmt: skip


def parquet_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.parquet"))


def read_all(directory: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(f) for f in parquet_files(directory)])


def test_rows_carry_inputs_outputs_and_provenance(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1.2.0")
    inputs, outputs = batch(6)
    assert log.record(inputs, outputs) == 6
    log.close()
    table = read_all(tmp_path / model_directory(MODEL))
    assert table.column_names == [
        "row", "mean radius", "kind", "prediction", "proba_0", "proba_1", *LOG_COLUMNS
    ]  # fmt: skip
    assert table.column("row").to_pylist() == inputs.column("row").to_pylist()
    assert table.column("kind").to_pylist() == inputs.column("kind").to_pylist()
    assert table.column("prediction").to_pylist() == outputs.column("prediction").to_pylist()
    assert set(table.column("mlops_ci_model").to_pylist()) == {MODEL}
    assert set(table.column("mlops_ci_model_version").to_pylist()) == {"v1.2.0"}
    times = table.column("mlops_ci_time")
    assert times.type == pa.timestamp("us", tz="UTC")
    assert all(before <= t <= datetime.now(UTC) for t in times.to_pylist())
    assert log.written == 6
    assert log.dropped == 0


def test_an_output_replaces_an_input_of_its_name_and_old_provenance_is_dropped(
    tmp_path: Path,
) -> None:
    inputs = pa.table({"x": [1.0, 2.0], "prediction": [9, 9], "mlops_ci_input_sha256": ["a", "b"]})
    outputs = pa.table({"prediction": [0, 1]})
    with InferenceLog(str(tmp_path), model=MODEL, version="v1") as log:
        log.record(inputs, outputs)
    table = read_all(tmp_path / model_directory(MODEL))
    assert table.column_names == ["x", "prediction", *LOG_COLUMNS]
    assert table.column("prediction").to_pylist() == [0, 1]


def test_sampling_keeps_the_configured_share(tmp_path: Path) -> None:
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1", sample=0.3, seed=7)
    kept = sum(log.record(*batch(100, start=100 * i)) for i in range(200))
    log.close()
    # Binomial(20000, 0.3): sd ≈ 65 rows; five of them either side.
    assert abs(kept - 6_000) < 5 * np.sqrt(20_000 * 0.3 * 0.7)
    table = read_all(tmp_path / model_directory(MODEL))
    assert table.num_rows == kept == log.written
    rows = table.column("row").to_numpy()
    assert len(np.unique(rows)) == kept  # rows sampled one by one, none repeated
    # Every hundred-row request is sampled, not whole requests kept or skipped.
    per_request = np.bincount((rows // 100).astype(int), minlength=200)
    assert 0 < np.mean(per_request) < 100
    assert per_request.max() < 100


def test_the_same_seed_samples_the_same_rows(tmp_path: Path) -> None:
    kept = []
    for run in ("a", "b"):
        with InferenceLog(
            str(tmp_path / run), model=MODEL, version="v1", sample=0.5, seed=3
        ) as log:
            log.record(*batch(200))
        kept.append(read_all(tmp_path / run / model_directory(MODEL)).column("row").to_pylist())
    assert kept[0] == kept[1]
    assert 0 < len(kept[0]) < 200


def test_files_rotate_every_rotate_rows(tmp_path: Path) -> None:
    directory = tmp_path / model_directory(MODEL)
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1", rotate_rows=10)
    for i in range(25):
        log.record(*batch(1, start=i))
    assert [pq.read_metadata(f).num_rows for f in parquet_files(directory)] == [10, 10]
    log.close()
    log.close()  # idempotent
    files = parquet_files(directory)
    assert [pq.read_metadata(f).num_rows for f in files] == [10, 10, 5]
    assert read_all(directory).column("row").to_pylist() == list(range(25))
    # Names sort by time, then process, then sequence: the order they were written in.
    assert [f.name for f in files] == sorted(f.name for f in files)
    assert all(f.name.split("-")[1] == str(os.getpid()) for f in files)


def test_one_large_request_is_split_into_files_of_rotate_rows(tmp_path: Path) -> None:
    with InferenceLog(str(tmp_path), model=MODEL, version="v1", rotate_rows=10) as log:
        log.record(*batch(25))
    counts = [
        pq.read_metadata(f).num_rows for f in parquet_files(tmp_path / model_directory(MODEL))
    ]
    assert counts == [10, 10, 5]


def test_a_new_schema_starts_a_new_file(tmp_path: Path) -> None:
    with InferenceLog(str(tmp_path), model=MODEL, version="v1") as log:
        log.record(pa.table({"x": [1.0, 2.0]}), pa.table({"prediction": [0, 1]}))
        log.record(pa.table({"x": ["text"]}), pa.table({"prediction": [1]}))
        log.record(pa.table({"x": [3.0], "y": [1.0]}), pa.table({"prediction": [1]}))
    files = parquet_files(tmp_path / model_directory(MODEL))
    schemas = [pq.read_schema(f) for f in files]
    assert [s.field("x").type for s in schemas] == [pa.float64(), pa.string(), pa.float64()]
    assert [pq.read_metadata(f).num_rows for f in files] == [2, 1, 1]
    assert log.dropped == 0


def test_rows_after_close_are_counted_as_dropped(tmp_path: Path) -> None:
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1")
    log.close()
    assert log.record(*batch(3)) == 3
    assert log.dropped == 3
    assert log.written == 0
    assert not (tmp_path / model_directory(MODEL)).exists()


def test_memory_url(tmp_path: Path) -> None:
    url = f"memory://logs-{uuid.uuid4().hex}"
    with InferenceLog(url, model=MODEL, version="v2", rotate_rows=4) as log:
        log.record(*batch(10))
    fs = fsspec.filesystem("memory")
    root = f"{url.removeprefix('memory://')}/{model_directory(MODEL)}"
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))
    assert len(names) == 3
    assert all(n.endswith(".parquet") for n in names)
    assert all(f.startswith("memory://") for f in log.files)
    _, files = resolve_files(url, tmp_path)
    table = read_table(url, root=tmp_path)
    assert len(files) == 3
    assert table.rows == 10
    summary = read_log_summary(fs, files)
    assert summary is not None
    assert summary.rows == 10
    fs.rm(url.removeprefix("memory://"), recursive=True)


def test_a_failing_destination_never_raises_and_counts_dropped_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A directory cannot be made under a regular file, whoever runs the test (a
    # read-only directory does not stop root).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    log = InferenceLog(str(blocker / "logs"), model=MODEL, version="v1", rotate_rows=5)
    with caplog.at_level(logging.WARNING, logger="mlops_ci.inference_log"):
        assert log.record(*batch(12)) == 12
        log.close()
    assert log.dropped == 12
    assert log.written == 0
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3  # one line per file that could not be written
    assert all("\n" not in w and "rows dropped" in w for w in warnings)
    assert "5 rows dropped" in warnings[0]
    assert "2 rows dropped" in warnings[2]


def test_temporary_files_are_never_read(tmp_path: Path) -> None:
    with InferenceLog(str(tmp_path), model=MODEL, version="v1") as log:
        log.record(*batch(4))
    directory = tmp_path / model_directory(MODEL)
    # What an interrupted write leaves: a hidden temporary name, half a file.
    written = parquet_files(directory)[0].read_bytes()
    (directory / ".20990101T000000.000000-1-000001.parquet.abc.tmp").write_bytes(written[:50])
    _, files = resolve_files(str(tmp_path), tmp_path)
    assert [Path(f).name for f in files] == [parquet_files(directory)[0].name]
    assert read_table(str(tmp_path), root=tmp_path).rows == 4


def test_a_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1", rotate_rows=50)
    done = threading.Event()
    problems: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            if not (tmp_path / model_directory(MODEL)).exists():
                continue
            try:
                names = resolve_files(str(tmp_path), tmp_path)[1]
            except InputError:  # nothing complete yet: only a temporary name
                continue
            for name in names:
                try:
                    rows = pq.read_metadata(name).num_rows
                except Exception as exc:
                    problems.append(f"{name}: {exc}")
                else:
                    reads += 1
                    if rows != 50:
                        problems.append(f"{name}: {rows} rows")

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        for i in range(60):
            log.record(*batch(50, start=50 * i))
    finally:
        done.set()
        watcher.join()
        log.close()
    assert not problems
    assert reads > 0
    assert len(parquet_files(tmp_path / model_directory(MODEL))) == 60


def test_concurrent_records_lose_no_row(tmp_path: Path) -> None:
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1", rotate_rows=97)
    threads, calls, rows = 8, 100, 7
    start = threading.Barrier(threads)

    def client(t: int) -> None:
        start.wait()
        for c in range(calls):
            log.record(*batch(rows, start=(t * calls + c) * rows))

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.close()
    table = read_all(tmp_path / model_directory(MODEL))
    total = threads * calls * rows
    assert sorted(table.column("row").to_pylist()) == list(range(total))
    assert log.written == total
    assert log.dropped == 0
    counts = [
        pq.read_metadata(f).num_rows for f in parquet_files(tmp_path / model_directory(MODEL))
    ]
    assert sum(counts) == total
    assert max(counts) <= 97


def test_versions_are_read_back_with_their_rows_and_times(tmp_path: Path) -> None:
    with InferenceLog(str(tmp_path), model=MODEL, version="v1.0.0") as old:
        old.record(*batch(3))
    with InferenceLog(str(tmp_path), model=MODEL, version="v1.1.0") as new:
        new.record(*batch(5))
        new.record(*batch(2))
    _, files = resolve_files(str(tmp_path), tmp_path)
    summary = read_log_summary(None, files)
    assert summary is not None
    assert summary.outputs == ["prediction", "proba_0", "proba_1"]
    found = summary.versions
    assert [(v.version, v.rows) for v in found] == [("v1.0.0", 3), ("v1.1.0", 7)]
    assert found[0].first is not None
    assert found[1].last is not None
    assert found[0].first <= found[1].last <= datetime.now(UTC) + timedelta(seconds=1)


def test_files_of_other_models_are_left_out(tmp_path: Path) -> None:
    for model in (MODEL, "churn/model"):
        with InferenceLog(str(tmp_path), model=model, version="v1") as log:
            log.record(*batch(2))
    _, files = resolve_files(str(tmp_path), tmp_path)
    assert len(files) == 2
    mine = of_model(files, MODEL)
    assert len(mine) == 1
    assert f"/{model_directory(MODEL)}/" in mine[0]
    assert model_directory("churn/model") == "model=churn_model"
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "data.parquet")
    assert read_log_summary(None, [str(tmp_path / "data.parquet")]) is None
    plain = [str(tmp_path / "data.csv")]
    assert of_model(plain, MODEL) == plain


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample"):
        InferenceLog(str(tmp_path), model=MODEL, version="v1", sample=0)
    with pytest.raises(ValueError, match="rotate_rows"):
        InferenceLog(str(tmp_path), model=MODEL, version="v1", rotate_rows=0)
    log = InferenceLog(str(tmp_path), model=MODEL, version="v1")
    inputs, _ = batch(3)
    with pytest.raises(ValueError, match="one output row per input row"):
        log.record(inputs, pa.table({"prediction": [1]}))
