"""`mlops-ci on-tag` on the real sample project, with GitHub's real push, create and
release payloads, the real `gto` CLI, and the GitHub double."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ontag_helpers import GTO, MODEL, git, run_cli

VERSION_TAG = f"{MODEL}@v0.1.0"
ASSETS = {
    "model.pkl", "model-card.md", "metrics.json", "params.json", "lineage.json", "SHA256SUMS",
    "signature.json", "sample.json",
}  # fmt: skip

Fire = Callable[[str, str], None]


@pytest.mark.parametrize("event", ["push.tag", "release.published"])
def test_a_version_tag_is_released(
    project: Path,
    fire: Fire,
    on_github: Any,
    capsys: pytest.CaptureFixture[str],
    event: str,
) -> None:
    state = on_github.state
    if event == "release.published":
        # A person published the release by hand; on-tag completes it with the assets.
        state.add_release(VERSION_TAG, body="released by hand")
    fire(event, VERSION_TAG)
    result = run_cli(capsys, project, "on-tag", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["kind"] == "release"
    assert data["release"]["published"] is True
    releases = state.releases_for_tag(VERSION_TAG)
    assert len(releases) == 1
    assert not releases[0].draft
    assert {a.name for a in state.release_assets(releases[0])} == ASSETS
    assert state.deployments == {}
    assert state.issues == {}


def test_a_stage_tag_made_by_gto_is_deployed_and_the_notes_updated(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    state = on_github.state
    assert run_cli(capsys, project, "release", "--tag", VERSION_TAG).code == 0
    subprocess.run(
        [GTO, "assign", MODEL, "--version", "v0.1.0", "--stage", "staging"],
        cwd=project, check=True, capture_output=True,
    )  # fmt: skip
    tag = next(t for t in git(project, "tag", "--list").splitlines() if "#staging" in t)
    git(project, "push", "-q", "origin", f"refs/tags/{tag}")
    # What actions/checkout leaves behind: a lightweight copy of the triggering tag.
    commit = git(project, "rev-parse", f"{tag}^{{commit}}")
    git(project, "tag", "-d", tag)
    git(project, "tag", tag, commit)
    fire("create.tag", tag)

    result = run_cli(capsys, project, "on-tag", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["kind"] == "promotion"
    assert (data["version"], data["stage"]) == ("v0.1.0", "staging")
    assert git(project, "cat-file", "-t", tag) == "tag"  # the annotated tag is back
    [deployment] = state.deployments.values()
    assert deployment.environment == "staging"
    assert deployment.sha == commit
    assert deployment.payload["tag"] == tag
    assert deployment.payload["version_tag"] == VERSION_TAG
    assert on_github.latest_deployment_status(deployment.id).state == "success"
    assert "**Stages:** staging" in state.releases_for_tag(VERSION_TAG)[0].body
    assert state.issues == {}

    # Re-running the same event reuses the deployment.
    again = run_cli(capsys, project, "on-tag", "--json")
    assert again.code == 0, again.err
    assert again.json()["github"]["deployment"] == "reused"
    assert len(state.deployments) == 1

    # An unassign tag retires the deployment and the notes say so.
    subprocess.run(
        [GTO, "deprecate", MODEL, "v0.1.0", "staging"],
        cwd=project, check=True, capture_output=True,
    )  # fmt: skip
    unassign = next(t for t in git(project, "tag", "--list").splitlines() if "#staging!" in t)
    git(project, "push", "-q", "origin", f"refs/tags/{unassign}")
    fire("push.tag", unassign)
    retired = run_cli(capsys, project, "on-tag", "--json")
    assert retired.code == 0, retired.err
    assert retired.json()["kind"] == "retirement"
    assert on_github.latest_deployment_status(deployment.id).state == "inactive"
    assert "not yet promoted" in state.releases_for_tag(VERSION_TAG)[0].body


def _push_annotated(root: Path, tag: str) -> None:
    git(root, "tag", "-a", "-m", f"hand-made {tag}", tag, "HEAD")
    git(root, "push", "-q", "origin", f"refs/tags/{tag}")


def test_a_stage_tag_that_skips_a_stage_is_refused_with_one_issue(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    state = on_github.state
    bad = f"{MODEL}#production#1"
    _push_annotated(project, bad)
    fire("push.tag", bad)
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 2
    assert "promotion order is strict" in result.err
    assert "must be in stage 'staging' before 'production'" in result.err
    assert f"mlops-ci rollback {MODEL} --stage production" in result.err
    assert state.deployments == {}
    [issue] = state.issues.values()
    assert set(issue.labels) == {"mlops-ci", "registry"}
    assert f"`{bad}`" in issue.body
    assert "promotion order is strict" in issue.body
    assert f"mlops-ci rollback {MODEL} --stage production --push" in issue.body
    assert f"gto deprecate {MODEL} v0.1.0 production --push" in issue.body

    second = f"{MODEL}#production#2"
    _push_annotated(project, second)
    fire("push.tag", second)
    again = run_cli(capsys, project, "on-tag")
    assert again.code == 2
    assert "updated" in again.err
    [same] = state.issues.values()
    assert same.number == issue.number
    assert f"`{second}`" in same.body
    assert state.deployments == {}


def test_other_tags_and_lightweight_tags_are_ignored(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    state = on_github.state
    fire("push.tag", "simple-tag")  # the payload's own tag name: not a registry tag
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 0, result.err
    assert "not a registry tag" in result.out

    light = f"{MODEL}@v0.2.0"
    git(project, "tag", light, "HEAD")
    git(project, "push", "-q", "origin", f"refs/tags/{light}")
    fire("create.tag", light)
    ignored = run_cli(capsys, project, "on-tag", "--json")
    assert ignored.code == 0, ignored.err
    assert ignored.json()["kind"] == "ignored"
    assert "lightweight" in ignored.json()["reason"]
    assert state.releases == {}
    assert state.deployments == {}
    assert state.issues == {}


def test_without_an_event_or_tag_it_asks_for_one(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_REF", raising=False)
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 1
    assert "pass --tag" in result.err


def test_a_refusal_stays_a_refusal_when_the_issue_cannot_be_opened(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    on_github.fail("issues/create", "forbidden")  # a job without `issues: write`
    bad = f"{MODEL}#production#1"
    _push_annotated(project, bad)
    fire("push.tag", bad)
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 2
    assert "promotion order is strict" in result.err
    assert "the issue could not be opened" in result.err
    assert "issues: write" in result.err
    assert on_github.state.deployments == {}


def test_a_version_tag_whose_gates_fail_is_refused_with_the_way_to_withdraw_it(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "mlops-ci.yaml"
    config.write_text(config.read_text().replace("min: 0.85", "min: 0.99"))
    git(project, "commit", "-qam", "stricter gate")
    assert run_cli(capsys, project, "register", MODEL, "--version", "v0.2.0", "--push").code == 0
    fire("push.tag", f"{MODEL}@v0.2.0")
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 2
    assert "below the minimum 0.99" in result.err
    [issue] = on_github.state.issues.values()
    assert f"gto deprecate {MODEL} v0.2.0 --push" in issue.body
    assert on_github.state.releases_for_tag(f"{MODEL}@v0.2.0") == []


def test_a_deprecation_retires_the_model_s_deployments(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    state = on_github.state
    promoted = run_cli(capsys, project, "promote", MODEL, "--stage", "staging", "--push")
    assert promoted.code == 0, promoted.err
    [deployment] = state.deployments.values()
    assert run_cli(capsys, project, "deprecate", MODEL, "--push").code == 0
    fire("push.tag", f"{MODEL}@deprecated")
    result = run_cli(capsys, project, "on-tag", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["kind"] == "retirement"
    assert data["stages"] == ["staging"]
    assert on_github.latest_deployment_status(deployment.id).state == "inactive"


def test_a_stage_tag_whose_served_model_is_too_slow_is_refused_with_the_figures(
    project: Path, fire: Fire, on_github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    state = on_github.state
    config = project / "mlops-ci.yaml"
    config.write_text(config.read_text() + "\ndeploy:\n  proof_requests: 20\n  max_p95_ms: 0.001\n")
    tag = f"{MODEL}#staging#1"
    _push_annotated(project, tag)
    fire("push.tag", tag)
    result = run_cli(capsys, project, "on-tag")
    assert result.code == 2, result.err
    assert "p95 latency" in result.err
    assert "above deploy.max_p95_ms 0.001 ms" in result.err
    assert "20/20 answered" in result.err
    assert state.deployments == {}
    [issue] = state.issues.values()
    assert "p95 latency" in issue.body
    assert "20/20 answered" in issue.body
