"""`mlops-ci deploy-manifest`: a registered version as a KServe InferenceService."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_ci.commands.console import echo
from mlops_ci.commands.options import check_stage_or_version, root_option, stage_or_version_options


@click.command("deploy-manifest")
@click.argument("model")
@stage_or_version_options("Deploy")
@click.option(
    "--image",
    help="OCI image name without tag (default: deploy.image in mlops-ci.yaml, else "
    "ghcr.io/OWNER/REPO/MODEL on GitHub Actions); the tag is the version.",
)
@click.option(
    "--output",
    default="-",
    show_default=True,
    help="Where the InferenceService YAML goes: a file, or - for standard output.",
)
@click.option(
    "--image-context",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the image's build context here (Dockerfile and model repository): "
    "`docker build DIR` builds the image the manifest names.",
)
@root_option()
def deploy_manifest(  # noqa: PLR0917 - one parameter per option
    model: str,
    stage: str | None,
    version: str | None,
    image: str | None,
    output: str,
    image_context: Path | None,
    root: Path,
) -> None:
    """Write the KServe InferenceService of the model holding a stage (or a given
    version): its image tagged with the version, scaled on concurrent requests as
    `deploy:` in mlops-ci.yaml says, labelled with version, commit and sha256."""
    from mlops_ci.commands.progress import command_job
    from mlops_ci.services.deploy_manifest import DeployManifestRequest, deploy_manifest

    check_stage_or_version(stage, version)
    to_stdout = output == "-"
    with command_job(quiet=to_stdout) as job:
        outcome = deploy_manifest(
            DeployManifestRequest(
                root=root,
                model=model,
                job=job,
                stage=stage,
                version=version,
                image=image,
                output=output,
                image_context=image_context,
            )
        )
        if job.on_runner:
            job.actions.set_output("image", outcome.image)
            job.actions.set_output("model-version", outcome.version)
            job.actions.set_output("manifest", outcome.output)
    if to_stdout:
        echo(outcome.text, nl=False)
        return
    lines = [
        f"{outcome.model} {outcome.version} ({outcome.commit[:12]}) as InferenceService "
        f"{outcome.name}",
        f"image {outcome.image}",
        f"wrote {outcome.output}",
    ]
    if outcome.image_context is not None:
        lines.append(f"image context {outcome.image_context} (docker build it)")
    echo("\n".join(lines))
