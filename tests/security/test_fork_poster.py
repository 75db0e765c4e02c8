"""The fork poster believes a bundle's head values only.

A fork's report bundle once carried its own statuses, base values, "no baseline" marks,
gates and verdict, and `mlops-ci post` rendered and published them: a bundle that marked
a gated metric `no_base` turned a regression into "no baseline, not checked" and the
poster's check run passed. Here a real bundle (made by `mlops-ci report` on a fork's
pull request of a tiny repository) is tampered with in every such way, posted through
the GitHub double, and the comment and the check run must still fail the gate, computed
against the base values read from the trusted checkout.

Also: `report --publish artifact` never writes a bundle that `post` refuses.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.errors import InputError
from mlops_ci.services.post import BundleMetadata, read_bundle
from mlops_ci.services.report import ReportRequest, generate_report
from mlops_ci.services.shared.bundle import bundle_texts, write_bundle
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.publish import CHECK_RUN_NAME, FORK_CHECK_RUN_NAME

FORK = "forker/octo-repo"
RUN_ID = "7171"
TOKEN = "ghs_forkpostertesttoken000000000000000001"
CONFIG = (
    "metrics:\n  files: [metrics.json]\n  gates:\n"
    "    accuracy: {direction: higher, max_drop: 0.02}\n"
    "models:\n  clf:\n    stages: [staging, production]\n"
)
BASE_ACCURACY = 0.91
RUNNER_PREFIXES = ("GITHUB_", "RUNNER_")


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2026-02-01T12:00:00+00:00"}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _commit(root: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def _clean_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in list(os.environ):
        if key.startswith(RUNNER_PREFIXES) or key == "CI":
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def fork(
    tmp_path: Path, payloads_dir: Path, github_double: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A fork PR whose accuracy fell 0.11 (the gate allows 0.02), reported as a bundle."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    main_sha = _commit(
        root, {"metrics.json": json.dumps({"accuracy": BASE_ACCURACY}), "mlops-ci.yaml": CONFIG},
        "main",
    )  # fmt: skip
    trusted = tmp_path / "trusted"  # the poster's checkout of the default branch
    _git(tmp_path, "clone", "-q", str(root), str(trusted))
    _git(root, "checkout", "-q", "-b", "tune")
    head_sha = _commit(root, {"metrics.json": json.dumps({"accuracy": 0.80})}, "worse")
    pull = github_double.state.add_pull(head="tune", base="main", head_sha=head_sha)
    github_double.state.branches["main"] = main_sha  # GitHub's base commit of the PR

    payload = json.loads((payloads_dir / "derived" / "pull_request.opened.fork.json").read_text())
    pr = payload["pull_request"]
    payload["number"] = pr["number"] = pull.number
    payload["repository"]["full_name"] = github_double.repository
    pr["base"]["repo"]["full_name"] = github_double.repository
    pr["head"]["repo"]["full_name"] = FORK
    pr["base"].update(ref="main", sha=main_sha)
    pr["head"].update(ref="tune", sha=head_sha)
    event = tmp_path / "pull_request.json"
    event.write_text(json.dumps(payload))
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": github_double.repository,
        "GITHUB_RUN_ID": RUN_ID,
    }
    _clean_env(monkeypatch, env)
    outcome = generate_report(
        ReportRequest(root=root, run=False, publish="auto", output=tmp_path / "out"),
        Job.from_environ({**env, "PATH": os.environ["PATH"], "HOME": os.environ["HOME"]}),
    )
    assert outcome.bundle_dir is not None
    assert outcome.document.verdict == "fail"  # the fork's own run saw the regression
    return {
        "bundle": outcome.bundle_dir,
        "trusted": trusted,
        "pull": pull,
        "main_sha": main_sha,
        "head_sha": head_sha,
        "payloads": payloads_dir,
    }


def _post(
    fork: dict[str, Any],
    github_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> tuple[int, str]:
    from mlops_ci.cli import main

    payload = json.loads((fork["payloads"] / "workflow_run.completed.json").read_text())
    payload["repository"]["full_name"] = github_double.repository
    payload["workflow_run"].update(
        id=int(RUN_ID), head_sha=fork["head_sha"], event="pull_request",
        name="mlops-ci PR report", pull_requests=[],  # as GitHub sends it for a fork
    )  # fmt: skip
    event = tmp_path / "workflow_run.json"
    event.write_text(json.dumps(payload))
    output = tmp_path / "github_output"
    output.write_text("")
    _clean_env(
        monkeypatch,
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": github_double.repository,
            "GITHUB_API_URL": github_double.base_url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
            "GITHUB_RUN_ID": "5151",
            "GITHUB_WORKFLOW": "mlops-ci PR report poster",
        },
    )
    args = ["post", "--bundle", str(fork["bundle"]), "--root", str(fork["trusted"])]
    try:
        main([*args, "--run-id", RUN_ID, *extra])
    except SystemExit as exc:
        return int(exc.code or 0), output.read_text()
    return 0, output.read_text()


def _gate(outputs: str) -> str:
    """The `gate` step output from a GITHUB_OUTPUT file (`name<<DELIMITER` blocks)."""
    match = re.search(r"^gate<<(\S+)\n(.*?)\n\1$", outputs, re.MULTILINE | re.DOTALL)
    assert match is not None, outputs
    return match.group(2)


def _rewrite(bundle: Path, change: Any) -> None:
    report = json.loads((bundle / "report.json").read_text())
    (bundle / "report.json").write_text(json.dumps(change(copy.deepcopy(report))))


def _accuracy(report: dict[str, Any]) -> dict[str, Any]:
    (row,) = [r for r in report["metrics"] if r["key"] == "accuracy"]
    return dict(row)


def _mark_no_base(report: dict[str, Any]) -> dict[str, Any]:
    _accuracy(report)  # there is one
    for row in report["metrics"]:
        row.update(status="no_base", base=None, delta=None, delta_pct=None)
    report["metrics_no_base"] = {"metrics.json": "not in git at the base"}
    return report


def _edit_base(report: dict[str, Any]) -> dict[str, Any]:
    for row in report["metrics"]:
        row.update(base=row["head"], status="unchanged", delta=0.0, delta_pct=0.0)
    report["base"] = {"ref": "main", "sha": "0" * 40}
    return report


def _forge_verdict(report: dict[str, Any]) -> dict[str, Any]:
    report["gates"] = [
        {"gate": "accuracy", "metric": "accuracy", "file": "metrics.json", "verdict": "pass",
         "reason": "forged: accuracy fine", "base": 0.8, "head": 0.8}
    ]  # fmt: skip
    report["verdict"] = "pass"
    return report


def _everything(report: dict[str, Any]) -> dict[str, Any]:
    report = _forge_verdict(_edit_base(_mark_no_base(report)))
    report["baseline"] = "none"
    report["metrics"].append(dict(report["metrics"][0], key="bonus", head=1.0, status="removed"))
    return report


TAMPERING = {
    "untouched": lambda report: report,
    "gated_metric_marked_no_base": _mark_no_base,
    "base_values_statuses_deltas_edited": _edit_base,
    "gates_and_verdict_forged": _forge_verdict,
    "all_of_it_and_baseline_none": _everything,
}


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_a_tampered_bundle_still_fails_the_gate(
    name: str,
    fork: dict[str, Any],
    github_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _rewrite(fork["bundle"], TAMPERING[name])
    code, outputs = _post(fork, github_double, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert code == 0, out  # --fail-on-gate is off: the check run carries the verdict
    assert "Verdict: fail" in out
    assert _gate(outputs) == "fail"
    (comment,) = github_double.state.comments_on(fork["pull"].number)
    assert "accuracy fell 0.11, allowed 0.02" in comment.body
    assert "forged" not in comment.body
    assert "0" * 12 not in comment.body  # the bundle's base commit is not shown
    assert fork["main_sha"][:7] in comment.body  # the trusted one is
    runs = list(github_double.state.check_runs.values())
    assert [(r.name, r.head_sha, r.conclusion) for r in runs] == [
        (FORK_CHECK_RUN_NAME, fork["head_sha"], "failure")
    ]
    assert FORK_CHECK_RUN_NAME != CHECK_RUN_NAME


def test_fail_on_gate_exits_2_on_a_bundle_marked_no_base(
    fork: dict[str, Any], github_double: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rewrite(fork["bundle"], _mark_no_base)
    code, _ = _post(fork, github_double, tmp_path, monkeypatch, "--fail-on-gate", "--dry-run")
    assert code == 2
    assert github_double.state.check_runs == {}  # a dry run publishes nothing


def test_a_head_within_the_allowance_passes(
    fork: dict[str, Any], github_double: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same gate passes a head that fell less than allowed."""

    def better(report: dict[str, Any]) -> dict[str, Any]:
        for row in report["metrics"]:
            row.update(head=0.905, status="unchanged", base=None)
        return report

    _rewrite(fork["bundle"], better)
    code, outputs = _post(fork, github_double, tmp_path, monkeypatch)
    assert code == 0
    assert _gate(outputs) == "pass"
    (run,) = github_double.state.check_runs.values()
    assert (run.name, run.conclusion) == (FORK_CHECK_RUN_NAME, "success")


