"""`mlops-ci monitor` on a laptop and on a runner: exit codes, files, outputs, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from cli_helpers import run

from mlops_ci.commands.monitor import monitor, retrain

FEATURE_KEYS = {"name", "test", "score", "threshold", "drifted"}


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    lines = [",".join(names)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with reference data and a drifted and a clean current file."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    rng = np.random.default_rng(0)
    n = 2000
    ref = {
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "c": rng.normal(size=n),
        "city": rng.choice(np.array(["x", "y", "z"]), n),
    }
    write_csv(tmp_path / "ref.csv", ref)
    clean = {k: rng.permutation(v) for k, v in ref.items()}
    write_csv(tmp_path / "clean.csv", clean)
    drifted = dict(clean, a=clean["a"] + 1.0, b=clean["b"] * 3)
    write_csv(tmp_path / "drifted.csv", drifted)
    return tmp_path


def test_drift_exits_0_and_writes_both_files(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = project / "out"
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", "--current"]
    code, out, _ = run([*args, "drifted.csv", "--output", str(out_dir)], capsys)
    assert code == 0
    assert "DRIFT: 2 of 4 features drifted" in out
    data = json.loads((out_dir / "drift.json").read_text())
    assert data["schema"] == "mlops-ci/drift"
    assert data["version"] == 1
    assert data["dataset_drift"] is True
    assert all(set(f) >= FEATURE_KEYS for f in data["features"])
    assert [f["name"] for f in data["features"] if f["drifted"]] == ["b", "a"]
    markdown = (out_dir / "drift.md").read_text()
    assert "Dataset drift." in markdown
    assert "xychart-beta" in markdown
    assert "line [" in markdown
    assert not list(out_dir.glob(".*tmp"))  # atomic writes leave no temporary files


def test_fail_on_drift_exits_2_and_clean_data_exits_0(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", "--fail-on-drift"]
    code, _, err = run([*args, "--current", "drifted.csv"], capsys)
    assert code == 2
    assert err.strip().splitlines() == ["refused: model: dataset drift (2 of 4 features drifted)"]
    code, out, _ = run([*args, "--current", "clean.csv", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["dataset_drift"] is False
    assert data["n_drifted"] == 0


def test_publish_none_writes_the_files_and_nothing_else(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for `report`: the files always go to --output; `none` publishes nowhere else.
    # A token and a repository are set, and the API is a closed port: any call would fail.
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/repo")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    out_dir = project / "chosen"
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", "--publish", "none"]
    code, out, _ = run([*args, "--current", "drifted.csv", "--output", str(out_dir)], capsys)
    assert code == 0
    assert json.loads((out_dir / "drift.json").read_text())["github"] is None
    assert "Dataset drift." in (out_dir / "drift.md").read_text()
    assert f"wrote {out_dir / 'drift.md'}" in out
    assert not (project / ".mlops-ci").exists()
    code, _, _ = run([*args, "--current", "clean.csv"], capsys)
    assert code == 0
    assert json.loads((project / ".mlops-ci" / "drift.json").read_text())["dataset_drift"] is False


def test_action_output_and_summary_on_a_runner(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    output = project / "github_output"
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", "--publish", "local"]
    code, _, _ = run([*args, "--current", "drifted.csv"], capsys)
    assert code == 0
    lines = output.read_text().splitlines()
    assert lines[0].startswith("drift<<")
    assert lines[1] == "true"
    assert "Dataset drift." in summary.read_text()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--current", "nope.csv"], "error: nope.csv: no such file or directory"),
        ([], "error: no current data to monitor"),
        (["--current", "bad.parquet"], "error: bad.parquet: not readable as Parquet"),
        (["--current", "ref.csv", "--model-path", "nope.pkl"], None),
    ],
)
def test_bad_input_is_exit_1_and_one_line(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    expected: str | None,
) -> None:
    (project / "bad.parquet").write_text("this is not parquet")
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", *extra]
    code, _, err = run(args, capsys)
    if expected is None:  # no target configured: the model is never needed
        assert code == 0
        return
    assert code == 1
    first = err.strip().splitlines()[0]
    assert first.startswith(expected)
    assert "Traceback" not in err


def test_bad_reference_file_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "ref2.csv").write_text("a,b\n1,2\n3\n")
    args = ["monitor", "--root", str(project), "--reference", "ref2.csv", "--current", "ref.csv"]
    code, _, err = run(args, capsys)
    assert code == 1
    assert err.startswith("error: ref2.csv: not readable as CSV")
    assert len(err.strip().splitlines()) <= 2  # the error, and at most a hint


@pytest.mark.parametrize("command", [monitor, retrain])
def test_every_option_has_help(command: click.Command) -> None:
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command.name} {param.opts} has no help"


def test_every_configured_model_is_monitored_into_its_own_directory(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "mlops-ci.yaml").write_text(
        "models:\n  alpha: {}\n  beta: {}\nmonitor:\n  reference: ref.csv\n  current: drifted.csv\n"
    )
    output = project / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code, out, _ = run(["monitor", "--root", str(project), "--publish", "local", "--json"], capsys)
    assert code == 0
    documents = json.loads(out)
    assert [d["model"] for d in documents] == ["alpha", "beta"]
    for name in ("alpha", "beta"):
        saved = json.loads((project / ".mlops-ci" / name / "drift.json").read_text())
        assert saved["model"] == name
        assert saved["dataset_drift"] is True
    lines = output.read_text().splitlines()
    assert [lines[i + 1] for i, line in enumerate(lines) if line.startswith("drift<<")] == ["true"]


def test_drift_chart_renders_with_mermaid(
    project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, render_mermaid: Any
) -> None:
    args = ["monitor", "--root", str(project), "--reference", "ref.csv", "--current"]
    code, _, _ = run([*args, "drifted.csv", "--output", str(tmp_path)], capsys)
    assert code == 0
    markdown = (tmp_path / "drift.md").read_text()
    (png,) = render_mermaid(markdown)
    assert png.stat().st_size > 0
