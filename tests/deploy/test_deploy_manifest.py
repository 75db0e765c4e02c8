"""`mlops-ci deploy-manifest` on the real sample project: the InferenceService of the
promoted version is checked against KServe's own CRD schema (tests/data/kserve/), read
strictly as `kubectl apply` reads it (an unknown field is an error)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cli_helpers import run

from mlops_ci import __version__
from mlops_ci.core.kserve import (
    MAX_NAME,
    Scaling,
    ServedVersion,
    default_image,
    deployment_labels,
    image_tag,
    inference_service,
    resource_name,
)
from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
IMAGE = "ghcr.io/acme/cancer/cancer-classifier"
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "kserve"
SCHEMA = SCHEMA / "inferenceservice-v1beta1.schema.json"
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")


def _strict(node: Any) -> Any:
    """The schema as the API server applies it with strict field validation (kubectl's
    default): an object that lists its properties accepts no other field."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def validator() -> jsonschema.Draft7Validator:
    schema = _strict(json.loads(SCHEMA.read_text(encoding="utf-8")))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def problems(manifest: dict[str, Any]) -> list[str]:
    found = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator().iter_errors(manifest)
    ]
    # ObjectMeta is the API server's own type, not in the CRD: its rules checked here.
    meta = manifest.get("metadata", {})
    if not DNS_LABEL.match(str(meta.get("name", ""))) or len(meta["name"]) > 63:
        found.append(f"metadata/name: {meta.get('name')!r} is not a DNS-1123 label")
    for key, value in (meta.get("labels") or {}).items():
        if not LABEL_VALUE.match(str(value)):
            found.append(f"metadata/labels/{key}: {value!r} is not a label value")
    return found


