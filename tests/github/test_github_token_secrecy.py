"""The token never appears in logs, output, exceptions or reprs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo, RetryPolicy
from mlops_ci.errors import GitHubError

SENTINEL = "ghs_SENTINEL9f3b2c7d1e0a4b6c8d2e5f7a9b1c3d5e"
LOGGERS = ("github", "urllib3", "requests", "mlops_ci")


@pytest.fixture
def debug_logging() -> Iterator[None]:
    import github  # noqa: F401 -- PyGithub sets its logger to INFO on import; undo that here

    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_the_token_is_sent_but_never_shown(
    github_double: GitHubDouble,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    debug_logging: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    gh = GitHubRepo(
        SENTINEL,
        github_double.repository,
        github_double.base_url,
        retry=RetryPolicy(sleep=lambda _: None),
        seconds_between_writes=None,
    )
    pull = github_double.state.add_pull()
    seen: list[str] = [repr(gh), str(gh)]

    # Successful calls, retried calls, and failing calls of each kind.
    github_double.fail("issues/list-comments", "502")
    github_double.fail("issues/create-comment", "secondary_rate_limit")
    result = gh.upsert_comment(pull.number, "report", workflow="ci", kind="report")
    seen.append(repr(result))
    asset = tmp_path / "model.pkl"
    asset.write_bytes(b"model")
    seen.append(repr(gh.publish("m@v1.0.0", name="m", body="b", assets=[asset])))

    failures = [
        ("checks/create", "forbidden", lambda: gh.start_check_run("c", "a" * 40)),
        ("issues/create", "422", lambda: gh.upsert_issue(marker="<!-- x -->", title="t", body="b")),
        ("repos/create-dispatch-event", "502", lambda: gh.repository_dispatch("go")),
        ("issues/get", "503", lambda: gh.close_issue(pull.number)),
    ]
    for operation, kind, call in failures:
        github_double.fail(operation, kind, times=10)
        with pytest.raises(GitHubError) as caught:
            call()
        error = caught.value
        seen += [str(error), repr(error), str(error.hint), repr(error.args), repr(error.__cause__)]
        seen += [repr(error.__context__)]

    stranger = GitHubRepo(SENTINEL, "octo-org/elsewhere", github_double.base_url)
    with pytest.raises(GitHubError) as caught:
        stranger.find_release("v1")
    seen += [str(caught.value), repr(caught.value), repr(stranger)]

    captured = capsys.readouterr()
    seen += [captured.out, captured.err, caplog.text]
    seen += [record.getMessage() for record in caplog.records]
    seen += [repr(record.args) for record in caplog.records]

    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"github", "urllib3", "mlops_ci"} <= loggers, loggers  # the HTTP stack was heard
    assert f"token {SENTINEL}" in github_double.authorizations  # it was really used
    for text in seen:
        assert SENTINEL not in text
        assert SENTINEL[8:24] not in text  # not even a fragment
