"""Each fault kind is survived where retrying is right and reported clearly where not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo, RetryPolicy
from mlops_ci.errors import GitHubError


def _pull(double: GitHubDouble) -> int:
    return double.state.add_pull().number


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
def test_transient_failures_of_a_read_are_retried(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float], kind: str
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/list-comments", kind, times=2)

    result = gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert result is not None
    assert result.action == "created"
    statuses = [c.status for c in github_double.calls_of("issues/list-comments")]
    assert statuses[:2] == ([0, 0] if kind == "drop" else [int(kind)] * 2)
    assert statuses[2] == 200
    assert waits == [0.5, 1.0]  # exponential backoff from the policy


def test_429_is_retried_after_the_servers_retry_after(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/create-comment", "429", retry_after=7)

    gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert waits == [7.0]
    assert [c.status for c in github_double.calls_of("issues/create-comment")] == [429, 201]
    assert len(github_double.state.comments_on(number)) == 1


def test_secondary_rate_limit_is_retried_after_retry_after(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/update-comment", "secondary_rate_limit", retry_after=3)
    gh.upsert_comment(number, "one", workflow="ci", kind="report")

    result = gh.upsert_comment(number, "two", workflow="ci", kind="report")

    assert result is not None
    assert result.action == "updated"
    assert waits == [3.0]
    assert [c.status for c in github_double.calls_of("issues/update-comment")] == [403, 200]


def test_primary_rate_limit_waits_until_the_reset(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/get", "rate_limit", retry_after=5)

    gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert len(waits) == 1
    assert 4.0 <= waits[0] <= 7.0  # until X-RateLimit-Reset, plus a second


def test_a_rate_limit_beyond_the_time_budget_is_reported(
    github_double: GitHubDouble, make_repo: Callable[..., GitHubRepo], waits: list[float]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/get", "secondary_rate_limit", retry_after=600)
    gh = make_repo(retry=RetryPolicy(total_seconds=60.0, sleep=waits.append))

    with pytest.raises(GitHubError, match="asked to wait 600s") as caught:
        gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert waits == []
    assert "re-run" in (caught.value.hint or "").lower()


def test_a_post_that_succeeded_behind_a_5xx_is_not_repeated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/create-comment", "502", after_effect=True)

    result = gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert result is not None
    assert len(github_double.state.comments_on(number)) == 1
    assert github_double.calls["issues/create-comment"] == 1
    assert result.id == github_double.state.comments_on(number)[0].id


def test_a_post_whose_connection_dropped_after_it_took_effect_is_not_repeated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/create-comment", "drop", after_effect=True)

    gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert len(github_double.state.comments_on(number)) == 1
    assert github_double.calls["issues/create-comment"] == 1


def test_a_post_that_failed_before_taking_effect_is_repeated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/create-comment", "503")

    gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert len(github_double.state.comments_on(number)) == 1
    assert [c.status for c in github_double.calls_of("issues/create-comment")] == [503, 201]


def test_persistent_5xx_gives_up_within_the_attempt_budget(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/get", "503", times=100)

    with pytest.raises(GitHubError, match=r"kept failing .* 4 attempts") as caught:
        gh.upsert_comment(number, "report", workflow="ci", kind="report")

    assert github_double.calls["issues/get"] == 4
    assert waits == [0.5, 1.0, 2.0]
    assert "503" in str(caught.value)


def test_the_total_time_budget_bounds_the_retries(
    github_double: GitHubDouble, make_repo: Callable[..., GitHubRepo]
) -> None:
    number = _pull(github_double)
    github_double.fail("issues/get", "500", times=100)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    gh = make_repo(
        retry=RetryPolicy(
            attempts=50,
            total_seconds=10.0,
            backoff_seconds=2.0,
            sleep=sleep,
            clock=lambda: now[0],
        )
    )
    with pytest.raises(GitHubError, match="kept failing"):
        gh.upsert_comment(number, "report", workflow="ci", kind="report")
    assert now[0] <= 10.0
    assert github_double.calls["issues/get"] == 3  # waits 2 + 4 = 6; another 8 would exceed 10


def test_a_422_is_reported_not_retried(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    number = _pull(github_double)
    github_double.fail("issues/create-comment", "422")

    with pytest.raises(GitHubError, match=r"rejected the request .* Validation Failed"):
        gh.upsert_comment(number, "report", workflow="ci", kind="report")
    assert github_double.calls["issues/create-comment"] == 1


def test_an_unknown_repository_is_a_clear_404(
    github_double: GitHubDouble, make_repo: Callable[..., GitHubRepo]
) -> None:
    gh = GitHubRepo(
        "ghs_x0000",
        "octo-org/no-such-repo",
        github_double.base_url,
        retry=RetryPolicy(sleep=lambda _: None),
        seconds_between_writes=None,
    )
    with pytest.raises(GitHubError) as caught:
        gh.upsert_comment(1, "report", workflow="ci", kind="report")
    message = str(caught.value)
    assert "octo-org/no-such-repo" in message
    assert "not found" in message
    assert github_double.calls["repos/get"] == 1


def test_a_malformed_repository_name_is_refused_before_any_call() -> None:
    with pytest.raises(GitHubError, match="owner/name"):
        GitHubRepo("ghs_x0000", "just-a-name", "http://127.0.0.1:9")


PERMISSION_CASES = [
    ("issues/create-comment", "pull-requests: write"),
    ("checks/create", "checks: write"),
    ("repos/create-commit-status", "statuses: write"),
    ("repos/create-release", "contents: write"),
    ("repos/create-deployment", "deployments: write"),
    ("issues/create", "issues: write"),
    ("actions/create-workflow-dispatch", "actions: write"),
    ("repos/create-dispatch-event", "contents: write"),
    ("pulls/create", "pull-requests: write"),
]


@pytest.mark.parametrize(("operation", "permission"), PERMISSION_CASES)
def test_a_permission_error_names_the_permission_the_workflow_needs(
    github_double: GitHubDouble, gh: GitHubRepo, operation: str, permission: str
) -> None:
    pull = github_double.state.add_pull(head="retrain")
    github_double.state.branches["update-model"] = "b" * 40
    github_double.fail(operation, "forbidden")
    calls: dict[str, Callable[[], object]] = {
        "issues/create-comment": lambda: gh.upsert_comment(
            pull.number, "r", workflow="ci", kind="report"
        ),
        "checks/create": lambda: gh.start_check_run("mlops-ci", "c" * 40),
        "repos/create-commit-status": lambda: gh.set_commit_status(
            "c" * 40, "success", context="mlops-ci", description="ok"
        ),
        "repos/create-release": lambda: gh.ensure_draft_release("m@v1.0.0", name="m", body="b"),
        "repos/create-deployment": lambda: gh.create_deployment("main", "staging"),
        "issues/create": lambda: gh.upsert_issue(marker="<!-- m -->", title="t", body="b"),
        "actions/create-workflow-dispatch": lambda: gh.dispatch_workflow("retrain.yml", "main"),
        "repos/create-dispatch-event": lambda: gh.repository_dispatch("retrain"),
        "pulls/create": lambda: gh.open_pull_request(
            head="update-model", base="main", title="t", body="b"
        ),
    }

    with pytest.raises(GitHubError) as caught:
        calls[operation]()

    assert f"permissions: {permission}" in (caught.value.hint or "")
    assert "lacks permission" in str(caught.value)
    assert github_double.calls[operation] == 1  # a 403 without Retry-After is not retried


def test_a_dispatch_is_not_repeated_after_an_uncertain_failure(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.fail("actions/create-workflow-dispatch", "502")

    with pytest.raises(GitHubError, match="not retried") as caught:
        gh.dispatch_workflow("retrain.yml", "main", {"reason": "drift"})

    assert github_double.calls["actions/create-workflow-dispatch"] == 1
    assert "duplicate" in str(caught.value)


def test_a_dispatch_is_repeated_after_a_rate_limit(
    github_double: GitHubDouble, gh: GitHubRepo, waits: list[float]
) -> None:
    github_double.fail("actions/create-workflow-dispatch", "429", retry_after=2)

    gh.dispatch_workflow("retrain.yml", "main", {"reason": "drift"})

    assert waits == [2.0]
    assert len(github_double.state.dispatches) == 1


def test_the_network_guard_refuses_other_hosts() -> None:
    import socket

    with socket.socket() as sock, pytest.raises(AssertionError, match="tried to reach"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed
