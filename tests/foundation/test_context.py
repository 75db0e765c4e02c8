"""RunContext read from real GitHub webhook payloads and runner variables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_ci.context import RunContext
from mlops_ci.errors import InputError
from mlops_ci.secrets import redact

SENTINEL = "ghs_SENTINELtoken0123456789abcdef"


def _env(payload: Path, event: str, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(payload),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_TOKEN": SENTINEL,
        **extra,
    }


def _event_name(path: Path) -> str:
    return path.name.split(".")[0]


def test_every_real_payload_reads(payloads_dir: Path) -> None:
    files = sorted(payloads_dir.glob("*.json")) + sorted((payloads_dir / "derived").glob("*.json"))
    files = [f for f in files if f.name != "MANIFEST.json"]
    assert len(files) >= 14
    for path in files:
        ctx = RunContext.from_environ(_env(path, _event_name(path)))
        assert ctx.on_runner
        assert ctx.event_name == _event_name(path)
        assert ctx.repository
        assert SENTINEL not in repr(ctx)
        assert ctx.token_value() == SENTINEL


def test_pull_request_fields(payloads_dir: Path) -> None:
    path = payloads_dir / "pull_request.synchronize.json"
    payload = json.loads(path.read_text())
    ctx = RunContext.from_environ(_env(path, "pull_request"))
    pr = payload["pull_request"]
    assert ctx.pr_number == pr["number"]
    assert ctx.base_sha == pr["base"]["sha"]
    assert ctx.head_sha == pr["head"]["sha"]
    assert ctx.base_ref == pr["base"]["ref"]
    assert ctx.head_ref == pr["head"]["ref"]
    assert not ctx.is_fork
    assert ctx.can_write
    assert ctx.run_url == "https://github.com/Codertocat/Hello-World/actions/runs/42"


def test_fork_pull_request_cannot_write(payloads_dir: Path) -> None:
    path = payloads_dir / "derived" / "pull_request.opened.fork.json"
    ctx = RunContext.from_environ(_env(path, "pull_request"))
    assert ctx.is_fork
    assert not ctx.can_write
    assert ctx.head_repository != ctx.repository


def test_tag_from_push_create_and_release(payloads_dir: Path) -> None:
    push = json.loads((payloads_dir / "push.tag.json").read_text())
    ctx = RunContext.from_environ(_env(payloads_dir / "push.tag.json", "push"))
    assert ctx.tag == push["ref"].removeprefix("refs/tags/")
    create = json.loads((payloads_dir / "create.tag.json").read_text())
    ctx = RunContext.from_environ(_env(payloads_dir / "create.tag.json", "create"))
    assert ctx.tag == create["ref"]
    release = json.loads((payloads_dir / "release.published.json").read_text())
    ctx = RunContext.from_environ(_env(payloads_dir / "release.published.json", "release"))
    assert ctx.tag == release["release"]["tag_name"]


def test_issue_comment_on_pr(payloads_dir: Path) -> None:
    path = payloads_dir / "derived" / "issue_comment.created.on-pr.json"
    payload = json.loads(path.read_text())
    ctx = RunContext.from_environ(_env(path, "issue_comment"))
    assert ctx.pr_number == payload["issue"]["number"]


def test_local_context_is_empty() -> None:
    ctx = RunContext.from_environ({})
    assert not ctx.on_runner
    assert ctx.token is None
    assert ctx.pr_number is None
    assert ctx.tag is None


def test_token_is_registered_for_redaction(payloads_dir: Path) -> None:
    RunContext.from_environ(_env(payloads_dir / "push.branch.json", "push"))
    assert redact(f"bad credentials {SENTINEL}") == "bad credentials ***"


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"{", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"\xff\xfe", "not valid JSON")],
)
def test_bad_payload_is_one_clear_error(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=why):
        RunContext.from_environ(_env(path, "push"))


def test_missing_payload_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the event payload"):
        RunContext.from_environ(_env(tmp_path / "nope.json", "push"))