def test_base_commit_missing_from_the_checkout_is_said_not_taken_from_the_bundle(
    fork: dict[str, Any],
    github_double: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub names a base commit this checkout lacks: no base values, and the report says
    so; the gate's own rule for a missing base applies (max_drop is not checked)."""
    github_double.state.branches["main"] = "e" * 40
    _rewrite(fork["bundle"], _edit_base)
    code, outputs = _post(fork, github_double, tmp_path, monkeypatch)
    assert code == 0
    (comment,) = github_double.state.comments_on(fork["pull"].number)
    assert "No base values" in comment.body
    assert "is not in the trusted checkout" in comment.body
    assert "no baseline, regression not checked" in comment.body
    assert _gate(outputs) == "pass"  # skipped, as for any report without a baseline


# --- one bundle schema for report and post ------------------------------------------------


def test_the_bundle_report_writes_is_the_bundle_post_reads(fork: dict[str, Any]) -> None:
    metadata, document = read_bundle(fork["bundle"])
    assert metadata == BundleMetadata(
        repository=metadata.repository, pr_number=fork["pull"].number,
        head_sha=fork["head_sha"], run_id=RUN_ID,
    )  # fmt: skip
    assert document.head.sha == fork["head_sha"]


class _Ctx:
    def __init__(self, **fields: Any) -> None:
        self.repository = "octo-org/octo-repo"
        self.pr_number: Any = 3
        self.head_sha = "a" * 40
        self.run_id = "42"
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"run_id": ""}, "run_id"),
        ({"run_id": "abc"}, "run_id"),
        ({"pr_number": None}, "pr_number"),
        ({"pr_number": True}, "pr_number"),
        ({"repository": ""}, "repository"),
        ({"head_sha": "HEAD"}, "head_sha"),
    ],
)
def test_report_refuses_to_write_a_bundle_post_would_refuse(
    fields: dict[str, Any], named: str, tmp_path: Path
) -> None:
    from mlops_ci.report.render import ReportDocument

    with pytest.raises(InputError, match=named) as info:
        write_bundle(tmp_path, ReportDocument(), _Ctx(**fields))  # type: ignore[arg-type]
    assert "mlops-ci post` would refuse it" in info.value.message
    assert not (tmp_path / "bundle").exists()


