"""Metrics and params files that cannot be read are a note, never silent removals.

Real git repositories in tmp_path, reported in-process with `--no-run`: a file that is
there but unreadable at the head (a syntax error, a `!!python/object` tag, an alias
bomb, a list where a mapping belongs, a symlink out of the repository) gets no rows,
a note naming it and why, and a gate on one of its metrics fails when `required`
and is skipped otherwise, saying why. At the base, it means "no baseline".
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from report_helpers import local_env

from mlops_ci.services.report import ReportOutcome, ReportRequest, generate_report
from mlops_ci.services.shared.job import Job, SinkProgress

GOOD = '{"accuracy": 0.91, "loss": 0.2}\n'
PARAMS = "lr: 0.1\nepochs: 3\n"


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def _repo(tmp_path: Path, *, required: bool = True, base: str = GOOD) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    gate = f"accuracy: {{direction: higher, min: 0.5, required: {str(required).lower()}}}"
    (root / "mlops-ci.yaml").write_text(
        "metrics:\n  files: [metrics.json]\n  gates:\n    " + gate + "\n"
        "params:\n  files: [params.yaml]\n"
    )
    (root / "metrics.json").write_text(base)
    (root / "params.yaml").write_text(PARAMS)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _change(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "head")


def _report(root: Path) -> ReportOutcome:
    job = Job.from_environ(local_env(), progress=SinkProgress(sink=lambda _line: None))
    request = ReportRequest(root=root, run=False, publish="local", base="HEAD~1")
    return generate_report(request, job)


def _alias_bomb() -> str:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\nlr: 0.2\n"


UNREADABLE_METRICS = {
    "syntax error": ('{"accuracy": ,}', "metrics.json:1: cannot parse JSON"),
    "a list": ('[{"accuracy": 0.9}]', "expected a mapping of names to values"),
    "a number": ("0.9", "got a single value"),
    "duplicate keys": ('{"accuracy": 0.9, "accuracy": 0.1}', "duplicate key 'accuracy'"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE_METRICS))
def test_unreadable_head_metrics_are_a_note_not_removals(tmp_path: Path, case: str) -> None:
    content, why = UNREADABLE_METRICS[case]
    root = _repo(tmp_path)
    _change(root, {"metrics.json": content})
    outcome = _report(root)
    document = outcome.document
    assert [row for row in document.metrics if row.file == "metrics.json"] == []
    assert not any(row.status == "removed" for row in document.metrics)
    notes = [n for n in document.notes if n.startswith("Unreadable at the head")]
    assert len(notes) == 1, document.notes
    assert why in notes[0]
    assert "Unreadable at the head" in outcome.markdown
    assert "*removed*" not in outcome.markdown
    (gate,) = document.gates
    assert gate.verdict == "fail"
    assert "metrics.json could not be read at the head" in gate.reason


def test_a_gate_on_an_unreadable_file_is_skipped_when_not_required(tmp_path: Path) -> None:
    root = _repo(tmp_path, required=False)
    _change(root, {"metrics.json": "{"})
    (gate,) = _report(root).document.gates
    assert gate.verdict == "skip"
    assert gate.reason == (
        "accuracy is unknown: metrics.json could not be read at the head (not required)"
    )


def test_a_python_tag_is_refused_and_never_constructed(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    marker = tmp_path / "constructed"
    tag = f"!!python/object/apply:os.system ['touch {marker}']"
    _change(root, {"params.yaml": f"lr: {tag}\n"})
    outcome = _report(root)
    assert not marker.exists()
    assert any(
        "params.yaml:1: cannot parse YAML: the tag tag:yaml.org,2002:python/object/apply:os.system"
        " is not plain YAML" in note
        for note in outcome.document.notes
    ), outcome.document.notes
    assert not any(row.status == "removed" for row in outcome.document.params)


def test_an_alias_bomb_in_params_is_refused_with_one_note(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _change(root, {"params.yaml": _alias_bomb()})
    outcome = _report(root)
    assert outcome.document.params == []
    assert any(
        "params.yaml: more than 1,000,000 values (YAML aliases that expand?)" in note
        for note in outcome.document.notes
    )


def test_unreadable_at_the_base_means_no_baseline(tmp_path: Path) -> None:
    root = _repo(tmp_path, base="{broken")
    _change(root, {"metrics.json": GOOD})
    outcome = _report(root)
    rows = {row.key: row for row in outcome.document.metrics}
    assert rows["accuracy"].status == "no_base"
    why = outcome.document.metrics_no_base["metrics.json"]
    assert why.startswith("unreadable at the base: metrics.json:1: cannot parse JSON")
    assert "unreadable at the base" in outcome.markdown
    (gate,) = outcome.document.gates
    assert gate.verdict == "pass"


def test_a_committed_symlink_out_of_the_repository_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside.json"
    secret.write_text('{"accuracy": 0.99, "token": "s3cr3t-outside"}\n')
    root = _repo(tmp_path)
    (root / "metrics.json").unlink()
    (root / "metrics.json").symlink_to(secret)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "a symlink")
    outcome = _report(root)
    assert "s3cr3t-outside" not in outcome.markdown
    assert "s3cr3t-outside" not in outcome.report_json.read_text()
    assert any("metrics.json: outside the repository" in note for note in outcome.document.notes), (
        outcome.document.notes
    )
    (gate,) = outcome.document.gates
    assert gate.verdict == "fail"


def test_a_symlink_inside_the_repository_is_read(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "real.json").write_text('{"accuracy": 0.95, "loss": 0.2}\n')
    (root / "metrics.json").unlink()
    (root / "metrics.json").symlink_to("real.json")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "a symlink inside")
    rows = {row.key: row for row in _report(root).document.metrics}
    assert rows["accuracy"].head == 0.95


def test_a_lone_surrogate_in_a_key_is_escaped_not_a_crash(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _change(root, {"metrics.json": '{"\\ud800x": 1, "accuracy": 0.9, "loss": 0.2}'})
    outcome = _report(root)
    keys = [row.key for row in outcome.document.metrics]
    assert "\\ud800x" in keys
    outcome.report_md.read_text(encoding="utf-8")  # written as UTF-8
