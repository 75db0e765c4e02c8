"""Sticky PR comments through the double: found by marker and author, on any page."""

from __future__ import annotations

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo, comment_marker
from mlops_ci.errors import GitHubError
from mlops_ci.report.budget import COMMENT_LIMIT

BOT = "github-actions[bot]"


def test_first_run_posts_and_rerun_updates_in_place(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    pull = github_double.state.add_pull()
    first = gh.upsert_comment(pull.number, "accuracy 0.91", workflow="ci", kind="report")
    second = gh.upsert_comment(pull.number, "accuracy 0.93", workflow="ci", kind="report")
    third = gh.upsert_comment(pull.number, "accuracy 0.93", workflow="ci", kind="report")

    assert first is not None
    assert second is not None
    assert third is not None
    assert (first.action, second.action, third.action) == ("created", "updated", "unchanged")
    assert first.id == second.id == third.id
    comments = github_double.state.comments_on(pull.number)
    assert len(comments) == 1
    assert comments[0].login == BOT
    assert comments[0].body.startswith(comment_marker("ci", "report"))
    assert "accuracy 0.93" in comments[0].body
    assert first.url.endswith(f"#issuecomment-{first.id}")
    assert github_double.calls["issues/create-comment"] == 1
    assert github_double.calls["issues/update-comment"] == 1


def test_ours_on_page_three_of_250_is_updated_not_duplicated(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    pull = github_double.state.add_pull()
    marker = comment_marker("ci", "report")
    users = ["octocat", "hubot", "mona", "dependabot[bot]"]
    for i in range(210):
        github_double.state.add_comment(pull.number, f"chatter {i}", users[i % len(users)])
    ours = github_double.state.add_comment(pull.number, f"{marker}\nold report", BOT)
    for i in range(39):
        github_double.state.add_comment(pull.number, f"more {i}", users[i % len(users)])
    assert len(github_double.state.comments_on(pull.number)) == 250

    result = gh.upsert_comment(pull.number, "new report", workflow="ci", kind="report")

    assert result is not None
    assert result.id == ours.id
    assert result.action == "updated"
    assert "new report" in github_double.state.comments[ours.id].body
    assert len(github_double.state.comments_on(pull.number)) == 250
    pages = [c.path for c in github_double.calls_of("issues/list-comments")]
    assert len(pages) == 3  # per_page=100: ours is on page 3
    assert github_double.calls["issues/create-comment"] == 0


def test_a_comment_by_someone_else_carrying_our_marker_is_left_alone(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    pull = github_double.state.add_pull()
    marker = comment_marker("ci", "report")
    forged = github_double.state.add_comment(pull.number, f"{marker}\nquoted by a human", "mona")

    result = gh.upsert_comment(pull.number, "report", workflow="ci", kind="report")

    assert result is not None
    assert result.action == "created"
    assert github_double.state.comments[forged.id].body == f"{marker}\nquoted by a human"
    assert github_double.state.comments[forged.id].login == "mona"
    assert len(github_double.state.comments_on(pull.number)) == 2


def test_each_workflow_and_kind_has_its_own_comment(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    pull = github_double.state.add_pull()
    gh.upsert_comment(pull.number, "a", workflow="ci", kind="report")
    gh.upsert_comment(pull.number, "b", workflow="ci", kind="drift")
    gh.upsert_comment(pull.number, "c", workflow="nightly", kind="report")
    gh.upsert_comment(pull.number, "a2", workflow="ci", kind="report")
    bodies = sorted(c.body.split("\n", 1)[1] for c in github_double.state.comments_on(pull.number))
    assert bodies == ["a2", "b", "c"]


def test_recreate_deletes_and_posts_anew(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    pull = github_double.state.add_pull()
    first = gh.upsert_comment(pull.number, "one", workflow="ci", kind="report")
    again = gh.upsert_comment(pull.number, "two", workflow="ci", kind="report", mode="recreate")
    assert first is not None
    assert again is not None
    assert again.action == "recreated"
    assert again.id != first.id
    comments = github_double.state.comments_on(pull.number)
    assert [c.id for c in comments] == [again.id]
    assert github_double.calls["issues/delete-comment"] == 1


def test_mode_off_touches_nothing(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    pull = github_double.state.add_pull()
    assert gh.upsert_comment(pull.number, "x", workflow="ci", kind="report", mode="off") is None
    assert github_double.log == []


def test_unknown_mode_is_a_clear_error(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    with pytest.raises(GitHubError, match="comment mode"):
        gh.upsert_comment(1, "x", workflow="ci", kind="report", mode="loud")  # type: ignore[arg-type]


def test_a_70000_character_report_is_cut_under_the_limit(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    pull = github_double.state.add_pull()
    rows = "\n".join(f"| metric_{i:05d} | 0.{i:05d} | +0.001 |" for i in range(2400))
    body = "## Metrics\n\n| name | value | delta |\n|---|---|---|\n" + rows + "\n"
    assert len(body) > 70_000

    result = gh.upsert_comment(
        pull.number,
        body,
        workflow="ci",
        kind="report",
        full_report_url="https://github.com/octo-org/mlops-demo/actions/runs/1",
    )

    assert result is not None
    posted = github_double.state.comments_on(pull.number)[0].body
    assert len(posted) <= COMMENT_LIMIT
    assert posted.startswith(comment_marker("ci", "report"))
    assert "actions/runs/1" in posted
    table_lines = [line for line in posted.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in table_lines)  # no row cut in half
    # The cut comment is still found and updated on the next run.
    again = gh.upsert_comment(pull.number, "short now", workflow="ci", kind="report")
    assert again is not None
    assert again.id == result.id


def test_a_user_token_is_recognised_by_its_login(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    github_double.login = "mona"
    pull = github_double.state.add_pull()
    marker = comment_marker("ci", "report")
    bot_comment = github_double.state.add_comment(pull.number, f"{marker}\nby the bot", BOT)

    result = gh.upsert_comment(pull.number, "by mona", workflow="ci", kind="report")

    assert gh.login == "mona"
    assert result is not None
    assert result.action == "created"
    assert github_double.state.comments[bot_comment.id].body == f"{marker}\nby the bot"
    assert github_double.calls_of("users/get-authenticated")[0].status == 200


def test_the_job_token_cannot_read_user_and_is_taken_as_the_bot(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    assert gh.login == BOT
    assert github_double.calls_of("users/get-authenticated")[0].status == 403


def test_a_missing_pull_request_is_a_clear_error(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    with pytest.raises(GitHubError) as caught:
        gh.upsert_comment(999, "x", workflow="ci", kind="report")
    assert "404" in str(caught.value)
    assert "octo-org/mlops-demo" in str(caught.value)
