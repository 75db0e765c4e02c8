"""Releases and assets: drafts found by listing, assets uploaded once, re-runs complete."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from github_double import GitHubDouble

from mlops_ci.adapters.github import GitHubRepo, RetryPolicy, api_url_from_environ
from mlops_ci.errors import GitHubError


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    paths = []
    for name, content in [
        ("model.pkl", b"\x80\x04model-bytes" * 100),
        ("metrics.json", b'{"accuracy": 0.93}\n'),
        ("model_card.md", b"# Model card\n"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(path)
    return paths


def _assets(double: GitHubDouble, tag: str) -> list[tuple[str, bytes]]:
    (release,) = double.state.releases_for_tag(tag)
    return sorted((a.name, a.data) for a in double.state.release_assets(release))


def test_publish_creates_a_draft_uploads_then_publishes(
    github_double: GitHubDouble, gh: GitHubRepo, files: list[Path]
) -> None:
    result = gh.publish("iris@v1.0.0", name="iris v1.0.0", body="notes", assets=files)

    (release,) = github_double.state.releases_for_tag("iris@v1.0.0")
    assert not release.draft
    assert release.body == "notes"
    assert result.tag == "iris@v1.0.0"
    assert not result.draft
    assert [a.action for a in result.assets] == ["uploaded"] * 3
    assert _assets(github_double, "iris@v1.0.0") == sorted((p.name, p.read_bytes()) for p in files)
    # Created as a draft first, published last.
    (create,) = [c for c in github_double.log if c.operation_id == "repos/create-release"]
    assert create.status == 201
    assert github_double.log[-1].operation_id == "repos/update-release"


def test_rerun_of_a_published_release_duplicates_nothing(
    github_double: GitHubDouble, gh: GitHubRepo, files: list[Path]
) -> None:
    gh.publish("iris@v1.0.0", name="iris v1.0.0", body="notes", assets=files)
    again = gh.publish("iris@v1.0.0", name="iris v1.0.0", body="notes", assets=files)

    assert [a.action for a in again.assets] == ["reused"] * 3
    assert len(github_double.state.releases_for_tag("iris@v1.0.0")) == 1
    assert len(github_double.state.assets) == 3
    assert github_double.calls["repos/upload-release-asset"] == 3
    assert github_double.calls["repos/create-release"] == 1


def test_a_release_interrupted_after_the_first_asset_is_completed_by_the_rerun(
    github_double: GitHubDouble, make_repo: Callable[..., GitHubRepo], files: list[Path]
) -> None:
    # The 2nd upload fails on every attempt: the first run dies half-way.
    github_double.fail("repos/upload-release-asset", "502", nth=2, times=10)
    with pytest.raises(GitHubError, match="kept failing"):
        make_repo().publish("iris@v2.0.0", name="iris v2.0.0", body="notes", assets=files)
    (draft,) = github_double.state.releases_for_tag("iris@v2.0.0")
    assert draft.draft
    assert [a.name for a in github_double.state.release_assets(draft)] == ["model.pkl"]

    github_double.faults.clear()
    result = make_repo().publish("iris@v2.0.0", name="iris v2.0.0", body="notes", assets=files)

    (release,) = github_double.state.releases_for_tag("iris@v2.0.0")
    assert release.id == draft.id
    assert not release.draft
    assert not result.draft
    assert [a.action for a in result.assets] == ["reused", "uploaded", "uploaded"]
    assert _assets(github_double, "iris@v2.0.0") == sorted((p.name, p.read_bytes()) for p in files)


def test_a_draft_is_found_by_listing_because_get_by_tag_cannot_see_it(
    github_double: GitHubDouble, gh: GitHubRepo
) -> None:
    for i in range(120):  # the draft is on the second page of releases
        github_double.state.add_release(f"old@v0.{i}.0")
    draft = github_double.state.add_release("iris@v3.0.0", draft=True)
    for i in range(5):
        github_double.state.add_release(f"new@v9.{i}.0")

    found = gh.find_release("iris@v3.0.0")

    assert found is not None
    assert found.id == draft.id
    assert found.draft
    by_tag = github_double.calls_of("repos/get-release-by-tag")
    assert [c.status for c in by_tag] == [404]
    assert gh.ensure_draft_release("iris@v3.0.0", name="x", body="y").id == draft.id
    assert github_double.calls["repos/create-release"] == 0


def test_an_asset_with_the_same_name_but_other_content_is_replaced(
    github_double: GitHubDouble, gh: GitHubRepo, tmp_path: Path
) -> None:
    release = github_double.state.add_release("iris@v4.0.0", draft=True)
    old = github_double.state.add_asset(release, "metrics.json", b'{"accuracy": 0.5}\n')
    path = tmp_path / "metrics.json"
    path.write_bytes(b'{"accuracy": 0.93}\n')

    result = gh.upload_asset(release.id, path)

    assert result.action == "replaced"
    assets = github_double.state.release_assets(release)
    assert [(a.name, a.data) for a in assets] == [("metrics.json", path.read_bytes())]
    assert old.id not in github_double.state.assets


@pytest.mark.parametrize(
    ("their_copy", "action", "deletes"),
    [(b"stale model", "replaced", 1), (b"new model", "reused", 0)],
)
def test_a_422_already_exists_is_resolved_by_comparing_digests(
    github_double: GitHubDouble,
    gh: GitHubRepo,
    tmp_path: Path,
    their_copy: bytes,
    action: str,
    deletes: int,
) -> None:
    """As in the `release-assets-conflict` recording: 422 already_exists, list, delete,
    upload again. Here the asset appears between our listing and our upload."""
    release = github_double.state.add_release("iris@v5.0.0", draft=True)
    path = tmp_path / "model.pkl"
    path.write_bytes(b"new model")
    original_list = github_double._list_assets
    state = {"listed": 0}

    def racing_list(call):  # type: ignore[no-untyped-def]
        reply = original_list(call)
        state["listed"] += 1
        if state["listed"] == 1:  # another job uploads its copy right after
            github_double.state.add_asset(release, "model.pkl", their_copy)
        return reply

    github_double._list_assets = racing_list  # type: ignore[method-assign]
    github_double._routes = github_double._build_routes()

    result = gh.upload_asset(release.id, path)

    assert result.action == action
    statuses = [c.status for c in github_double.calls_of("repos/upload-release-asset")]
    assert statuses == ([422, 201] if deletes else [422])
    assert github_double.calls["repos/delete-release-asset"] == deletes
    assert [(a.name, a.data) for a in github_double.state.release_assets(release)] == [
        ("model.pkl", b"new model")
    ]


def test_an_upload_that_succeeded_behind_a_502_is_not_repeated(
    github_double: GitHubDouble, gh: GitHubRepo, tmp_path: Path
) -> None:
    release = github_double.state.add_release("iris@v6.0.0", draft=True)
    path = tmp_path / "model.pkl"
    path.write_bytes(b"model")
    github_double.fail("repos/upload-release-asset", "502", after_effect=True)

    result = gh.upload_asset(release.id, path)

    assert result.name == "model.pkl"
    assert github_double.calls["repos/upload-release-asset"] == 1
    assert len(github_double.state.release_assets(release)) == 1


def test_release_notes_are_updated(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    created = gh.ensure_draft_release("iris@v7.0.0", name="iris v7", body="draft notes")
    gh.update_release_notes(created.id, "final notes")
    published = gh.publish_release(created.id)
    (release,) = github_double.state.releases_for_tag("iris@v7.0.0")
    assert release.body == "final notes"
    assert not release.draft
    assert not published.draft
    assert gh.publish_release(created.id).id == created.id  # publishing again is a no-op
    assert github_double.calls["repos/update-release"] == 2


def test_permission_error_names_contents_write(github_double: GitHubDouble, gh: GitHubRepo) -> None:
    github_double.fail("repos/create-release", "forbidden")
    with pytest.raises(GitHubError) as caught:
        gh.ensure_draft_release("iris@v8.0.0", name="x", body="y")
    assert "contents: write" in (caught.value.hint or "")
    assert "Resource not accessible by integration" in str(caught.value)


def test_enterprise_server_paths_and_uploads_host(
    make_github_double: Callable[..., GitHubDouble], tmp_path: Path
) -> None:
    """On GHES the API is under /api/v3 and uploads under /api/uploads."""
    double = make_github_double(api_prefix="/api/v3", uploads_prefix="/api/uploads")
    environ = {"GITHUB_API_URL": double.base_url + "/"}  # as a GHES runner sets it
    gh = GitHubRepo(
        "ghs_enterprise",
        double.repository,
        api_url_from_environ(environ),
        retry=RetryPolicy(sleep=lambda _: None),
        seconds_between_writes=None,
    )
    path = tmp_path / "model.pkl"
    path.write_bytes(b"model")

    result = gh.publish("iris@v1.0.0", name="iris", body="notes", assets=[path])

    assert gh.api_url.endswith("/api/v3")
    assert result.assets[0].action == "uploaded"
    uploads = [c for c in double.log if c.operation_id == "repos/upload-release-asset"]
    assert len(uploads) == 1
    (release,) = double.state.releases_for_tag("iris@v1.0.0")
    (asset,) = double.state.release_assets(release)
    assert asset.digest == "sha256:" + hashlib.sha256(b"model").hexdigest()
