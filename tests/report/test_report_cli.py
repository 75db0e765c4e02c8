"""The `report`, `post` and `demo` commands as a person uses them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from report_helpers import local_env, run_cli

from mlops_ci.services.shared.sample_project import SampleProject


def test_every_option_has_help() -> None:
    from mlops_ci.commands.demo import demo
    from mlops_ci.commands.report import post, report

    for command in (report, post, demo):
        assert command.help
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{command.name} {param.opts} has no help text"


def test_local_report_prints_markdown_and_files(
    sample_project: SampleProject,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = sample_project.root
    subprocess.run(["git", "checkout", "-q", sample_project.pr_branch], cwd=root, check=True)
    args = ["report", "--root", str(root), "--no-run", "--output", "out"]
    assert run_cli(args, local_env(), monkeypatch) == 0
    out = capsys.readouterr().out
    assert "Metrics" in out
    assert "Verdict: pass" in out
    assert (root / "out" / "report.md").is_file()
    assert run_cli([*args, "--json"], local_env(), monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["schema_version"] == 1


def test_a_failed_gate_exits_2_in_ci_and_0_locally(
    sample_project: SampleProject,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = sample_project.root
    (root / "mlops-ci.yaml").write_text("metrics:\n  gates:\n    accuracy: {min: 0.999}\n")
    args = ["report", "--root", str(root), "--no-run", "--publish", "none"]
    assert run_cli(args, local_env(), monkeypatch) == 0
    assert run_cli(args, local_env(CI="true"), monkeypatch) == 2
    err = capsys.readouterr().err
    assert "refused: 1 quality gate(s) failed: accuracy: accuracy is 0.9" in err
    assert "below the minimum 0.999" in err
    assert run_cli([*args, "--no-fail-on-gate"], local_env(CI="true"), monkeypatch) == 0


def test_bad_input_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["report", "--root", str(tmp_path), "--no-run"], local_env(), monkeypatch) == 1
    assert "not a git repository" in capsys.readouterr().err


def test_broken_metrics_file_names_file_and_line(
    sample_project: SampleProject,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = sample_project.root
    (root / "metrics.json").write_text('{\n  "accuracy": ,\n}')
    args = ["report", "--root", str(root), "--no-run", "--publish", "none", "--json"]
    assert run_cli(args, local_env(), monkeypatch) == 0
    data = json.loads(capsys.readouterr().out)
    assert any("metrics.json:2: cannot parse JSON" in note for note in data["notes"])


def test_missing_user_template_is_an_error(
    sample_project: SampleProject,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = sample_project.root
    (root / "mlops-ci.yaml").write_text("report:\n  template: nope.md.j2\n")
    args = ["report", "--root", str(root), "--no-run", "--publish", "none"]
    assert run_cli(args, local_env(), monkeypatch) == 1
    assert "nope.md.j2: report template not found" in capsys.readouterr().err


def test_mermaid_charts_render_with_mermaid_cli(
    reported_sample: Any, render_mermaid: Callable[[str], list[Path]]
) -> None:
    """GitHub's renderer is Mermaid: the charts must parse (mermaid-cli; required under CI)."""
    assert render_mermaid(reported_sample.outcome.markdown)


def test_stale_lock_fails_the_report_and_outputs_are_pushed(sample_project: SampleProject) -> None:
    from report_helpers import run_report

    root = sample_project.root
    config = (root / "mlops-ci.yaml").read_text()
    (root / "mlops-ci.yaml").write_text(config + "pipeline:\n  push: always\n")
    # An uncommitted params change: the run rewrites dvc.lock, which no longer matches git.
    params = (root / "params.yaml").read_text().replace("max_depth: 3", "max_depth: 2")
    (root / "params.yaml").write_text(params)
    before = set((sample_project.remote / "files" / "md5").rglob("*"))
    outcome = run_report(root, run=True)
    assert outcome.document.verdict == "fail"
    lock_gate = next(g for g in outcome.document.gates if g.gate == "dvc.lock")
    assert lock_gate.verdict == "fail"
    assert "stage `train`" in lock_gate.reason
    assert "run `dvc repro` and commit `dvc.lock`, then `dvc push`" in lock_gate.reason
    assert "dvc.lock is out of date" in outcome.markdown
    after = set((sample_project.remote / "files" / "md5").rglob("*"))
    assert after > before, "the new model was pushed to the DVC remote"


def test_trend_on_main_section(sample_project: SampleProject) -> None:
    from report_helpers import run_report

    root = sample_project.root
    subprocess.run(["git", "checkout", "-q", sample_project.pr_branch], cwd=root, check=True)
    config = (
        (root / "mlops-ci.yaml")
        .read_text()
        .replace("metrics:\n", "report:\n  trend: true\nmetrics:\n", 1)
    )
    (root / "mlops-ci.yaml").write_text(config)
    outcome = run_report(root, base="main")
    trend = outcome.document.trend
    assert trend is not None
    assert trend["branch"] == "main"
    assert [c["sha"] for c in trend["commits"]] == [sample_project.main_sha]
    assert trend["commits"][0]["values"]["accuracy"] == pytest.approx(0.964789)
    assert "### Trend on main" in outcome.markdown
    stored = json.loads(outcome.report_json.read_text())
    assert stored["trend"]["commits"][0]["sha"] == sample_project.main_sha


def test_trend_of_a_missing_branch_is_a_note_not_a_crash(sample_project: SampleProject) -> None:
    from mlops_ci.config import load_config
    from mlops_ci.report.render import RenderOptions, ReportDocument, render_markdown
    from mlops_ci.services.shared.trend import collect_trend

    trend = collect_trend(sample_project.root, load_config(sample_project.root), "no-such-branch")
    assert trend["branch"] == "no-such-branch"
    assert "no-such-branch" in trend["error"]
    markdown = render_markdown(ReportDocument(trend=trend), RenderOptions(marker="<!-- m -->"))
    assert "### Trend on no-such-branch" in markdown
    assert "No trend:" in markdown
