"""`metrics history`: values over a branch from git in bulk, checked against DVC."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from mlops_ci.core.metric_history import history_json
from mlops_ci.core.metrics import flatten
from mlops_ci.report.history import render_history_markdown
from mlops_ci.services.shared import metric_history as history_service
from mlops_ci.services.shared.metric_history import metric_history, read_blobs

from .conftest import cli, local_env


def _metrics(i: int) -> str:
    return json.dumps(
        {
            "accuracy": round(0.80 + i * 0.005, 6),
            "loss": round(1.0 / (i + 1), 6),
            "per_class": {"a": {"recall": round(0.5 + i / 100, 4)}},
            "epochs": i,
            "note": f"run {i}",
            "curve": [1, 2, 3],  # lists are not metrics, for DVC nor for us
        }
    )


@pytest.fixture
def dvc_history(git_repo: Any) -> Any:
    """~20 commits on main: metrics change, some commits leave them alone, one deletes
    them, and a merged side branch (whose own commits are not on main's first parents)."""
    root = git_repo.root
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True, env=local_env()
    )
    git_repo.commit("dvc init", {"dvc.yaml": "metrics:\n  - metrics.json\n"})
    for i in range(1, 15):
        files = {"metrics.json": _metrics(i)}
        if i % 5 == 0:
            files = {f"notes/{i}.txt": "no metric change\n"}
        git_repo.commit(f"step {i}: <b>@team</b> | tuned", files)
    git_repo.git("rm", "-q", "metrics.json")
    git_repo.commit("drop the metrics")
    git_repo.commit("bring them back", {"metrics.json": _metrics(20)})
    git_repo.git("checkout", "-q", "-b", "side")
    git_repo.commit("side 1", {"metrics.json": _metrics(30)})
    git_repo.commit("side 2", {"metrics.json": _metrics(31)})
    git_repo.git("checkout", "-q", "main")
    git_repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    git_repo.commit("after merge", {"metrics.json": _metrics(40)})
    return git_repo


def test_history_matches_dvc_metrics_show_all_commits(dvc_history: Any) -> None:
    root = dvc_history.root
    history = metric_history(root, "main", None, 100, files=["metrics.json"])
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "metrics", "show", "--all-commits", "--json"],
        cwd=root, capture_output=True, text=True, check=True, env=local_env(),
    )  # fmt: skip
    oracle = json.loads(proc.stdout)
    first_parent = dvc_history.git("rev-list", "--first-parent", "main").split()
    assert [c.sha for c in history.commits] == list(reversed(first_parent))
    assert len(history.commits) == 19
    compared = 0
    for commit in history.commits:
        entry = oracle[commit.sha].get("data", {}).get("metrics.json", {})
        expected = flatten(entry.get("data", {})) if "data" in entry else {}
        assert commit.values == expected, commit.subject
        compared += bool(expected)
    assert compared >= 14
    assert "curve" not in history.metrics
    assert history.metrics[:3] == ["accuracy", "loss", "per_class.a.recall"]
    dropped = next(c for c in history.commits if c.subject == "drop the metrics")
    assert dropped.values == {}
    side = dvc_history.git("rev-parse", "side")
    assert side not in {c.sha for c in history.commits}


