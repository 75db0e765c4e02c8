"""Event payloads a runner hands over (GITHUB_EVENT_NAME / GITHUB_EVENT_PATH) that the
command cannot use: unreadable or malformed JSON (files under cases/payloads/ and
generated ones), the wrong event for the command, and GitHub's real payloads with the
fields the command needs taken out."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .harness import run_case
from .repos import GOOD_METRICS, copy_repo, make_repo

CASES = Path(__file__).parent / "cases" / "payloads"
MALFORMED = sorted(CASES.iterdir())
REPOSITORY = "octo-org/octo-repo"
TOKEN = "ghs_badinputtoken0000000000000000000000"


@pytest.fixture(scope="session")
def event_repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository on `main` with a metrics file (a report has something to read)."""
    root = tmp_path_factory.mktemp("badinput-events") / "repo"
    return make_repo(root, {"metrics.json": GOOD_METRICS})


@pytest.fixture
def event_repo(event_repo_template: Path, tmp_path: Path) -> Path:
    return copy_repo(event_repo_template, tmp_path / "repo")


def runner_env(tmp_path: Path, event_name: str, event: Path | str) -> dict[str, str]:
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    (runner / "output").touch()
    (runner / "summary").touch()
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": "http://127.0.0.1:9",  # nothing listens: nothing may be called
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary"),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_WORKFLOW": "PR report",
    }


def _write_event(tmp_path: Path, payload: Any) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _report_args(repo: Path) -> list[str]:
    return ["report", "--root", str(repo), "--no-run", "--publish", "auto"]


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_payload_for_report(
    path: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_case(
        "event",
        f"report/{path.name}",
        _report_args(event_repo),
        env=runner_env(tmp_path, "pull_request", path),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1], message="event payload",
    )  # fmt: skip


GENERATED: dict[str, Callable[[Path], Path]] = {
    "missing_file": lambda d: d / "absent.json",
    "a_directory": lambda d: d,
    "deeply_nested": lambda d: _raw(d, b'{"a": ' * 100_000 + b"1" + b"}" * 100_000),
    "huge_integer": lambda d: _raw(d, b'{"number": ' + b"7" * 5000 + b"}"),
}


def _raw(directory: Path, data: bytes) -> Path:
    path = directory / "event.json"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_unreadable_payload_for_report(
    name: str,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = tmp_path / "events"
    events.mkdir()
    run_case(
        "event",
        f"report/{name}",
        _report_args(event_repo),
        env=runner_env(tmp_path, "pull_request", GENERATED[name](events)),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1], message="event payload",
    )  # fmt: skip


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    holder = changed
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return changed


def _replaced(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    holder = changed
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return changed


def _number_spoiled(payload: dict[str, Any]) -> dict[str, Any]:
    return _replaced(_replaced(payload, "seven", "number"), "seven", "pull_request", "number")


# (case, event name, how the real payload is spoiled, what the error names)
PR_CASES: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], str]] = [
    ("pull_request_without_head", "pull_request",
     lambda p: _without(p, "pull_request", "head"), "pull_request.head"),
    ("pull_request_without_base", "pull_request",
     lambda p: _without(p, "pull_request", "base"), "pull_request.base"),
    ("pull_request_head_without_sha", "pull_request",
     lambda p: _without(p, "pull_request", "head", "sha"), "pull_request.head"),
    ("pull_request_object_missing", "pull_request",
     lambda p: _without(p, "pull_request"), "pull_request object"),
    ("pull_request_is_a_string", "pull_request",
     lambda p: _replaced(p, "7", "pull_request"), "pull_request object"),
    ("pull_request_number_not_a_number", "pull_request", _number_spoiled, "pull request number"),
    ("pull_request_target_without_head", "pull_request_target",
     lambda p: _without(p, "pull_request", "head"), "pull_request.head"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "event", "spoil", "names"), PR_CASES, ids=[c[0] for c in PR_CASES]
)
def test_pull_request_payload_missing_fields(
    name: str,
    event: str,
    spoil: Callable[[dict[str, Any]], dict[str, Any]],
    names: str,
    payloads_dir: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = json.loads((payloads_dir / "pull_request.synchronize.json").read_text())
    run_case(
        "event",
        f"report/{name}",
        _report_args(event_repo),
        env=runner_env(tmp_path, event, _write_event(tmp_path, spoil(payload))),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1], message=f"payload has no {names}",
    )  # fmt: skip


@pytest.mark.parametrize(
    "payload_file", ["push.branch.json", "release.published.json", "workflow_dispatch.default.json"]
)
def test_report_fork_bundle_needs_a_pull_request(
    payload_file: str,
    payloads_dir: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fork bundle names its pull request; from an event without one, `report
    --publish artifact` is bad input, before anything is written."""
    event = payload_file.split(".", 1)[0]
    repo = event_repo
    run_case(
        "event",
        f"report/{event}",
        ["report", "--root", str(repo), "--no-run", "--publish", "artifact"],
        env=runner_env(tmp_path, event, payloads_dir / payload_file),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1], message="--publish artifact",
    )  # fmt: skip


@pytest.mark.parametrize(
    "payload_file", ["pull_request.opened.json", "push.branch.json", "issue_comment.created.json"]
)
def test_post_refuses_an_event_that_is_not_workflow_run(
    payload_file: str,
    payloads_dir: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "metadata.json").write_text(
        json.dumps(
            {"schema_version": 1, "repository": REPOSITORY, "pr_number": 2, "head_sha": "a" * 40}
        )
    )
    (bundle / "report.json").write_text("{}")
    event = payload_file.split(".", 1)[0]
    run_case(
        "event",
        f"post/{event}",
        ["post", "--bundle", str(bundle), "--root", str(event_repo), "--dry-run"],
        env=runner_env(tmp_path, event, payloads_dir / payload_file),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner", bundle], expect=[1],
    )  # fmt: skip


@pytest.mark.parametrize(
    "payload_file",
    ["push.branch.json", "pull_request.opened.json", "workflow_dispatch.default.json"],
)
def test_release_without_a_tag_event(
    payload_file: str,
    payloads_dir: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = payload_file.split(".", 1)[0]
    env = runner_env(tmp_path, event, payloads_dir / payload_file)
    env["GITHUB_REF"] = "refs/heads/main"
    run_case(
        "event",
        f"release/{event}",
        ["release", "--root", str(event_repo), "--dry-run"],
        env=env,
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1], message="--tag",
    )  # fmt: skip


@pytest.mark.parametrize("payload_file", ["push.branch.json", "pull_request.opened.json"])
def test_on_tag_without_a_tag_event(
    payload_file: str,
    payloads_dir: Path,
    event_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = payload_file.split(".", 1)[0]
    env = runner_env(tmp_path, event, payloads_dir / payload_file)
    env["GITHUB_REF"] = "refs/heads/main"
    run_case(
        "event",
        f"on-tag/{event}",
        ["on-tag", "--root", str(event_repo)],
        env=env,
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[event_repo, tmp_path / "runner"], expect=[1],
    )  # fmt: skip
