"""Issues found by label and marker, dispatches, and pull requests through the double."""

from __future__ import annotations

from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo

MARKER = "<!-- mlops-ci:monitor:drift -->"


def test_issue_is_created_then_updated_then_reopened(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    created = gh.upsert_issue(
        marker=MARKER, title="Drift in iris", body="psi 0.3", labels=["drift", "mlops-ci"]
    )
    assert created.action == "created"
    issue = github_double.state.issues[created.number]
    assert issue.labels == ["drift", "mlops-ci"]
    assert issue.body is not None
    assert issue.body.startswith(MARKER)

    updated = gh.upsert_issue(
        marker=MARKER, title="Drift in iris", body="psi 0.4", labels=["drift", "mlops-ci"]
    )
    assert (updated.number, updated.action) == (created.number, "updated")

    closed = gh.close_issue(created.number, "Drift resolved by retraining.")
    assert closed.action == "closed"
    assert gh.close_issue(created.number, "Drift resolved by retraining.").action == "unchanged"
    comments = github_double.state.comments_on(created.number)
    assert [c.body for c in comments] == ["Drift resolved by retraining."]
    assert github_double.state.issues[created.number].state == "closed"

    reopened = gh.upsert_issue(
        marker=MARKER, title="Drift in iris", body="psi 0.5", labels=["drift", "mlops-ci"]
    )
    assert (reopened.number, reopened.action) == (created.number, "reopened")
    assert github_double.state.issues[created.number].state == "open"
    assert github_double.calls["issues/create"] == 1


def test_issue_is_found_among_many_by_label_then_marker(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    for i in range(130):
        github_double.state.add_issue(title=f"drift {i}", body=f"other {i}", labels=["drift"])
    target = github_double.state.add_issue(
        title="Drift in iris", body=f"{MARKER}\nold", labels=["drift"], state="closed"
    )
    for i in range(20):
        github_double.state.add_issue(title=f"later {i}", body="x", labels=["drift"])
    github_double.state.add_issue(title="unlabelled", body=f"{MARKER}\nnot ours: no label")
    github_double.state.add_pull()  # pull requests are listed as issues too

    result = gh.upsert_issue(marker=MARKER, title="Drift in iris", body="new", labels=["drift"])

    assert (result.number, result.action) == (target.number, "reopened")
    pages = github_double.calls_of("issues/list-for-repo")
    assert len(pages) == 2
    assert all("labels" not in c.path for c in pages)  # the path; labels go in the query


def test_a_closing_comment_is_not_posted_twice_after_a_dropped_connection(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    issue = github_double.state.add_issue(title="t", body=MARKER, labels=["drift"])
    github_double.fail("issues/create-comment", "drop", after_effect=True)
    gh.close_issue(issue.number, "Closing: resolved.")
    assert [c.body for c in github_double.state.comments_on(issue.number)] == ["Closing: resolved."]
    assert github_double.state.issues[issue.number].state == "closed"
    assert github_double.state.issues[issue.number].state_reason == "completed"


def test_workflow_and_repository_dispatch(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    gh.dispatch_workflow("retrain.yml", "main", {"reason": "drift", "model": "iris"})
    gh.repository_dispatch("mlops-retrain", {"model": "iris"})
    workflow, repository = github_double.state.dispatches
    assert (workflow.kind, workflow.workflow_id, workflow.ref) == (
        "workflow",
        "retrain.yml",
        "main",
    )
    assert workflow.inputs == {"reason": "drift", "model": "iris"}
    assert (repository.kind, repository.event_type) == ("repository", "mlops-retrain")
    assert repository.client_payload == {"model": "iris"}


def test_a_pull_request_is_opened_once_for_a_pushed_branch(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.state.branches["mlops-ci/retrain-iris"] = "d" * 40
    first = gh.open_pull_request(
        head="mlops-ci/retrain-iris", base="main", title="Retrain iris", body="drift"
    )
    second = gh.open_pull_request(
        head="mlops-ci/retrain-iris", base="main", title="Retrain iris", body="drift"
    )
    assert first.created
    assert not second.created
    assert first.number == second.number
    assert len(github_double.state.pulls()) == 1
    assert github_double.state.issues[first.number].head_ref == "mlops-ci/retrain-iris"


def test_a_pull_request_created_behind_a_502_is_not_duplicated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.state.branches["mlops-ci/retrain"] = "e" * 40
    github_double.fail("pulls/create", "502", after_effect=True)
    result = gh.open_pull_request(head="mlops-ci/retrain", base="main", title="t", body="b")
    assert len(github_double.state.pulls()) == 1
    assert result.number == github_double.state.pulls()[0].number
