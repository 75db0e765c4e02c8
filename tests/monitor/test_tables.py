"""Reading CSV and Parquet: local files, globs, directories, S3 through a real server."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_ci.adapters.tables import read_table, storage_options_from_env
from mlops_ci.errors import InputError


def test_csv_numbers_text_and_missing(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y,flag\n1,a,true\n2,b,false\n,c,\n")
    table = read_table("a.csv", root=tmp_path)
    x, y, flag = table.columns["x"], table.columns["y"], table.columns["flag"]
    assert x.kind == "numeric"
    np.testing.assert_array_equal(x.values, [1.0, 2.0, np.nan])
    assert y.kind == "categorical"
    assert list(table.labels("y")) == ["a", "b", "c"]
    assert flag.kind == "categorical"
    assert list(table.labels("flag")) == ["true", "false", None]
    assert table.rows == 3


def test_glob_concatenates_files_and_fills_missing_columns(tmp_path: Path) -> None:
    (tmp_path / "2024-01.csv").write_text("x,y\n1,a\n2,b\n")
    (tmp_path / "2024-02.csv").write_text("x,z\n1.5,7\n")
    (tmp_path / "notes.txt").write_text("not data")
    table = read_table("2024-*.csv", root=tmp_path)
    assert table.rows == 3
    np.testing.assert_array_equal(table.columns["x"].values, [1.0, 2.0, 1.5])
    np.testing.assert_array_equal(table.columns["z"].values, [np.nan, np.nan, 7.0])
    assert list(table.labels("y")) == ["a", "b", None]


def test_whole_numbers_then_decimals_in_one_large_csv(tmp_path: Path) -> None:
    rows = ["v,w"] + [f"{i},{i % 3}" for i in range(400_000)] + ["0.5,1"]
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    table = read_table("big.csv", root=tmp_path, columns=["v"])
    assert set(table.columns) == {"v"}
    assert table.columns["v"].values[-1] == 0.5


def test_parquet_directory_and_gzip_csv(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({"x": [1.0, None], "c": ["u", "v"]}), data / "part-0.parquet")
    pq.write_table(pa.table({"x": [3.0], "c": ["u"]}), data / "part-1.parquet")
    table = read_table("data", root=tmp_path)
    np.testing.assert_array_equal(table.columns["x"].values, [1.0, np.nan, 3.0])
    assert list(table.labels("c")) == ["u", "v", "u"]
    with gzip.open(tmp_path / "z.csv.gz", "wt") as handle:
        handle.write("x\n1\n2\n")
    assert read_table("z.csv.gz", root=tmp_path).rows == 2


@pytest.mark.parametrize(
    ("files", "source", "expected"),
    [
        ({}, "missing.csv", "missing.csv: no such file or directory"),
        ({}, "none-*.csv", "none-*.csv: no files match"),
        ({"notes.txt": "hi"}, "notes.txt", "notes.txt: expected CSV or Parquet files"),
        ({"empty.csv": ""}, "empty.csv", "empty.csv: not readable as CSV"),
        ({"bad.parquet": "not parquet"}, "bad.parquet", "bad.parquet: not readable as Parquet"),
        (
            {"a.csv": "x\n1\n", "b.csv": "x\nhello\n"},
            "*.csv",
            "b.csv: column 'x' holds text but numbers in",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, files: dict[str, str], source: str, expected: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as info:
        read_table(source, root=tmp_path)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_s3_url_through_a_real_s3_server(s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket="monitoring")
    for day, values in (("01", [1.0, 2.0]), ("02", [3.0])):
        local = tmp_path / f"{day}.parquet"
        pq.write_table(pa.table({"x": values, "c": ["a"] * len(values)}), local)
        s3.upload_file(str(local), "monitoring", f"current/2024-01-{day}.parquet")
    s3.put_object(Bucket="monitoring", Key="current/readme.md", Body=b"skip me")

    url = "s3://monitoring/current/*.parquet"
    options = storage_options_from_env(url, {"AWS_ENDPOINT_URL": s3_endpoint})
    table = read_table(url, storage_options=options)
    np.testing.assert_array_equal(table.columns["x"].values, [1.0, 2.0, 3.0])
    assert table.files == [
        "s3://monitoring/current/2024-01-01.parquet",
        "s3://monitoring/current/2024-01-02.parquet",
    ]
    with pytest.raises(InputError, match=r"s3://monitoring/nothing/\*\.csv: no files match"):
        read_table("s3://monitoring/nothing/*.csv", storage_options=options)


def test_progress_bar_reads_the_same_table(tmp_path: Path) -> None:
    rows = ["x,c"] + [f"{i},{'ab'[i % 2]}" for i in range(50_000)]
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n")
    pq.write_table(pa.table({"x": [1.0], "c": ["a"]}), tmp_path / "b.parquet")
    quiet = read_table(str(tmp_path), root=tmp_path)
    shown = read_table(str(tmp_path), root=tmp_path, progress=lambda done, total: None)
    assert shown.rows == quiet.rows == 50_001
    np.testing.assert_array_equal(shown.columns["x"].values, quiet.columns["x"].values)
