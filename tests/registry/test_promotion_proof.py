"""The promotion proof on the real sample project: the version is served by a real
MLServer on 127.0.0.1 from its release, the release's recorded sample replayed and a
bounded load measured before the stage tag is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from registry_helpers import Repo

from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
TAG = f"{MODEL}@v0.1.0"
RELEASE = Path(".mlops-ci") / "release" / TAG


def configure(repo: Repo, deploy: str) -> None:
    """Set the `deploy:` section (replacing one set before)."""
    config = repo.root / "mlops-ci.yaml"
    text = config.read_text().split("\ndeploy:\n")[0]
    config.write_text(text + "\ndeploy:\n" + deploy)


@pytest.fixture
def project(sample_project: SampleProject, capsys: pytest.CaptureFixture[str]) -> Repo:
    repo = Repo(sample_project.root, capsys)
    assert repo.cli("register", MODEL, "--version", "v0.1.0", t=100).code == 0
    return repo


def stage_tags(repo: Repo) -> str:
    return repo.git("tag", "-l", f"{MODEL}#*")


def test_a_promotion_is_proved_by_serving_the_release(project: Repo) -> None:
    configure(project, "  proof_requests: 60\n  proof_concurrency: 3\n")
    assert project.cli("release", "--tag", TAG).code == 0
    recorded = json.loads((project.root / RELEASE / "sample.json").read_text())
    result = project.cli("promote", MODEL, "--stage", "staging", "--json", t=110)
    assert result.code == 0, result.err
    proof = result.json()["proof"]
    assert proof["sample_rows"] == len(recorded["rows"]) == 20
    assert (proof["requests"], proof["concurrency"], proof["answered"]) == (60, 3, 60)
    assert 0 < proof["p50_ms"] <= proof["p95_ms"]
    assert proof["throughput"] > 0
    assert proof["refusals"] == []
    assert stage_tags(project) == f"{MODEL}#staging#1"


def _tamper_sample(repo: Repo, change: float) -> None:
    """Change one recorded probability and re-sign SHA256SUMS, as a release recorded
    under another library version would read."""
    directory = repo.root / RELEASE
    sample = json.loads((directory / "sample.json").read_text())
    sample["rows"][3]["outputs"]["predict_proba"][0] += change
    data = (json.dumps(sample, indent=2) + "\n").encode()
    (directory / "sample.json").write_bytes(data)
    sums = (directory / "SHA256SUMS").read_text().splitlines()
    signed = f"{hashlib.sha256(data).hexdigest()}  sample.json"
    fixed = [signed if line.endswith("  sample.json") else line for line in sums]
    (directory / "SHA256SUMS").write_text("\n".join(fixed) + "\n")


def test_a_sample_replay_that_differs_refuses_the_promotion(project: Repo) -> None:
    configure(project, "  proof_requests: 20\n")
    assert project.cli("release", "--tag", TAG).code == 0
    _tamper_sample(project, 1e-6)
    refused = project.cli("promote", MODEL, "--stage", "staging", t=110)
    assert refused.code == 2, refused.err
    assert "predictions differ from the release's sample" in refused.err
    assert "sample row 3 " in refused.err  # the row that differs is named
    assert "Traceback" not in refused.err
    assert stage_tags(project) == ""


def test_a_difference_within_1e_9_is_equal(project: Repo) -> None:
    configure(project, "  proof_requests: 20\n")
    assert project.cli("release", "--tag", TAG).code == 0
    _tamper_sample(project, 1e-12)
    result = project.cli("promote", MODEL, "--stage", "staging", "--json", t=110)
    assert result.code == 0, result.err
    assert result.json()["proof"]["refusals"] == []


def test_a_tampered_release_sample_is_refused_before_serving(project: Repo) -> None:
    assert project.cli("release", "--tag", TAG).code == 0
    sample = project.root / RELEASE / "sample.json"
    sample.write_text(sample.read_text().replace('"predict"', '"predict" ', 1))
    refused = project.cli("promote", MODEL, "--stage", "staging", t=110)
    assert refused.code == 2, refused.err
    assert "sample.json differs from its SHA256SUMS" in refused.err
    assert stage_tags(project) == ""


def test_a_p95_above_the_budget_refuses_with_the_figures(project: Repo) -> None:
    configure(project, "  proof_requests: 20\n  max_p95_ms: 0.001\n")
    refused = project.cli("promote", MODEL, "--stage", "staging", t=110)
    assert refused.code == 2, refused.err
    assert "above deploy.max_p95_ms 0.001 ms" in refused.err
    assert "20/20 answered" in refused.err
    assert "req/s" in refused.err
    assert stage_tags(project) == ""


def test_proof_off_promotes_without_serving(project: Repo) -> None:
    configure(project, "  prove: off\n  max_p95_ms: 0.001\n")
    result = project.cli("promote", MODEL, "--stage", "staging", "--json", t=110)
    assert result.code == 0, result.err
    assert result.json()["proof"] is None


def test_on_github_the_deployment_status_carries_the_figures(
    project: Repo, on_github: object
) -> None:
    state = on_github.state  # type: ignore[attr-defined]
    configure(project, "  proof_requests: 20\n  max_p95_ms: 0.001\n")
    assert project.cli("release", "--tag", TAG).code == 0
    refused = project.cli("promote", MODEL, "--stage", "staging", "--push", t=110)
    assert refused.code == 2, refused.err
    [deployment] = state.deployments.values()
    assert deployment.environment == "staging"
    assert deployment.payload["proof"]["answered"] == 20
    [status] = [s for s in state.deployment_statuses.values() if s.deployment_id == deployment.id]
    assert status.state == "failure"
    assert status.description.startswith("refused: replay 20 rows; 20/20 answered; p50 ")
    assert len(status.description) <= 140

    configure(project, "  proof_requests: 20\n  max_p95_ms: 100000\n")
    promoted = project.cli("promote", MODEL, "--stage", "staging", "--push", "--json", t=111)
    assert promoted.code == 0, promoted.err
    created = state.deployments[promoted.json()["github"]["deployment_id"]]
    [ok] = [s for s in state.deployment_statuses.values() if s.deployment_id == created.id]
    assert ok.state == "success"
    assert ok.description.startswith(f"{MODEL} v0.1.0 is in staging; p95 ")