def manifest_of(
    sample: SampleProject, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    code, out, err = run(["deploy-manifest", MODEL, "--root", str(sample.root), *extra], capsys)
    assert code == 0, out + err
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def model_sha256_at_main(sample: SampleProject) -> str:
    raw = subprocess.run(
        ["dvc", "get", ".", "models/model.pkl", "--rev", sample.main_sha, "-o", "-"],
        cwd=sample.root, capture_output=True, check=False,
    )  # fmt: skip
    data = raw.stdout if raw.returncode == 0 and raw.stdout else b""
    if not data:
        data = (sample.root / "models" / "model.pkl").read_bytes()
    return hashlib.sha256(data).hexdigest()


def predictor(manifest: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = manifest["spec"]["predictor"]
    return found


def test_the_promoted_versions_manifest_is_a_valid_inference_service(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = manifest_of(promoted, capsys, "--image", IMAGE)
    assert problems(manifest) == []
    assert (manifest["apiVersion"], manifest["kind"]) == (
        "serving.kserve.io/v1beta1",
        "InferenceService",
    )
    meta = manifest["metadata"]
    assert meta["name"] == MODEL
    notes = meta["annotations"]
    assert notes["mlops-ci.dev/model"] == MODEL
    assert notes["mlops-ci.dev/version"] == "v1.0.0"
    assert notes["mlops-ci.dev/commit"] == promoted.main_sha
    assert notes["mlops-ci.dev/model-sha256"] == model_sha256_at_main(promoted)
    assert meta["labels"]["mlops-ci.dev/version"] == "v1.0.0"
    (container,) = predictor(manifest)["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == f"{IMAGE}:v1.0.0"
    assert container["ports"][0]["containerPort"] == 8080
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert set(container["resources"]) == {"requests", "limits"}
    # The defaults of `deploy:` in mlops-ci.yaml.
    assert predictor(manifest)["minReplicas"] == 1
    assert predictor(manifest)["maxReplicas"] == 3
    assert predictor(manifest)["scaleMetric"] == "concurrency"
    assert predictor(manifest)["scaleTarget"] == 4
    assert "namespace" not in meta


def test_scaling_namespace_and_image_come_from_the_config(
    promoted: SampleProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = promoted.root / "mlops-ci.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "deploy:\n  min_replicas: 0\n  max_replicas: 12\n  target_concurrency: 9\n"
        "  namespace: models\n  image: registry.example.com/ml/cancer\n",
        encoding="utf-8",
    )
    # The configured image wins over the one made from the runner's repository.
    monkeypatch.setenv("GITHUB_REPOSITORY", "Acme/Cancer")
    manifest = manifest_of(promoted, capsys, "--stage", "production")
    assert problems(manifest) == []
    spec = predictor(manifest)
    assert (spec["minReplicas"], spec["maxReplicas"], spec["scaleTarget"]) == (0, 12, 9)
    assert manifest["metadata"]["namespace"] == "models"
    assert spec["containers"][0]["image"] == "registry.example.com/ml/cancer:v1.0.0"
    # --image wins over both.
    manifest = manifest_of(promoted, capsys, "--image", IMAGE)
    assert predictor(manifest)["containers"][0]["image"] == f"{IMAGE}:v1.0.0"


def test_the_image_defaults_to_ghcr_under_the_runners_repository(
    promoted: SampleProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "Acme/Cancer-Models")
    manifest = manifest_of(promoted, capsys, "--version", "v1.0.0")
    image = predictor(manifest)["containers"][0]["image"]
    assert image == "ghcr.io/acme/cancer-models/cancer-classifier:v1.0.0"
    source = manifest["metadata"]["annotations"]["mlops-ci.dev/source"]
    assert source == "https://github.com/Acme/Cancer-Models"


def test_output_file_holds_the_same_manifest(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = manifest_of(promoted, capsys, "--image", IMAGE)
    target = promoted.base / "out" / "isvc.yaml"
    code, out, err = run(
        ["deploy-manifest", MODEL, "--root", str(promoted.root), "--image", IMAGE,
         "--output", str(target)],
        capsys,
    )  # fmt: skip
    assert code == 0, out + err
    assert yaml.safe_load(target.read_text(encoding="utf-8")) == printed
    assert f"wrote {target}" in out


def built_manifest() -> dict[str, Any]:
    """A manifest as the command makes it, without a repository (round-tripped
    through YAML as the command's output is)."""
    served = ServedVersion(MODEL, "v1.0.0", "c" * 40, "d" * 64, IMAGE, namespace="models")
    text = yaml.safe_dump(inference_service(served, Scaling(0, 5, 2)), sort_keys=False)
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _set(manifest: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    *parents, last = path.split("/")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        ("spec/predictor/minReplicas", "1", "is not of type 'integer'"),
        ("spec/predictor/scaleMetric", "latency", "is not one of"),
        ("spec/predictor/containers/0/imagePullPolicy", 7, "is not of type 'string'"),
        ("spec/predictor/containers/0/resources/limits/cpu", "two", "does not match"),
        ("spec/predictor/containers/0/readinessProbe/httpGet/paths", "/ready", "paths"),
        ("spec/predictor/replicas", 2, "replicas"),
        ("metadata/name", "Cancer_Classifier", "DNS-1123"),
    ],
)
def test_a_wrong_manifest_fails_the_schema(path: str, value: Any, complaint: str) -> None:
    manifest = built_manifest()
    assert problems(manifest) == []
    found = problems(_set(manifest, path, value))
    assert any(complaint in p for p in found), found


def test_a_container_without_a_name_fails_the_schema() -> None:
    manifest = built_manifest()
    del predictor(manifest)["containers"][0]["name"]
    assert any("'name' is a required property" in p for p in problems(manifest))


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("cancer-classifier", "cancer-classifier"),
        ("Churn_Model", "churn-model"),
        ("team/churn:v2", "team-churn-v2"),
        ("3d-segmenter", "m-3d-segmenter"),
        ("---", "m"),
    ],
)
def test_resource_names_are_dns_labels(model: str, name: str) -> None:
    assert resource_name(model) == name
    assert DNS_LABEL.match(name)


def test_long_model_names_stay_short_and_distinct() -> None:
    first, second = resource_name("a" * 80 + "-one"), resource_name("a" * 80 + "-two")
    assert first != second
    assert len(first) <= MAX_NAME
    assert len(second) <= MAX_NAME
    assert DNS_LABEL.match(first)


def test_image_names_and_tags() -> None:
    assert default_image("Acme/Repo", "team/Churn:x") == "ghcr.io/acme/repo/team/churn-x"
    assert default_image("acme/repo", "a..b__c") == "ghcr.io/acme/repo/a-b-c"
    assert image_tag("v1.2.3") == "v1.2.3"
    assert image_tag("v1.2.3-rc.1+build.5") == "v1.2.3-rc.1_build.5"


def test_labels_are_valid_label_values_whatever_the_names() -> None:
    served = ServedVersion(
        model="team/" + "x" * 90, version="v1.0.0+build.7", commit="a" * 40, sha256="b" * 64,
        image="ghcr.io/a/b/c",
    )  # fmt: skip
    for key, value in deployment_labels(served).items():
        assert LABEL_VALUE.match(value), (key, value)


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 1, out + err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_bad_input_is_one_line_and_exit_1(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--root", str(promoted.root), "--image", IMAGE]
    error = one_line_error(*run(["deploy-manifest", "no-such-model", *root], capsys))
    assert "no such model" in error
    error = one_line_error(*run(["deploy-manifest", MODEL, *root, "--version", "v9.9.9"], capsys))
    assert "v9.9.9" in error
    error = one_line_error(
        *run(["deploy-manifest", MODEL, *root, "--stage", "p", "--version", "v1.0.0"], capsys)
    )
    assert "--stage and --version" in error
    tagged = ["--root", str(promoted.root), "--image", f"{IMAGE}:latest"]
    error = one_line_error(*run(["deploy-manifest", MODEL, *tagged], capsys))
    assert "without a tag" in error


def test_no_version_holds_the_stage(
    sample_project: SampleProject,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(sample_project.root)
    root = ["--root", str(sample_project.root)]
    register = ["register", MODEL, "--version", "v1.0.0", "--ref", sample_project.main_sha]
    assert run([*register, *root], capsys)[0] == 0
    error = one_line_error(*run(["deploy-manifest", MODEL, *root, "--image", IMAGE], capsys))
    assert "no version holds the stage 'production'" in error
    # A registered version is deployable by name.
    assert manifest_of(sample_project, capsys, "--image", IMAGE, "--version", "v1.0.0")


def test_without_an_image_name_the_error_says_where_to_give_one(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["deploy-manifest", MODEL, "--root", str(promoted.root)], capsys)
    assert "no image name" in one_line_error(code, out, err)
    assert "--image" in err
    assert "deploy.image" in err


def _copy_sources(dockerfile: str) -> list[str]:
    return [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]


def test_image_context_holds_the_dockerfile_and_the_model_repository(
    promoted: SampleProject, capsys: pytest.CaptureFixture[str]
) -> None:
    context = promoted.base / "image"
    output = context / "inferenceservice.yaml"
    args = ["deploy-manifest", MODEL, "--root", str(promoted.root), "--image", IMAGE,
            "--image-context", str(context), "--output", str(output)]  # fmt: skip
    code, out, err = run(args, capsys)
    assert code == 0, out + err
    manifest = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert problems(manifest) == []
    dockerfile = (context / "Dockerfile").read_text(encoding="utf-8")
    sources = _copy_sources(dockerfile)
    assert sources
    for source in sources:
        assert (context / source).exists(), source
    repository = context / "models"
    settings = json.loads((repository / MODEL / "model-settings.json").read_text("utf-8"))
    assert settings["implementation"] == "mlops_ci.adapters.serving_runtime.ReleasedModel"
    sha = manifest["metadata"]["annotations"]["mlops-ci.dev/model-sha256"]
    assert settings["parameters"]["extra"]["sha256"] == sha
    model_file = repository / MODEL / Path(settings["parameters"]["uri"]).name
    assert hashlib.sha256(model_file.read_bytes()).hexdigest() == sha
    assert json.loads((repository / "settings.json").read_text("utf-8"))["http_port"] == 8080
    for name in ("signature.json", "sample.json"):
        assert (repository / MODEL / name).is_file()

    assert re.search(r"^FROM python:3\.11\.\d+-slim(-\w+)?$", dockerfile, re.M)
    assert f'"mlops-ci[serve]=={__version__}"' in dockerfile
    assert "--no-cache-dir" in dockerfile
    assert "COPY models/ /mnt/models/" in dockerfile
    user = re.search(r"^USER (\d+)$", dockerfile, re.M)
    assert user
    assert int(user.group(1)) > 0
    assert dockerfile.index("USER ") > dockerfile.index("RUN ")  # installs ran as root
    assert "EXPOSE 8080" in dockerfile
    assert 'CMD ["mlserver", "start", "/mnt/models"]' in dockerfile
    assert f'org.opencontainers.image.revision="{promoted.main_sha}"' in dockerfile
    assert 'org.opencontainers.image.version="v1.0.0"' in dockerfile

    # A re-run replaces what it wrote; a directory holding anything else is refused.
    assert run(args, capsys)[0] == 0
    (context / "notes.txt").write_text("mine", encoding="utf-8")
    error = one_line_error(*run(args, capsys))
    assert "notes.txt" in error
