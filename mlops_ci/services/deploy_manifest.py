"""The KServe manifest of a registered version, and optionally its image's build context.

The version comes from the registry (the holder of a stage, or one named), the model
file's sha256 from the file at the version's commit. The image is named by `--image`,
else `deploy.image` in mlops-ci.yaml, else `ghcr.io/OWNER/REPO/MODEL` from the runner's
repository; it is tagged with the version.

With an image context directory, the model repository (what `mlops-ci serve` serves)
goes to `DIR/models/` and the Dockerfile to `DIR/Dockerfile`, so `docker build DIR`
builds the image the manifest names. The project's `requirements.txt` at the version's
commit goes along when there is one: unpickling a model needs the libraries it was
made with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError

if TYPE_CHECKING:
    from mlops_ci.core.kserve import ServedVersion
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.shared.registry import Registry

#: Where the model repository goes inside the image context.
REPOSITORY_DIR = "models"
REQUIREMENTS = "requirements.txt"
DOCKERFILE = "Dockerfile"
#: What an image context may already hold: a re-run replaces these and nothing else.
_CONTEXT_FILES = frozenset({DOCKERFILE, REPOSITORY_DIR, REQUIREMENTS, ".dockerignore"})


@dataclass
class DeployManifestRequest:
    root: Path
    model: str
    job: Job
    stage: str | None = None
    version: str | None = None
    image: str | None = None
    #: A file path, or "-" for standard output (the command prints it).
    output: str = "-"
    image_context: Path | None = None


@dataclass
class DeployManifestOutcome:
    model: str
    version: str
    commit: str
    sha256: str
    image: str
    name: str
    manifest: dict[str, Any]
    text: str
    output: str
    image_context: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.version,
            "commit": self.commit,
            "model_sha256": self.sha256,
            "image": self.image,
            "name": self.name,
            "output": self.output,
            "image_context": str(self.image_context) if self.image_context else None,
        }


def choose_image(explicit: str | None, configured: str | None, repository: str, model: str) -> str:
    """`--image`, else `deploy.image`, else GHCR under the runner's repository."""
    from mlops_ci.core.kserve import default_image

    chosen = (explicit or configured or "").strip()
    if chosen:
        if ":" in chosen.rsplit("/", 1)[-1] or "@" in chosen:
            raise InputError(
                f"image {chosen!r}: expected a name without a tag or digest",
                hint="the tag is the model version; pass e.g. ghcr.io/owner/repo/model",
            )
        if chosen != chosen.lower():
            raise InputError(f"image {chosen!r}: an OCI image name is lower case")
        return chosen
    if repository:
        return default_image(repository, model)
    raise InputError(
        f"{model}: no image name for the manifest",
        hint="pass --image NAME or set deploy.image in mlops-ci.yaml "
        "(on GitHub Actions it defaults to ghcr.io/OWNER/REPO/MODEL)",
    )


def _model_sha256(reg: Registry, model: str, version: str, commit: str) -> str:
    from mlops_ci.services.shared.release import model_sha256_at

    sha = model_sha256_at(reg, model, commit)
    if not sha:
        raise InputError(
            f"{model}@{version}: the model file at {commit[:12]} could not be fetched",
            hint="the manifest records the model's sha256: check models.<name>.path and "
            "that the DVC remote is reachable (its credentials in the environment)",
        )
    return sha


def _prepare_context(directory: Path, output: str) -> None:
    if directory.exists() and not directory.is_dir():
        raise InputError(f"--image-context {directory}: not a directory", file=str(directory))
    directory.mkdir(parents=True, exist_ok=True)
    allowed = _CONTEXT_FILES | {Path(output).name} if output != "-" else _CONTEXT_FILES
    strangers = sorted(p.name for p in directory.iterdir() if p.name not in allowed)
    if strangers:
        raise InputError(
            f"--image-context {directory}: holds {', '.join(strangers[:3])}: expected an "
            "empty directory (everything in it is sent to the image build)",
            file=str(directory),
        )
    shutil.rmtree(directory / REPOSITORY_DIR, ignore_errors=True)


def write_repository(
    reg: Registry, request: DeployManifestRequest, version: str, commit: str
) -> str:
    """The model repository in ``--image-context`` (checked empty first); the sha256 of the
    model file it holds, fetched and checked once for the manifest and the image."""
    from mlops_ci.services.shared.model_repository import write_model_repository

    assert request.image_context is not None
    _prepare_context(request.image_context, request.output)
    written = write_model_repository(
        reg,
        request.model,
        version,
        commit,
        request.image_context / REPOSITORY_DIR,
        log=reg.config.deploy.log,
    )
    return written.sha256


def write_image_context(reg: Registry, served: ServedVersion, directory: Path, job: Job) -> None:
    """Beside the model repository: the project's requirements and the Dockerfile,
    everything `docker build` needs, and nothing else."""
    from mlops_ci import __version__
    from mlops_ci.adapters.files import write_atomic, write_bytes_atomic
    from mlops_ci.core.kserve import dockerfile

    requirements = reg.git.show_file(served.commit, REQUIREMENTS)
    (directory / REQUIREMENTS).unlink(missing_ok=True)
    if requirements is not None:
        write_bytes_atomic(directory / REQUIREMENTS, requirements)
    if "+" in __version__ or "dev" in __version__:
        job.progress.warning(
            f"the Dockerfile installs mlops-ci=={__version__}, a development build that "
            "no package index has",
            hint="build the image with a released mlops-ci",
        )
    text = dockerfile(
        served,
        __version__,
        repository_dir=REPOSITORY_DIR,
        requirements=REQUIREMENTS if requirements is not None else None,
    )
    write_atomic(directory / DOCKERFILE, text)


def render_yaml(manifest: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False, width=1000))


def deploy_manifest(request: DeployManifestRequest) -> DeployManifestOutcome:
    """The manifest of the version ``request`` names, written to ``request.output``
    (the caller prints it for "-"), and the image context when asked for."""
    from mlops_ci.adapters.files import write_atomic
    from mlops_ci.core.kserve import Scaling, ServedVersion, inference_service, resource_name
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.versions import resolve_version

    reg = open_registry(request.root)
    version, commit = resolve_version(reg, request.model, request.stage, request.version)
    deploy = reg.config.deploy
    context = request.job.context
    image = choose_image(request.image, deploy.image, context.repository, request.model)
    if request.image_context is not None:
        sha256 = write_repository(reg, request, version, commit)
    else:
        sha256 = _model_sha256(reg, request.model, version, commit)
    served = ServedVersion(
        model=request.model,
        version=version,
        commit=commit,
        sha256=sha256,
        image=image,
        namespace=deploy.namespace,
        source=f"{context.server_url}/{context.repository}" if context.repository else "",
    )
    scaling = Scaling(deploy.min_replicas, deploy.max_replicas, deploy.target_concurrency)
    manifest = inference_service(served, scaling)
    if request.image_context is not None:
        write_image_context(reg, served, request.image_context, request.job)
    text = render_yaml(manifest)
    if request.output != "-":
        target = Path(request.output)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)
    return DeployManifestOutcome(
        model=request.model,
        version=version,
        commit=commit,
        sha256=served.sha256,
        image=served.image_reference,
        name=resource_name(request.model),
        manifest=manifest,
        text=text,
        output=request.output,
        image_context=request.image_context,
    )
