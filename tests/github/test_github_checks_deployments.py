"""Check runs, commit statuses and deployments through the double."""

from __future__ import annotations

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo
from mlops_ci.errors import GitHubError

SHA = "c" * 40


def test_check_run_is_created_in_progress_then_completed(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    started = gh.start_check_run("mlops-ci / report", SHA, details_url="https://ci.example/1")
    assert started.status == "in_progress"
    assert started.conclusion is None

    done = gh.complete_check_run(
        started.id, "failure", title="2 gates failed", summary="| gate | ok |\n|---|---|\n"
    )

    run = github_double.state.check_runs[started.id]
    assert (run.status, run.conclusion, run.title) == ("completed", "failure", "2 gates failed")
    assert run.completed_at is not None
    assert run.summary is not None
    assert run.summary.startswith("| gate |")
    assert done.conclusion == "failure"


def test_check_run_output_is_cut_to_the_api_limit(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    started = gh.start_check_run("mlops-ci", SHA)
    long = "".join(f"line {i}: " + "x" * 90 + "\n" for i in range(1000))  # ~100k chars
    gh.complete_check_run(
        started.id,
        "success",
        title="ok",
        summary=long,
        text="```text\n" + long,
        full_report_url="https://ci.example/report",
    )
    run = github_double.state.check_runs[started.id]
    assert run.summary is not None
    assert run.text is not None
    assert len(run.summary) <= 65_535
    assert len(run.text) <= 65_535
    assert run.text.rstrip().endswith("(https://ci.example/report).")  # the note comes last
    assert "\n```\n" in run.text  # the open fence was closed before the note


def test_a_check_run_is_not_created_twice_after_an_uncertain_failure(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.fail("checks/create", "502", after_effect=True)
    with pytest.raises(GitHubError, match="not retried"):
        gh.start_check_run("mlops-ci", SHA)
    assert len(github_double.state.check_runs) == 1


def test_commit_status_description_is_cut_to_140_characters(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    gh.set_commit_status(
        SHA,
        "success",
        context="mlops-ci/gates",
        description="all gates passed: " + "accuracy ok, " * 20,
        target_url="https://ci.example/1",
    )
    (status,) = github_double.state.statuses
    assert status.description is not None
    assert len(status.description) == 140
    assert status.description.endswith("…")
    assert (status.context, status.state, status.target_url) == (
        "mlops-ci/gates",
        "success",
        "https://ci.example/1",
    )


def test_a_commit_status_is_retried_after_a_5xx(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.fail("repos/create-commit-status", "500")
    gh.set_commit_status(SHA, "pending", context="mlops-ci", description="running")
    assert [c.status for c in github_double.calls_of("repos/create-commit-status")] == [500, 201]


def test_deployment_lifecycle(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    assert gh.latest_deployment("staging") is None
    first = gh.create_deployment(
        "main", "staging", payload={"model": "iris", "version": "v1.0.0"}, description="iris"
    )
    gh.set_deployment_status(
        first.id,
        "success",
        environment_url="https://staging.example",
        log_url="https://ci.example/1",
        description="deployed",
    )
    second = gh.create_deployment("main", "staging", payload={"model": "iris", "version": "v1.1.0"})
    gh.set_deployment_status(second.id, "in_progress")

    latest = gh.latest_deployment("staging")
    assert latest is not None
    assert (latest.id, latest.state, latest.environment) == (second.id, "in_progress", "staging")

    gh.mark_deployment_inactive(first.id)
    assert github_double.latest_deployment_status(first.id).state == "inactive"  # type: ignore[union-attr]
    deployment = github_double.state.deployments[first.id]
    assert deployment.payload == {"model": "iris", "version": "v1.0.0"}
    assert deployment.auto_merge is False
    assert deployment.required_contexts == []
    status = github_double.deployment_statuses_of(first.id)[0]
    assert (status.environment_url, status.log_url) == (
        "https://staging.example",
        "https://ci.example/1",
    )


def test_a_deployment_created_behind_a_5xx_is_not_duplicated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.fail("repos/create-deployment", "503", after_effect=True)
    result = gh.create_deployment("main", "production", payload={"v": 1})
    assert len(github_double.state.deployments) == 1
    assert result.id in github_double.state.deployments


def test_a_deployment_that_failed_before_taking_effect_is_created_once(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.fail("repos/create-deployment", "drop")
    gh.create_deployment("main", "production", payload={"v": 1})
    assert len(github_double.state.deployments) == 1
    assert github_double.calls["repos/create-deployment"] == 2