def test_what_report_writes_post_reads_back(tmp_path: Path) -> None:
    from mlops_ci.report.render import MetricRow, ReportDocument

    document = ReportDocument(
        metrics=[MetricRow(file="m.json", key="acc", head=float("nan"), status="no_base")]
    )
    for run_id in ("1", "4242", "99999999999"):
        bundle = write_bundle(tmp_path / run_id, document, _Ctx(run_id=run_id))  # type: ignore[arg-type]
        metadata, back = read_bundle(bundle)
        assert metadata.run_id == run_id
        assert back.metrics[0].key == "acc"
        texts = bundle_texts(document, _Ctx(run_id=run_id))  # type: ignore[arg-type]
        assert (bundle / "metadata.json").read_bytes() == texts["metadata.json"]


def test_report_without_a_run_id_fails_with_one_line(
    tmp_path: Path,
    payloads_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--publish artifact` outside a runner (no GITHUB_RUN_ID) once wrote `run_id: null`,
    which post then refused: the fork's PR silently got no comment. Now report says so."""
    from mlops_ci.cli import main

    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    sha = _commit(root, {"metrics.json": '{"accuracy": 0.9}', "mlops-ci.yaml": CONFIG}, "m")
    payload = json.loads((payloads_dir / "derived" / "pull_request.opened.fork.json").read_text())
    payload["pull_request"]["head"].update(sha=sha, ref="main")
    payload["pull_request"]["base"].update(sha=sha, ref="main")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    _clean_env(monkeypatch, {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
                             "GITHUB_REPOSITORY": payload["repository"]["full_name"]})  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(["report", "--root", str(root), "--no-run", "--publish", "artifact"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert info.value.code == 1
    assert len(err) == 1, err
    assert "run_id" in err[0]
    assert "would refuse" in err[0]
    assert not (root / ".mlops-ci" / "bundle").exists()