def test_history_reads_git_in_two_processes_whatever_the_commit_count(
    dvc_history: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_ci.adapters import process

    calls: list[list[str]] = []
    real = process.run_child

    def counting(argv: Any, **kw: Any) -> Any:
        # Every child process goes through this one runner.
        if isinstance(argv, list) and argv[:1] == ["git"]:
            calls.append(argv)
        return real(argv, **kw)

    monkeypatch.setattr(process, "run_child", counting)
    metric_history(dvc_history.root, "main", ["accuracy"], 5, files=["metrics.json"])
    few = list(calls)
    calls.clear()
    metric_history(dvc_history.root, "main", ["accuracy"], 100, files=["metrics.json"])
    assert len(calls) == len(few)
    assert sum(1 for c in calls if c[1] == "log") == 1
    assert sum(1 for c in calls if c[1] == "cat-file") == 1
    assert len(calls) <= 5


def test_selection_last_n_and_missing_files(dvc_history: Any) -> None:
    root = dvc_history.root
    history = metric_history(
        root, "main", ["accuracy", "metrics.json:loss", "nope"], 3,
        files=["metrics.json", "eval/other.json"],
    )  # fmt: skip
    assert len(history.commits) == 3
    assert history.metrics == ["metrics.json:accuracy", "metrics.json:loss"]
    assert history.commits[-1].values == {
        "metrics.json:accuracy": 1.0,
        "metrics.json:loss": round(1 / 41, 6),
    }
    assert "nope" in history.missing
    assert "eval/other.json" in history.missing
    series = history.series("metrics.json:accuracy")
    assert [v for _, v in series] == [0.9, 0.955, 1.0]


def test_a_project_in_a_subdirectory_reads_its_own_paths(git_repo: Any) -> None:
    for i in range(3):
        git_repo.commit(f"c{i}", {"ml/metrics.json": json.dumps({"acc": i}), "metrics.json": "{}"})
    history = metric_history(git_repo.root / "ml", "main", None, 10, files=["metrics.json"])
    assert [c.values for c in history.commits] == [{"acc": 0}, {"acc": 1}, {"acc": 2}]


def test_read_blobs_handles_missing_and_trees(git_repo: Any) -> None:
    git_repo.commit("one", {"a.txt": "hello", "dir/b.txt": "x"})
    blobs = read_blobs(git_repo.root, ["HEAD:a.txt", "HEAD:dir", "HEAD:nope", "HEAD:a.txt"])
    assert blobs[0] is not None
    assert blobs[0][1] == b"hello"
    assert blobs[1] is None
    assert blobs[2] is None
    assert blobs[3] == blobs[0]


def test_markdown_has_a_chart_and_escapes_commit_subjects(dvc_history: Any) -> None:
    history = metric_history(
        dvc_history.root, "main", ["accuracy", "loss"], 100, files=["metrics.json"]
    )
    md = render_history_markdown(history, directions={"accuracy": "higher"})
    assert md.startswith("### Trend on main")
    assert md.count("```mermaid") == 2
    assert "accuracy over the last" in md
    assert "<b>" not in md
    assert "&lt;b&gt;" in md
    assert "@team" not in md
    assert "&#124; tuned" in md


def test_cli_json_table_and_unknown_branch(dvc_history: Any) -> None:
    root = dvc_history.root
    out = cli("metrics", "history", "--json", "-m", "accuracy", "-n", "4", cwd=root)
    data = json.loads(out.stdout)
    assert data["branch"] == "main"
    assert data["metrics"] == ["accuracy"]
    assert len(data["commits"]) == 4
    assert data == json.loads(
        json.dumps(history_json(metric_history(root, "main", ["accuracy"], 4)))
    )
    table = cli("metrics", "history", "-m", "accuracy", "-m", "loss", cwd=root)
    assert "accuracy" in table.stdout
    assert "▲" in table.stdout
    missing = cli("metrics", "history", "--branch", "no-such", cwd=root, check=False)
    assert missing.returncode == 1
    assert "branch 'no-such' not found" in missing.stderr


def test_registry_history_keeps_its_name() -> None:
    from mlops_ci.cli import COMMANDS

    assert COMMANDS["history"] == "mlops_ci.commands.registry:history"
    assert COMMANDS["metrics"] == "mlops_ci.commands.metrics:metrics"
    assert history_service.DEFAULT_LAST == 30


def test_trend_section_follows_the_gated_metrics_and_never_raises(dvc_history: Any) -> None:
    from mlops_ci.config import parse_config
    from mlops_ci.services.shared.metric_history import trend_markdown

    config = parse_config(
        "metrics:\n  files: [metrics.json]\n  gates:\n    loss: {direction: lower}\n"
    )
    section = trend_markdown(dvc_history.root, config, "main", last=10)
    assert section.startswith("### Trend on main")
    assert section.count("```mermaid") == 1
    assert "loss over the last 9 commits, lower is better" in section  # one commit lacks it
    assert "accuracy" not in section
    missing = trend_markdown(dvc_history.root, config, "gone", last=10)
    assert missing == "### Trend on gone\n\nNo trend: branch 'gone' not found\n"


def test_history_chart_renders_with_mermaid(dvc_history: Any, render_mermaid: Any) -> None:
    history = metric_history(dvc_history.root, "main", ["accuracy"], 100, files=["metrics.json"])
    assert render_mermaid(render_history_markdown(history))


def test_history_survives_json_as_report_data(dvc_history: Any) -> None:
    from mlops_ci.core.metric_history import history_from_json
    from mlops_ci.errors import InputError

    history = metric_history(dvc_history.root, "main", None, 100, files=["metrics.json"])
    history.commits[-1].values["accuracy"] = float("nan")
    data = json.loads(json.dumps(history_json(history)))
    back = history_from_json(data)
    assert render_history_markdown(back) == render_history_markdown(history)
    assert [c.sha for c in back.commits] == [c.sha for c in history.commits]
    with pytest.raises(InputError, match="unexpected shape"):
        history_from_json({"branch": "main", "commits": [{"sha": 1}]})
