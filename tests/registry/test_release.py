"""`mlops-ci release` and promotion on GitHub, on the real sample project (git + DVC +
scikit-learn model) and the GitHub double."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from registry_helpers import Repo

from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
TAG = f"{MODEL}@v0.1.0"
ASSETS = {
    "model.pkl", "model-card.md", "metrics.json", "params.json", "lineage.json", "SHA256SUMS",
    "signature.json", "sample.json",
}  # fmt: skip


@pytest.fixture
def project(sample_project: SampleProject, capsys: pytest.CaptureFixture[str]) -> Repo:
    repo = Repo(sample_project.root, capsys)
    assert repo.cli("register", MODEL, "--version", "v0.1.0", "--push", t=100).code == 0
    return repo


def test_release_locally_writes_verified_assets(project: Repo) -> None:
    result = project.cli("release", "--tag", TAG, "--json")
    assert result.code == 0, result.err
    data = result.json()
    directory = Path(data["directory"])
    assert directory == project.root / ".mlops-ci" / "release" / TAG
    assert {p.name for p in directory.iterdir()} == ASSETS
    assert data["published"] is False
    # The model came through DVC at the tagged commit: same bytes as the workspace copy.
    model = (project.root / "models" / "model.pkl").read_bytes()
    assert data["sha256"] == hashlib.sha256(model).hexdigest()
    for line in (directory / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    card = (directory / "model-card.md").read_text()
    dvc_file = (project.root / "data" / "breast_cancer.csv.dvc").read_text()
    data_md5 = dvc_file.split("md5: ")[1].split()[0]
    assert f"md5:{data_md5}" in card  # data lineage with its hash
    assert "not for clinical use" in card
    assert "accuracy" in card
    assert "@\u200dml" in card  # owners are not @mentions
    lineage = json.loads((directory / "lineage.json").read_text())
    assert {s["name"] for s in lineage["stages"]} == {"prepare", "train", "evaluate"}
    text = project.cli("release", "--tag", TAG, "--dry-run")
    assert "dry run: nothing was published" in text.out


def test_release_refuses_bad_tags_and_failing_gates(project: Repo) -> None:
    missing = project.cli("release", "--tag", f"{MODEL}@v9.9.9")
    assert missing.code == 1
    assert "does not exist" in missing.err
    stage_tag = project.cli("release", "--tag", f"{MODEL}#production#1")
    assert stage_tag.code == 1
    config = project.root / "mlops-ci.yaml"
    config.write_text(config.read_text().replace("min: 0.85", "min: 0.99"))
    project.git("commit", "-q", "-am", "stricter gate", t=110)
    assert project.cli("register", MODEL, "--version", "v0.2.0", t=111).code == 0
    refused = project.cli("release", "--tag", f"{MODEL}@v0.2.0")
    assert refused.code == 2
    assert "accuracy is 0.9648, below the minimum 0.99" in refused.err


def test_release_on_github_completes_a_draft_and_reruns_change_nothing(
    project: Repo, on_github: object
) -> None:
    from mlops_ci.adapters.github import GitHubRepo

    double = on_github
    state = double.state  # type: ignore[attr-defined]
    # A run that died half-way: a draft with one asset.
    built = project.cli("release", "--tag", TAG, "--dry-run", "--json").json()
    gh = GitHubRepo(
        "ghs_test_token_for_the_double",
        double.repository,  # type: ignore[attr-defined]
        double.base_url,
        seconds_between_writes=None,
    )  # type: ignore[attr-defined]
    draft = gh.ensure_draft_release(TAG, name="half", body="half")
    gh.upload_asset(draft.id, Path(built["directory"]) / "metrics.json")

    first = project.cli("release", "--tag", TAG, "--json")
    assert first.code == 0, first.err
    data = first.json()
    assert data["published"] is True
    assert data["release_id"] == draft.id
    assert data["uploads"]["metrics.json"] == "reused"
    releases = state.releases_for_tag(TAG)
    assert len(releases) == 1
    assert not releases[0].draft
    assert {a.name for a in state.release_assets(releases[0])} == ASSETS
    assert f"SHA-256 `{data['sha256']}`" in releases[0].body

    asset_ids = sorted(releases[0].asset_ids)
    again = project.cli("release", "--tag", TAG, "--json")
    assert again.code == 0, again.err
    assert set(again.json()["uploads"].values()) == {"reused"}
    assert len(state.releases_for_tag(TAG)) == 1
    assert sorted(state.releases_for_tag(TAG)[0].asset_ids) == asset_ids


def test_promote_on_github_records_a_deployment_and_updates_the_notes(
    project: Repo, on_github: object
) -> None:
    double = on_github
    state = double.state  # type: ignore[attr-defined]
    assert project.cli("release", "--tag", TAG).code == 0
    sha256 = hashlib.sha256((project.root / "models" / "model.pkl").read_bytes()).hexdigest()
    promoted = project.cli("promote", MODEL, "--stage", "staging", "--push", "--json", t=120)
    assert promoted.code == 0, promoted.err
    info = promoted.json()["github"]
    assert info["deployment"] == "created"
    deployment = state.deployments[info["deployment_id"]]
    assert deployment.environment == "staging"
    assert deployment.payload == {
        "model": MODEL,
        "version": "v0.1.0",
        "tag": f"{MODEL}#staging#1",
        "version_tag": TAG,
        "sha256": sha256,
        "stage": "staging",
    }
    assert "**Stages:** staging" in state.releases_for_tag(TAG)[0].body
    again = project.cli("promote", MODEL, "--stage", "staging", "--json", t=121)
    assert again.json()["noop"] is True
    assert again.json()["github"]["deployment"] == "reused"
    assert len(state.deployments) == 1


def test_a_model_over_the_asset_limit_ships_as_a_dvc_pointer(
    project: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlops_ci.services.shared import release

    monkeypatch.setattr(release, "ASSET_LIMIT", 1024)  # the sample model is ~50 KiB
    result = project.cli("release", "--tag", TAG, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["pointer"] is True
    assert "model.pkl" not in data["assets"]
    assert "model.pkl.dvc-pointer.json" in data["assets"]
    pointer = json.loads((Path(data["directory"]) / "model.pkl.dvc-pointer.json").read_text())
    model = (project.root / "models" / "model.pkl").read_bytes()
    assert pointer["sha256"] == hashlib.sha256(model).hexdigest()
    assert pointer["size"] == len(model)
    assert pointer["dvc_hash"].startswith("md5:")


def test_release_takes_the_tag_that_triggered_the_run(
    project: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_REF", f"refs/tags/{TAG}")
    result = project.cli("release", "--dry-run", "--json")
    assert result.code == 0, result.err
    assert result.json()["tag"] == TAG
    monkeypatch.delenv("GITHUB_REF")
    missing = project.cli("release")
    assert missing.code == 1
    assert "pass --tag" in missing.err
