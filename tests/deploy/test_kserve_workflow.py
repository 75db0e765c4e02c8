"""The reusable kserve.yml: least privilege per job, pinned actions, and its scripts run
by bash as the runner runs them (the image name it makes is the one
`mlops-ci deploy-manifest` makes; the kubeconfig never outlives the step)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_ci.core.kserve import default_image, image_tag

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def _step(job: str, name: str) -> dict[str, Any]:
    steps = _load(WORKFLOWS / "kserve.yml")["jobs"][job]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("name", "").startswith(name))
    return found


def test_each_job_has_only_the_permissions_it_uses() -> None:
    wf = _load(WORKFLOWS / "kserve.yml")
    assert list(wf["on"]) == ["workflow_call"]
    assert wf["permissions"] == {}
    image, apply = wf["jobs"]["image"], wf["jobs"]["apply"]
    assert image["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert apply["permissions"] == {}
    assert apply["needs"] == "image"
    assert apply["if"] == "inputs.apply"
    # Jobs that push images stay out of promote.yml: GitHub checks a called workflow's
    # job permissions before any `if`, so every promote caller would have to grant them.
    for job in _load(WORKFLOWS / "promote.yml")["jobs"].values():
        assert "packages" not in job["permissions"]
        assert "id-token" not in job["permissions"]


def test_actions_are_pinned_as_in_every_other_workflow() -> None:
    pins: dict[str, set[str]] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        for uses in re.findall(r"^\s*-?\s*uses:\s*(.+?)\s*$", text, re.M):
            if uses.startswith(("$/", "./")):
                continue
            if path.name == "kserve.yml":
                assert SHA_PIN.match(uses), uses
            pins.setdefault(uses.split("@")[0], set()).add(uses.split("@")[1].split()[0])
    assert {a for a, shas in pins.items() if len(shas) > 1} == set(), pins
    text = (WORKFLOWS / "kserve.yml").read_text(encoding="utf-8")
    for action in (
        "docker/setup-buildx-action",
        "docker/login-action",
        "docker/build-push-action",
        "actions/attest-build-provenance",
    ):
        assert f"uses: {action}@" in text


def test_no_expression_is_expanded_inside_a_script() -> None:
    for job in _load(WORKFLOWS / "kserve.yml")["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step["name"]


def test_the_attestation_names_the_pushed_digest() -> None:
    attest = _step("image", "Attest")["with"]
    assert attest["subject-digest"] == "${{ steps.build.outputs.digest }}"
    assert attest["subject-name"] == "${{ steps.names.outputs.image }}"
    assert attest["push-to-registry"] is True
    build = _step("image", "Build and push")["with"]
    assert build["push"] is True
    assert build["tags"] == "${{ steps.names.outputs.reference }}"
    manifest = _step("image", "Write the manifest")["with"]
    assert manifest["command"] == "deploy-manifest"
    assert "--image ${{ steps.names.outputs.image }}" in manifest["args"]
    assert "--image-context ${{ steps.names.outputs.context }}" in manifest["args"]


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd, env=clean, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def _outputs(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())
    return dict(pairs)


@pytest.mark.parametrize(
    ("model", "version"),
    [("cancer-classifier", "v1.0.0"), ("Team/Churn", "v2.1.0-rc.1+build.5")],
)
def test_the_image_name_is_the_one_deploy_manifest_makes(
    tmp_path: Path, model: str, version: str
) -> None:
    script = _step("image", "Check the inputs")["run"]
    out = tmp_path / "out"
    env = {"MODEL": model, "VERSION": version, "IMAGE_NAME": "", "GITHUB_OUTPUT": str(out),
           "GITHUB_REPOSITORY": "Acme/Models", "RUNNER_TEMP": str(tmp_path)}  # fmt: skip
    result = _bash(script, env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    found = _outputs(out)
    assert found["image"] == default_image("Acme/Models", model)
    assert found["reference"] == f"{default_image('Acme/Models', model)}:{image_tag(version)}"


@pytest.mark.parametrize(
    ("model", "version", "image", "complaint"),
    [
        ("cancer classifier", "v1.0.0", "", "not a valid model name"),
        ("cancer-classifier", "1.0", "", "is not vX.Y.Z"),
        ("team:churn", "v1.0.0", "", "set the input image-name"),
        ("cancer-classifier", "v1.0.0", "docker.io/acme/x", "on ghcr.io"),
        ("cancer-classifier", "v1.0.0", "ghcr.io/Acme/x", "on ghcr.io"),
    ],
)
def test_bad_inputs_stop_the_job_with_one_error(
    tmp_path: Path, model: str, version: str, image: str, complaint: str
) -> None:
    script = _step("image", "Check the inputs")["run"]
    env = {"MODEL": model, "VERSION": version, "IMAGE_NAME": image,
           "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_REPOSITORY": "acme/models",
           "RUNNER_TEMP": str(tmp_path)}  # fmt: skip
    result = _bash(script, env, tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error title=mlops-ci kserve::")
    assert complaint in result.stdout


def test_apply_without_the_secret_fails_and_says_which(tmp_path: Path) -> None:
    script = _step("apply", "Apply")["run"]
    env = {"KUBE_CONFIG": "", "MANIFEST_DIR": str(tmp_path), "RUNNER_TEMP": str(tmp_path)}
    result = _bash(script, env, tmp_path)
    assert result.returncode == 1
    assert "KUBE_CONFIG secret is empty" in result.stdout


def test_the_kubeconfig_is_gone_when_kubectl_fails(tmp_path: Path) -> None:
    """kubectl runs for real against a cluster address where nothing listens."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    script = _step("apply", "Apply")["run"]
    (tmp_path / "inferenceservice.yaml").write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
        "metadata: {name: m}\nspec: {predictor: {containers: [{name: kserve-container}]}}\n",
        encoding="utf-8",
    )
    kubeconfig = (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: secret-token-value}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    env = {"KUBE_CONFIG": kubeconfig, "MANIFEST_DIR": str(tmp_path), "RUNNER_TEMP": str(temp)}
    result = _bash(script, env, tmp_path)
    assert result.returncode != 0
    assert "127.0.0.1:9" in result.stderr  # it was kubectl, with our kubeconfig, that failed
    assert "secret-token-value" not in result.stdout + result.stderr
    assert list(temp.iterdir()) == []
