"""The loop closed through the server: requests go to `mlops-ci serve` with its
inference log on, and `mlops-ci monitor --current LOG` measures drift on what the
server saw. A shift injected into one feature of the requests is flagged, that feature
alone, and the drift report names the version that served them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from serve_helpers import MODEL, VERSION, Oracle, run_cli, serving

from mlops_ci.services.shared.sample_project import SampleProject

SHIFTED = "mean_radius"


def _send(tmp_path: Path, released: SampleProject, oracle: Oracle, factor: float) -> Path:
    """Send the whole dataset (``SHIFTED`` multiplied by ``factor``) in requests of 50
    rows to a server logging into a fresh directory; stop it; the log directory."""
    log_dir = tmp_path / f"log-{factor:g}"
    args = (MODEL, "--log", str(log_dir), "--repository", str(tmp_path / f"repo-{factor:g}"))
    with serving(released.root, tmp_path / f"serve-{factor:g}.log", *args) as server:
        rows = list(range(len(oracle.labels)))
        for start in range(0, len(rows), 50):
            chunk = rows[start : start + 50]
            body = oracle.columns_body(chunk)
            for item in body["inputs"]:
                if item["name"] == SHIFTED:
                    item["data"] = [v * factor for v in item["data"]]
            status, answer = server.infer(body)
            assert status == 200, answer
    return log_dir


@pytest.mark.parametrize(("factor", "drifted"), [(1.0, []), (3.0, [SHIFTED])])
def test_monitor_on_the_servers_log_flags_the_shift_injected_into_requests(
    tmp_path: Path, released: SampleProject, oracle: Oracle, factor: float, drifted: list[str]
) -> None:
    log_dir = _send(tmp_path, released, oracle, factor)
    logged = sorted(log_dir.rglob("*.parquet"))
    assert logged, "the server wrote no log"
    out = tmp_path / "monitor"
    code, printed = run_cli(
        "monitor", "--current", str(log_dir), "--publish", "local", "--output", str(out),
        "--root", str(released.root),
    )  # fmt: skip
    assert code == 0, printed
    assert f"served by {VERSION}: {len(oracle.labels):,} logged rows" in printed
    report = json.loads((out / "drift.json").read_text())
    found = sorted(f["name"] for f in report["features"] if f["drifted"])
    assert found == drifted
    assert [v["version"] for v in report["served_versions"]] == [VERSION]
    assert report["served_versions"][0]["rows"] == len(oracle.labels)
    assert f"Served version: `{VERSION}`" in (out / "drift.md").read_text()
