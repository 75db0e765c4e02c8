"""Merging run bundles: ranking, gates, hostile text, bad bundles, publishing to GitHub."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from github_double import GitHubDouble

from mlops_ci.commands.sweep import set_merge_outputs
from mlops_ci.core.markers import comment_marker
from mlops_ci.errors import InputError
from mlops_ci.report.escape import ZWJ
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.sample_project import SampleProject
from mlops_ci.services.sweep import MergeRequest, RunRecord, merge_sweep, write_record

from .conftest import cli, local_env

TOKEN = "ghs_sweeptesttoken00000000000000000000001"


def _record(cell_id: str, depth: int, accuracy: float | None, **extra: Any) -> RunRecord:
    metrics = {}
    if accuracy is not None:
        metrics = {"metrics.json": {"accuracy": accuracy, "roc_auc": 0.97, "log_loss": 0.15}}
    return RunRecord(
        id=cell_id,
        status="ok" if accuracy is not None else "failed",
        error=None if accuracy is not None else "the pipeline failed",
        set={"train.model.max_depth": depth},
        metrics=metrics,
        code_sha="a" * 40,
        run_seconds=1.5,
        environment={"python": "3.11"},
        **extra,
    )


def _bundles(base: Path, *records: RunRecord) -> Path:
    for record in records:
        write_record(base / f"sweep-{record.id}", record)
    return base


def _merge(root: Path, dirs: list[Path], env: dict[str, str] | None = None, **kw: Any) -> Any:
    """What `mlops-ci sweep merge` does: merge, then the step outputs."""
    request = MergeRequest(root=root, dirs=dirs, output=root.parent / "out", **kw)
    job = Job.from_environ(env or local_env())
    outcome = merge_sweep(request, job)
    set_merge_outputs(job, outcome)
    return outcome


def test_runs_rank_by_the_first_gated_metric_and_diff_against_main(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    bundles = _bundles(
        tmp_path / "b",
        _record("r01", 3, 0.95),
        _record("r02", 5, 0.99),
        _record("r03", 8, None),
        _record("r04", 8, 0.80),  # fails the accuracy gate (min 0.85)
    )
    outcome = _merge(sample_project.root, [bundles], publish="none")
    board = outcome.board
    assert board.metric == "accuracy"
    assert board.direction == "higher"
    assert board.base.sha == sample_project.main_sha
    assert [r.id for r in board.rows] == ["r02", "r01", "r04", "r03"]
    assert [r.rank for r in board.rows] == [1, 2, 3, None]
    best = board.rows[0]
    assert best.best
    assert best.primary_base == pytest.approx(0.964789)
    assert best.primary_delta == pytest.approx(0.99 - 0.964789)
    assert board.rows[2].verdict == "fail"
    assert any("below the minimum" in g.reason for g in board.rows[2].gates)
    assert board.rows[3].status == "failed"
    md = outcome.markdown
    assert "**Best: r02**" in md
    assert "4 runs, 1 failed" in md
    assert "❌ failed: the pipeline failed" in md
    saved = json.loads(outcome.json_path.read_text())
    assert saved["rows"][0]["id"] == "r02"


def test_a_lower_is_better_metric_ranks_the_smallest_first(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    (sample_project.root / "mlops-ci.yaml").open("a").write(
        "experiments:\n  metric: log_loss\n  grid:\n    train.model.max_depth: [3, 5]\n"
    )
    a = _record("r01", 3, 0.9)
    b = _record("r02", 5, 0.9)
    a.metrics["metrics.json"]["log_loss"] = 0.30
    b.metrics["metrics.json"]["log_loss"] = 0.10
    outcome = _merge(sample_project.root, [_bundles(tmp_path / "b", a, b)], publish="none")
    assert outcome.board.direction == "lower"  # from the log_loss gate
    assert [r.id for r in outcome.board.rows] == ["r02", "r01"]
    assert outcome.board.keys == ["train.model.max_depth"]


def test_hostile_text_from_a_bundle_is_escaped(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    hostile = "<img src=x onerror=alert(1)> @mona | ```\nnew row"
    record = _record("r01", 3, 0.9)
    record.set["train.note"] = hostile
    failed = _record("r02", 5, None)
    failed.error = hostile
    outcome = _merge(
        sample_project.root, [_bundles(tmp_path / "b", record, failed)], publish="none"
    )
    md = outcome.markdown
    # Inside code spans text is shown literally; everywhere else it must be escaped.
    outside_code = re.sub(r"(`+).*?\1", "", md)
    assert "<img" not in outside_code
    assert "&lt;img" in outside_code
    assert "@mona" not in outside_code
    assert f"@{ZWJ}mona" in md
    # GitHub shows Markdown escapes inside <summary> as typed: none may be there.
    summaries = [line for line in md.splitlines() if "<summary>" in line]
    assert len(summaries) == 2
    assert not any("\\" in line or "&" in line for line in summaries)
    assert "\nnew row" not in md
    lines = md.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| # |"))
    table = []
    for line in lines[at:]:
        if not line.strip():
            break
        table.append(line)
    assert len(table) == 4  # header, rule, two runs: the hostile text made no new row

    def cells(line: str) -> int:
        return line.replace("\\|", "").count("|")

    assert {cells(line) for line in table} == {cells(table[0])}


def test_unreadable_bundles_show_as_failed_and_do_not_sink_the_others(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    bundles = _bundles(tmp_path / "b", _record("r01", 3, 0.9))
    (bundles / "sweep-r02").mkdir()
    (bundles / "sweep-r02" / "record.json").write_text("{not json")
    (bundles / "sweep-r03").mkdir()
    (bundles / "sweep-r03" / "record.json").write_text(
        json.dumps({"schema_version": 1, "id": "r03", "status": "ok", "surprise": 1})
    )
    outcome = _merge(sample_project.root, [bundles], publish="none")
    rows = {r.id: r for r in outcome.board.rows}
    assert rows["r01"].best
    assert rows["sweep-r02"].status == "failed"
    assert "not valid JSON" in (rows["sweep-r02"].error or "")
    assert "surprise" in (rows["sweep-r03"].error or "")


def test_two_bundles_with_one_id_and_missing_bundles_are_errors(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    write_record(tmp_path / "a" / "x", _record("r01", 3, 0.9))
    write_record(tmp_path / "a" / "y", _record("r01", 5, 0.8))
    with pytest.raises(InputError, match="two bundles have the run id 'r01'"):
        _merge(sample_project.root, [tmp_path / "a"], publish="none")
    (tmp_path / "empty").mkdir()
    failed = cli("sweep", "merge", str(tmp_path / "empty"), cwd=sample_project.root, check=False)
    assert failed.returncode == 1
    assert "no record.json" in failed.stderr
    assert "Traceback" not in failed.stderr


def _runner_env(
    double: GitHubDouble, tmp_path: Path, sample: SampleProject, number: int
) -> dict[str, str]:
    owner = double.repository.split("/")[0]
    event = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "base": {
                "ref": "main",
                "sha": sample.main_sha,
                "repo": {"full_name": double.repository},
            },
            "head": {
                "ref": "pr/x",
                "sha": sample.main_sha,
                "repo": {"full_name": double.repository},
            },
        },
        "repository": {"full_name": double.repository, "owner": {"login": owner}},
    }
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    (tmp_path / "output").write_text("")
    (tmp_path / "summary").write_text("")
    return local_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event_path),
        GITHUB_REPOSITORY=double.repository,
        GITHUB_API_URL=double.base_url,
        GITHUB_WORKFLOW="ml sweep",
        GITHUB_RUN_ID="42",
        GITHUB_SERVER_URL=double.origin,
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        GITHUB_TOKEN=TOKEN,
    )


def test_on_a_pull_request_the_leaderboard_is_one_sticky_comment_of_its_own_kind(
    github_double: GitHubDouble, sample_project: SampleProject, tmp_path: Path
) -> None:
    pull = github_double.state.add_pull()
    env = _runner_env(github_double, tmp_path, sample_project, pull.number)
    report_marker = comment_marker("ml sweep", "pr-report")
    github_double.state.add_comment(
        pull.number, f"{report_marker}\nthe PR report", "github-actions[bot]"
    )
    bundles = _bundles(tmp_path / "b", _record("r01", 3, 0.9), _record("r02", 5, 0.95))

    first = _merge(sample_project.root, [bundles], env=env)
    assert first.publish == "github"
    assert first.comment_url
    more = _bundles(bundles, _record("r03", 8, 0.97))
    second = _merge(sample_project.root, [more], env=env)

    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 2  # the PR report's and the sweep's
    sweep = [c for c in comments if c.body.startswith(comment_marker("ml sweep", "sweep"))]
    assert len(sweep) == 1
    assert "**Best: r03**" in sweep[0].body
    assert second.comment_url == first.comment_url
    assert github_double.calls["issues/create-comment"] == 1
    assert github_double.calls["issues/update-comment"] == 1
    summary = (tmp_path / "summary").read_text()
    assert "mlops-ci sweep leaderboard" in summary
    outputs = (tmp_path / "output").read_text()
    assert "best<<" in outputs
    assert TOKEN not in summary + outputs + sweep[0].body


def test_the_cli_merge_previews_with_dry_run_and_reads_the_group_config(
    github_double: GitHubDouble, sample_project: SampleProject, tmp_path: Path
) -> None:
    pull = github_double.state.add_pull()
    env = _runner_env(github_double, tmp_path, sample_project, pull.number)
    config = tmp_path / "other.yaml"
    config.write_text("experiments:\n  metric: roc_auc\n  grid:\n    a: [1, 2]\n")
    bundles = _bundles(tmp_path / "b", _record("r01", 3, 0.9))
    # The action puts --config right after the command name, before the subcommand.
    out = cli(
        "sweep", "--config", str(config), "merge", str(bundles), "--dry-run",
        "--output", str(tmp_path / "o"), cwd=sample_project.root, env=env,
    )  # fmt: skip
    assert "dry run: this comment would be posted" in out.stdout
    assert "Ranked by roc\\_auc" in out.stdout
    assert github_double.state.comments_on(pull.number) == []
    assert os.path.isfile(tmp_path / "o" / "leaderboard.md")


def test_leaderboard_from_plain_data_charts_every_swept_param_even_at_zero() -> None:
    from mlops_ci.config import parse_config
    from mlops_ci.report.leaderboard import render_leaderboard
    from mlops_ci.report.render import Revision
    from mlops_ci.services.sweep import build_leaderboard

    config = parse_config(
        "metrics:\n  files: [m.json]\n  gates:\n    loss: {direction: lower, max: 0.5}\n"
    )
    records = []
    for i, (depth, lr, loss) in enumerate([(3, 0.1, 0.0), (3, 0.2, 0.3), (5, 0.1, 0.6)]):
        records.append(
            (
                RunRecord(
                    id=f"r{i + 1:02d}",
                    status="ok",
                    set={"model.depth": depth, "optim.lr": lr},
                    metrics={"m.json": {"loss": loss}},
                ),
                f"b{i}",
            )
        )
    board = build_leaderboard(
        records,
        config=config,
        base_files={"m.json": {"loss": 0.4}},
        base_missing={},
        base=Revision(ref="main", sha="b" * 40),
    )
    assert board.metric == "loss"
    assert board.direction == "lower"
    assert [(r.id, r.rank, r.primary) for r in board.rows] == [
        ("r01", 1, 0.0),
        ("r02", 2, 0.3),
        ("r03", 3, 0.6),
    ]
    assert board.rows[0].primary_delta == pytest.approx(-0.4)
    assert [r.verdict for r in board.rows] == ["pass", "pass", "fail"]
    md = render_leaderboard(board, marker=comment_marker("wf", "sweep"))
    assert md.count("```mermaid") == 2
    assert 'x-axis ["3", "5"]' in md
    # The margin over the worst run (loss 0.6): the best per depth as bars (zero loss is
    # 0.6 better), the mean per depth as a line; the worst run is zero.
    assert 'title "loss over the worst run, by depth"' in md
    assert "worst run (loss 0.6, lower is better)" in md
    assert "bar [0.6, 0]" in md
    assert "line [0.45, 0]" in md


def test_leaderboard_charts_render_with_mermaid(render_mermaid: Any) -> None:
    from mlops_ci.config import parse_config
    from mlops_ci.report.leaderboard import render_leaderboard
    from mlops_ci.report.render import Revision
    from mlops_ci.services.sweep import build_leaderboard

    config = parse_config("metrics:\n  files: [m.json]\n")
    records = [
        (
            RunRecord(
                id=f"r{i}",
                status="ok",
                set={"a.depth": d, "b.n": n},
                metrics={"m.json": {"accuracy": 0.95 + d / 1000 + n / 10000}},
            ),
            "x",
        )
        for i, (d, n) in enumerate([(3, 20), (3, 40), (5, 20), (5, 40)])
    ]
    board = build_leaderboard(
        records,
        config=config.model_copy(
            update={"experiments": config.experiments.model_copy(update={"metric": "accuracy"})}
        ),
        base_files={},
        base_missing={},
        base=Revision(),
    )
    md = render_leaderboard(board, marker=comment_marker("wf", "sweep"))
    charts = [c.split("```", 1)[0] for c in md.split("```mermaid\n")[1:]]
    assert len(charts) == 2
    for png in render_mermaid(md, "leaderboard"):
        assert png.stat().st_size > 1000
