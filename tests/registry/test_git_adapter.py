"""The git adapter on real repositories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from registry_helpers import BASE_TIME, Repo

from mlops_ci.adapters.git import Git
from mlops_ci.errors import GitError, PolicyRefused


def test_tags_are_read_in_one_call_with_everything(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    first = repo.git("rev-parse", "HEAD")
    message = "Line one\n\nbody with \t tabs, unicode ✓, 'quotes' and a % sign\n# not a comment"
    repo.git("tag", "-a", "--cleanup=verbatim", "-m", message, "m@v1.0.0", t=5)
    repo.lightweight("light")
    repo.git("tag", "-a", "-m", "tag of a tree", "tree-tag", "HEAD^{tree}", t=6)
    second = repo.commit("two", t=7)
    records = {r.name: r for r in Git(repo.root).tags()}
    assert set(records) == {"m@v1.0.0", "light", "tree-tag"}
    tag = records["m@v1.0.0"]
    assert (tag.object_type, tag.commit, tag.target_type) == ("tag", first, "commit")
    assert tag.tagger_email == "author@example.com"
    assert tag.time == datetime.fromtimestamp(BASE_TIME + 5, UTC)
    assert tag.message == message
    assert (records["light"].object_type, records["light"].time) == ("commit", None)
    assert records["tree-tag"].target_type == "tree"
    git = Git(repo.root)
    assert git.current_sha() == second
    assert git.rev_parse("m@v1.0.0") == first
    assert git.is_ancestor(first, second)
    assert not git.is_ancestor(second, first)
    assert git.merge_base(first, second) == first
    assert git.default_branch() == "main"


def test_files_at_a_revision(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    old = repo.commit("add", t=1, files={"dir/metrics.json": '{"a": 1}'})
    repo.commit("change", t=2, files={"dir/metrics.json": '{"a": 2}'})
    git = Git(repo.root)
    assert git.show_file(old, "dir/metrics.json") == b'{"a": 1}'
    assert git.show_file("HEAD", "dir/metrics.json") == b'{"a": 2}'
    assert git.show_file(old, "missing.json") is None
    assert "dir/metrics.json" in git.list_files("HEAD")
    with pytest.raises(GitError, match="unknown revision"):
        git.rev_parse("no-such-ref")


def test_tags_are_created_once_and_never_moved(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    first = repo.git("rev-parse", "HEAD")
    git = Git(repo.root)
    assert git.create_annotated_tag("m#prod#1", "HEAD", "# kept\nmessage").outcome == "created"
    assert git.create_annotated_tag("m#prod#1", first, "other").outcome == "exists"
    repo.commit("two", t=3)
    with pytest.raises(PolicyRefused, match="never moved"):
        git.create_annotated_tag("m#prod#1", "HEAD", "again")
    assert git.tag_target("m#prod#1") == first
    assert repo.git("tag", "-l", "--format=%(contents)", "m#prod#1") == "# kept\nmessage"
