"""Tag names and versions the registry commands cannot act on: malformed names, a stage
tag where a version tag is expected, versions and models that do not exist. Each runs
against a repository where `clf@v1.0.0` is registered; none may create or move a tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.services.shared import registry as registry_service

from .harness import run_case
from .repos import GOOD_METRICS, config_yaml, copy_repo, make_repo

RELEASE_TAGS: dict[str, str] = {
    "model_only": "clf",
    "version_without_v": "clf@1.0.0",
    "two_part_version": "clf@v1.0",
    "leading_zero": "clf@v01.0.0",
    "empty_prerelease": "clf@v1.0.0-",
    "empty_build": "clf@v1.0.0+",
    "stage_tag": "clf#staging#1",
    "stage_tag_without_counter": "clf#staging",
    "deregistration_tag": "clf@v1.0.0!",
    "deprecation_tag": "clf@deprecated",
    "version_with_counter": "clf@v1.0.0#2",
    "unknown_model": "nosuchmodel@v1.0.0",
    "unregistered_version": "clf@v9.9.9",
    "monorepo_unknown": "sub=clf@v1.0.0",
    "leading_dash": "-clf@v1.0.0",
    "path_traversal": "../clf@v1.0.0",
    "newline": "clf@v1.0.0\nrm -rf /",
    "trailing_space": "clf@v1.0.0 ",
    "non_ascii": "clf@v1.0.0ü",
    "very_long": "c" * 5000 + "@v1.0.0",
    "empty": "",
    "shell_metacharacters": "clf@v1.0.0;$(id)",
}

OTHER_COMMANDS: dict[str, tuple[list[str], int]] = {
    "register_version_without_v": (["register", "clf", "--version", "1.0.1"], 1),
    "register_version_word": (["register", "clf", "--version", "latest"], 1),
    "register_bad_model_name": (["register", "clf!"], 1),
    "register_model_with_at": (["register", "clf@v1.0.0"], 1),
    "register_version_and_bump": (["register", "clf", "--version", "v2.0.0", "--bump", "minor"], 1),
    "register_taken_commit": (["register", "clf", "--version", "v2.0.0"], 2),
    "register_unknown_ref": (["register", "clf", "--ref", "no-such-branch"], 1),
    "promote_unknown_stage": (["promote", "clf", "--stage", "qa"], 2),
    "promote_invalid_stage": (["promote", "clf", "--stage", "pro duction"], 2),
    "promote_unknown_version": (["promote", "clf", "--stage", "staging", "--version", "v9.9.9"], 2),
    "promote_version_not_semver": (["promote", "clf", "--stage", "staging", "--version", "1"], 2),
    "promote_unknown_model": (["promote", "nosuchmodel", "--stage", "staging"], 2),
    "rollback_no_holder": (["rollback", "clf", "--stage", "production"], 2),
    "rollback_to_unknown": (["rollback", "clf", "--stage", "staging", "--to", "v7.0.0"], 2),
    "history_unknown_model": (["history", "nosuchmodel"], 1),
    "deprecate_unknown_model": (["deprecate", "nosuchmodel"], 1),
    "registry_unknown_model": (["registry", "nosuchmodel"], 1),
    "on_tag_unknown_model": (["on-tag", "--tag", "nosuchmodel@v1.0.0", "--dry-run"], 1),
    "on_tag_unregistered_version": (["on-tag", "--tag", "clf@v9.9.9", "--dry-run"], 1),
    "on_tag_stage_tag_not_pushed": (["on-tag", "--tag", "clf#staging#1", "--dry-run"], 1),
    "on_tag_deregistration_not_pushed": (["on-tag", "--tag", "clf@v1.0.0!", "--dry-run"], 1),
}


@pytest.fixture(scope="session")
def registered_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("badinput-tags") / "repo"
    make_repo(
        root, {"metrics.json": GOOD_METRICS, "mlops-ci.yaml": config_yaml(metrics="metrics.json")}
    )
    registry_service.register(root, "clf", version="v1.0.0")
    return root


@pytest.fixture
def registered(registered_template: Path, tmp_path: Path) -> Path:
    return copy_repo(registered_template, tmp_path / "repo")


@pytest.mark.parametrize("name", sorted(RELEASE_TAGS))
def test_release_with_a_tag_it_cannot_release(
    name: str,
    registered: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_case(
        "tag",
        f"release/{name}",
        ["release", "--tag", RELEASE_TAGS[name], "--dry-run", "--root", str(registered)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[registered],
        expect=[1, 2],
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(OTHER_COMMANDS))
def test_registry_command_with_a_bad_name_or_version(
    name: str,
    registered: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args, code = OTHER_COMMANDS[name]
    run_case(
        "tag",
        name,
        [*args, "--root", str(registered)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[registered],
        expect=[code],
    )  # fmt: skip


def test_the_registered_version_releases(registered: Path) -> None:
    """The control: the same repository releases `clf@v1.0.0` (dry run)."""
    from mlops_ci.services.shared.release import release

    result = release(registered, "clf@v1.0.0", dry_run=True, output=registered.parent / "out")
    assert result["version"] == "v1.0.0"
