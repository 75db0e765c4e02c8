"""Monitoring data `mlops-ci monitor` cannot compare: wrong columns or types, empty and
header-only files, ragged rows, huge cells, binary data named .csv, truncated or empty
Parquet, compressed files that are not, and sources that name nothing."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from .harness import run_case

CASES = Path(__file__).parent / "cases" / "data"
FILES = sorted(CASES.iterdir())
N = 400


def _reference_table() -> pa.Table:
    rng = np.random.default_rng(3)
    return pa.table(
        {
            "a": rng.normal(size=N),
            "b": rng.normal(size=N),
            "city": rng.choice(np.array(["x", "y", "z"]), N),
        }
    )


@pytest.fixture(scope="session")
def reference_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The reference as CSV and Parquet bytes (good data: the cases spoil the current)."""
    base = tmp_path_factory.mktemp("badinput-data")
    table = _reference_table()
    pq.write_table(table, base / "ref.parquet")
    pacsv.write_csv(table, base / "ref.csv")
    return {name: (base / name).read_bytes() for name in ("ref.csv", "ref.parquet")}


@pytest.fixture
def project(tmp_path: Path, reference_files: dict[str, bytes]) -> Path:
    import subprocess

    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name, data in reference_files.items():
        (root / name).write_bytes(data)
    return root


def _monitor(project: Path, current: str, reference: str = "ref.csv") -> list[str]:
    return [
        "monitor", "--root", str(project), "--reference", reference, "--current", current,
        "--output", str(project / "out"), "--publish", "local",
    ]  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_bad_current_file(
    path: Path,
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (project / "current.csv").write_bytes(path.read_bytes())
    run_case(
        "monitoring",
        path.name,
        _monitor(project, "current.csv"),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[project],
        expect=[1],
    )  # fmt: skip


def _truncated_parquet(project: Path, reference: bytes) -> str:
    (project / "current.parquet").write_bytes(reference[: len(reference) // 2])
    return "current.parquet"


def _parquet_magic_only(project: Path, reference: bytes) -> str:
    (project / "current.parquet").write_bytes(b"PAR1")
    return "current.parquet"


def _empty_parquet(project: Path, reference: bytes) -> str:
    (project / "current.parquet").write_bytes(b"")
    return "current.parquet"


def _zero_row_parquet(project: Path, reference: bytes) -> str:
    pq.write_table(_reference_table().slice(0, 0), project / "current.parquet")
    return "current.parquet"


def _csv_named_parquet(project: Path, reference: bytes) -> str:
    (project / "current.parquet").write_text("a,b,city\n1,2,x\n")
    return "current.parquet"


def _parquet_named_csv(project: Path, reference: bytes) -> str:
    (project / "current.csv").write_bytes(reference)
    return "current.csv"


def _binary_csv(project: Path, reference: bytes) -> str:
    (project / "current.csv").write_bytes(bytes(range(256)) * 64)
    return "current.csv"


def _huge_cell(project: Path, reference: bytes) -> str:
    # One 17 MiB cell (larger than the reader's block) in a file sharing no column.
    (project / "current.csv").write_bytes(b"x,y\n1," + b"x" * (17 << 20) + b"\n")
    return "current.csv"


def _not_gzip(project: Path, reference: bytes) -> str:
    (project / "current.csv.gz").write_text("a,b,city\n1,2,x\n")
    return "current.csv.gz"


def _truncated_gzip(project: Path, reference: bytes) -> str:
    data = gzip.compress(b"a,b,city\n" + b"1,2,x\n" * 1000)
    (project / "current.csv.gz").write_bytes(data[: len(data) // 2])
    return "current.csv.gz"


def _types_differ_between_files(project: Path, reference: bytes) -> str:
    folder = project / "current"
    folder.mkdir()
    (folder / "1.csv").write_text("a,b,city\n1,2,x\n")
    (folder / "2.csv").write_text("a,b,city\nlow,2,x\n")
    return "current"


def _directory_without_data(project: Path, reference: bytes) -> str:
    folder = project / "current"
    folder.mkdir()
    (folder / "notes.txt").write_text("no data here\n")
    return "current"


def _missing_file(project: Path, reference: bytes) -> str:
    return "nowhere.csv"


def _glob_matching_nothing(project: Path, reference: bytes) -> str:
    return "data/2031-*.parquet"


def _unsupported_suffix(project: Path, reference: bytes) -> str:
    (project / "current.xlsx").write_bytes(b"PK\x03\x04" + bytes(100))
    return "current.xlsx"


GENERATED: dict[str, Callable[[Path, bytes], str]] = {
    "truncated_parquet": _truncated_parquet,
    "parquet_magic_only": _parquet_magic_only,
    "empty_parquet": _empty_parquet,
    "zero_row_parquet": _zero_row_parquet,
    "csv_named_parquet": _csv_named_parquet,
    "parquet_named_csv": _parquet_named_csv,
    "binary_named_csv": _binary_csv,
    "huge_cell_no_shared_column": _huge_cell,
    "not_gzip": _not_gzip,
    "truncated_gzip": _truncated_gzip,
    "types_differ_between_files": _types_differ_between_files,
    "directory_without_data": _directory_without_data,
    "missing_file": _missing_file,
    "glob_matching_nothing": _glob_matching_nothing,
    "unsupported_suffix": _unsupported_suffix,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_bad_current_source(
    name: str,
    project: Path,
    reference_files: dict[str, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    current = GENERATED[name](project, reference_files["ref.parquet"])
    run_case(
        "monitoring",
        name,
        _monitor(project, current),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[project],
        expect=[1],
    )  # fmt: skip


@pytest.mark.parametrize("name", ["truncated_parquet", "binary_named_csv", "missing_file"])
def test_bad_reference_source(
    name: str,
    project: Path,
    reference_files: dict[str, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = GENERATED[name](project, reference_files["ref.parquet"])
    run_case(
        "monitoring",
        f"reference/{name}",
        _monitor(project, "ref.parquet", reference=reference),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[project],
        expect=[1],
    )  # fmt: skip


def test_good_data_is_compared(project: Path) -> None:
    """The control: reference against itself (CSV vs Parquet) monitors fine."""
    from mlops_ci.cli import main

    with pytest.raises(SystemExit) as info:
        main(_monitor(project, "ref.parquet"))
    assert info.value.code == 0
    assert (project / "out" / "drift.json").is_file()


def test_a_huge_cell_in_good_data_is_read(project: Path) -> None:
    """Not bad input: a 17 MiB text cell (beyond one read block) is read, not refused."""
    from mlops_ci.cli import main

    table = _reference_table().to_pylist()
    lines = ["a,b,city"] + [f"{r['a']},{r['b']},{r['city']}" for r in table]
    lines[1] = lines[1].rsplit(",", 1)[0] + "," + "x" * (17 << 20)
    (project / "current.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(SystemExit) as info:
        main(_monitor(project, "current.csv"))
    assert info.value.code == 0
    drift = json.loads((project / "out" / "drift.json").read_text())
    assert drift["current"]["rows"] == N
