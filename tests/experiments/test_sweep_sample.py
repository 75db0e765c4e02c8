"""A 3x3 sweep on the sample project, run cell by cell the way the matrix runs it.

One test (about a minute): each cell costs a DVC pipeline run with scikit-learn.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mlops_ci.services.shared.sample_project import SampleProject

from .conftest import SWEEP_CONFIG, cli, local_env


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_grid_runs_as_cells_and_merges_into_one_leaderboard(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    root = sample_project.root
    with (root / "mlops-ci.yaml").open("a") as handle:
        handle.write(SWEEP_CONFIG)
    params_before = (root / "params.yaml").read_bytes()
    head = _git(root, "rev-parse", "HEAD")

    # plan: the matrix JSON a workflow feeds to strategy.matrix
    planned = cli("sweep", "plan", cwd=root)
    assert "\n" not in planned.stdout.strip()
    matrix = json.loads(planned.stdout)
    cells = matrix["include"]
    assert [c["id"] for c in cells] == [f"r{i:02d}" for i in range(1, 11)]
    assert cells[0]["set"] == "train.model.max_depth=3 train.model.n_estimators=20"
    assert cells[9]["set"] == "train.model.n_estimators=0"

    # run: one cell per job, handed over through the environment as the workflow does
    bundles = tmp_path / "bundles"
    for cell in cells:
        env = local_env(MLOPS_CI_SWEEP_SET=cell["set"], MLOPS_CI_SWEEP_ID=cell["id"])
        args = ["sweep", "run", "--quiet", "--output", str(bundles / f"sweep-{cell['id']}")]
        if cell["id"] == "r10":
            failed = cli(*args, "--strict", cwd=root, env=env, check=False)
            assert failed.returncode == 1, failed.stdout + failed.stderr
            assert "run r10 failed" in failed.stderr
        else:
            cli(*args, cwd=root, env=env)
        # The params file is put back after every cell.
        assert (root / "params.yaml").read_bytes() == params_before

    records = {
        c["id"]: json.loads((bundles / f"sweep-{c['id']}" / "record.json").read_text())
        for c in cells
    }
    own_metrics = {}
    for cell_id, record in records.items():
        if cell_id == "r10":
            assert record["status"] == "failed"
            assert "train" in record["error"]
            assert record["metrics"] == {}
            continue
        assert record["status"] == "ok", record["error"]
        assert record["code_sha"] == head
        assert record["environment"]["dvc"]
        assert record["environment"]["scikit-learn"]
        assert record["data"]["data/breast_cancer.csv"]
        assert set(record["stages"]) == {"prepare", "train", "evaluate"}
        assert record["run_seconds"] > 0
        model = record["params"]["params.yaml"]["train"]["model"]
        depth, trees = (int(w.split("=")[1]) for w in record_set_words(record))
        assert (model["max_depth"], model["n_estimators"]) == (depth, trees)
        assert model["min_samples_leaf"] == 4  # untouched keys keep their values
        own = json.loads((bundles / f"sweep-{cell_id}" / "files" / "metrics.json").read_text())
        assert record["metrics"]["metrics.json"] == own
        own_metrics[cell_id] = own
    # Different forests really ran: not every cell reports the same numbers.
    assert len({json.dumps(m, sort_keys=True) for m in own_metrics.values()}) > 1

    # merge: one leaderboard from all bundles
    merged = cli(
        "sweep", "merge", str(bundles), "--publish", "none", "--output", str(tmp_path / "lb"),
        "--json", cwd=root,
    )  # fmt: skip
    board = json.loads(merged.stdout)
    rows = {row["id"]: row for row in board["rows"]}
    assert set(rows) == set(records)
    best_value = max(m["accuracy"] for m in own_metrics.values())
    best_ids = sorted(i for i, m in own_metrics.items() if m["accuracy"] == best_value)
    assert sorted(r["id"] for r in board["rows"] if r["best"]) == best_ids
    assert board["rows"][0]["id"] == best_ids[0]
    values = [r["primary"] for r in board["rows"] if r["status"] == "ok"]
    assert values == sorted(values, reverse=True)
    for cell_id, metrics in own_metrics.items():
        assert rows[cell_id]["primary"] == metrics["accuracy"]
        base = json.loads(_git(root, "show", f"{sample_project.main_sha}:metrics.json"))
        assert rows[cell_id]["primary_base"] == base["accuracy"]
        assert {g["gate"] for g in rows[cell_id]["gates"]} == {"accuracy", "roc_auc", "log_loss"}
    assert rows["r10"]["status"] == "failed"
    assert board["rows"][-1]["id"] == "r10"

    markdown = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert markdown.startswith("<!-- mlops-ci:")
    assert f"**Best: {best_ids[0]}**" in markdown
    assert "❌ failed:" in markdown
    assert "10 runs, 1 failed" in markdown
    assert markdown.count("```mermaid") == 2  # accuracy by max_depth and by n_estimators
    assert "accuracy by max\\_depth" not in markdown.split("```mermaid")[1]  # labels unescaped
    best_row = next(line for line in markdown.splitlines() if line.startswith("| 🏆"))
    assert f"{best_value:.4g}" in best_row


def record_set_words(record: dict[str, object]) -> list[str]:
    values = record["set"]
    assert isinstance(values, dict)
    return [f"{key}={values[key]}" for key in ("train.model.max_depth", "train.model.n_estimators")]
