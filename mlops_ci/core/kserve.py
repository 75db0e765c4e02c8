"""A released model version as a KServe `InferenceService`, and the image it runs.

Pure: the service finds the facts (version, commit, the model file's sha256, the image
name, the scaling config) and this module turns them into the manifest (a dict ready
for YAML) and the Dockerfile text.

One image per version, `IMAGE:VERSION`, holds the model repository (model file,
signature, sample, MLServer's settings) at `/mnt/models` and the pinned tool with its
MLServer runtime, so what the cluster runs is exactly what was built and attested; no
`storageUri` and no storage initializer fetch anything at start-up.

The predictor is a custom container rather than a `ServingRuntime` plus `model.format`:
a runtime is cluster-wide configuration that someone must install and keep in step with
the tool's version, while the image already carries both, so one manifest is the whole
deployment.

The resource name comes from the model alone, not the version: applying the manifest of
a newer version updates the same `InferenceService`, and KServe rolls it out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
#: Prefix of our labels and annotations (a domain we name, as Kubernetes asks).
PREFIX = "mlops-ci.dev/"
CONTAINER = "kserve-container"
#: MLServer's HTTP port in the model repository's `settings.json`.
HTTP_PORT = 8080
MODEL_DIR = "/mnt/models"
#: The official Python image, pinned by its full version tag.
BASE_IMAGE = "python:3.11.16-slim-trixie"
#: A numeric user, so that `runAsNonRoot` can be checked without reading /etc/passwd.
USER_ID = 10001
#: Knative names the predictor's revisions `<name>-predictor-00001`; with this cap that
#: stays a DNS-1123 label (63 characters).
MAX_NAME = 45
#: Requests sized for MLServer's main process, one worker and a scikit-learn model.
DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Scaling:
    """How KServe scales the predictor (from `deploy:` in mlops-ci.yaml)."""

    min_replicas: int = 1
    max_replicas: int = 3
    target_concurrency: int = 4


@dataclass(frozen=True)
class ServedVersion:
    """A model version as it is deployed: what it is, where it came from, which image."""

    model: str
    version: str
    commit: str
    sha256: str
    #: OCI image name without a tag, e.g. `ghcr.io/owner/repo/model`.
    image: str
    namespace: str | None = None
    #: The repository's web address (`https://github.com/OWNER/REPO`), or "".
    source: str = ""

    @property
    def image_reference(self) -> str:
        return f"{self.image}:{image_tag(self.version)}"


def resource_name(model: str) -> str:
    """A DNS-1123 label for a model name, as KServe requires of an InferenceService
    (`[a-z]([-a-z0-9]*[a-z0-9])?`); a shortened name keeps a hash of the original so
    that two long model names do not meet."""
    name = re.sub(r"[^a-z0-9]+", "-", model.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"m-{name}".rstrip("-")
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"
    return name


def image_path(model: str) -> str:
    """The last part of the default image name for a model: lower case, and only the
    characters an OCI repository name allows (GTO names may hold `:` and `=`)."""
    path = re.sub(r"[^a-z0-9._/-]+", "-", model.lower())
    path = re.sub(r"[._-]*/[._-]*", "/", path)
    path = re.sub(r"/{2,}", "/", re.sub(r"[._-]{2,}", "-", path)).strip("/._-")
    return path or "model"


def default_image(repository: str, model: str) -> str:
    """`ghcr.io/owner/repo/model` for `OWNER/REPO`, lower case as GHCR requires."""
    return f"ghcr.io/{repository.lower()}/{image_path(model)}"


def image_tag(version: str) -> str:
    """The image tag of a version: `vX.Y.Z` as it is; `+` (semver build metadata) is
    not allowed in a tag and becomes `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", version)[:128]


def _label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63].strip("_.-")
    return value if _LABEL_VALUE.match(value) else ""


def _probe(path: str, delay: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": HTTP_PORT},
        "initialDelaySeconds": delay,
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def _container(served: ServedVersion) -> dict[str, Any]:
    # No MLSERVER_* variables: MLServer reads its ports and workers from the baked
    # settings.json, and ignores the environment once that file exists.
    return {
        "name": CONTAINER,
        "image": served.image_reference,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http1", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/v2/health/ready", 5),
        "livenessProbe": _probe("/v2/health/live", 30),
        "resources": {k: dict(v) for k, v in DEFAULT_RESOURCES.items()},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def deployment_annotations(served: ServedVersion) -> dict[str, str]:
    """What the deployment is, in full (annotation values have no length limit)."""
    found = {
        f"{PREFIX}model": served.model,
        f"{PREFIX}version": served.version,
        f"{PREFIX}commit": served.commit,
        f"{PREFIX}model-sha256": served.sha256,
        f"{PREFIX}image": served.image_reference,
        # Concurrency scaling is Knative's (KPA); KServe's raw deployments scale on CPU.
        "serving.kserve.io/deploymentMode": "Serverless",
    }
    if served.source:
        found[f"{PREFIX}source"] = served.source
    return found


def deployment_labels(served: ServedVersion) -> dict[str, str]:
    """Selectable labels (values cut to what Kubernetes allows in a label)."""
    found = {
        "app.kubernetes.io/name": resource_name(served.model),
        "app.kubernetes.io/version": _label_value(served.version),
        "app.kubernetes.io/component": "predictor",
        "app.kubernetes.io/managed-by": "mlops-ci",
        f"{PREFIX}model": _label_value(served.model),
        f"{PREFIX}version": _label_value(served.version),
        f"{PREFIX}commit": _label_value(served.commit),
    }
    return {k: v for k, v in found.items() if v}


def inference_service(served: ServedVersion, scaling: Scaling) -> dict[str, Any]:
    """The `InferenceService` that serves ``served`` from its image, scaled on
    in-flight requests per replica."""
    metadata: dict[str, Any] = {
        "name": resource_name(served.model),
        "labels": deployment_labels(served),
        "annotations": deployment_annotations(served),
    }
    if served.namespace:
        metadata["namespace"] = served.namespace
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {
            "predictor": {
                "minReplicas": scaling.min_replicas,
                "maxReplicas": scaling.max_replicas,
                "scaleMetric": "concurrency",
                "scaleTarget": scaling.target_concurrency,
                "labels": deployment_labels(served),
                "annotations": {
                    k: v for k, v in deployment_annotations(served).items() if k.startswith(PREFIX)
                },
                "containers": [_container(served)],
            }
        },
    }


def _quoted(text: str) -> str:
    """A Dockerfile LABEL value in double quotes (JSON-style escapes)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


def dockerfile(
    served: ServedVersion,
    tool_version: str,
    *,
    repository_dir: str = "models",
    requirements: str | None = None,
) -> str:
    """The Dockerfile of the version's image: the model repository (the build
    context's ``repository_dir``) at `/mnt/models`, the tool pinned to
    ``tool_version`` with its serving extra, and the project's ``requirements`` file
    (in the build context) when the model needs its own libraries to load."""
    labels_text = " \\\n      ".join(
        f"{key}={_quoted(value)}"
        for key, value in (
            ("org.opencontainers.image.title", served.model),
            ("org.opencontainers.image.version", served.version),
            ("org.opencontainers.image.revision", served.commit),
            ("org.opencontainers.image.source", served.source),
            ("org.opencontainers.image.description", f"{served.model} {served.version}, MLServer"),
            ("dev.mlops-ci.model-sha256", served.sha256),
        )
        if value
    )
    package = f"mlops-ci[serve]=={tool_version}"
    if requirements:
        copy_requirements = f"COPY {requirements} /tmp/requirements.txt\n"
        install = f'pip install --no-cache-dir "{package}" -r /tmp/requirements.txt'
    else:
        copy_requirements = ""
        install = f'pip install --no-cache-dir "{package}"'
    return f"""\
# syntax=docker/dockerfile:1
# {served.model} {served.version}: the released model and its MLServer runtime.
FROM {BASE_IMAGE}
LABEL {labels_text}
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
{copy_requirements}RUN {install} \\
    && useradd --uid {USER_ID} --create-home --shell /usr/sbin/nologin mlserver
# Root owns the model files: the server reads them and cannot change them.
COPY {repository_dir}/ {MODEL_DIR}/
USER {USER_ID}
# MLServer keeps its metrics files under the working directory.
WORKDIR /home/mlserver
EXPOSE {HTTP_PORT}
CMD ["mlserver", "start", "{MODEL_DIR}"]
"""
