"""`mlops-ci serve`: a released model answering Open Inference Protocol requests."""

from __future__ import annotations

from pathlib import Path

import click

from mlops_ci.commands.console import echo
from mlops_ci.commands.options import check_stage_or_version, root_option, stage_or_version_options


@click.command()
@click.argument("model", required=False)
@stage_or_version_options("Serve")
@click.option(
    "--release-assets",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Serve from a downloaded release's assets (model, signature.json, sample.json, "
    "SHA256SUMS; e.g. from `gh release download`), each checked against SHA256SUMS.",
)
@click.option(
    "--repository",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the MLServer model repository here and keep it; without MODEL, serve the "
    "repository already there (as an image does).",
)
@click.option(
    "--write-only",
    is_flag=True,
    help="Write the model repository (see --repository) and exit without serving.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface, e.g. in a container).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="HTTP port."
)
@click.option(
    "--grpc-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="gRPC port of the same protocol (0: any free port).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on this port (default: no metrics server).",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    help="Inference worker processes (0: in the server's process; default: deploy.workers).",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1, 10_000_000),
    help="Rows one request may carry; more is a 400 (default: 100,000).",
)
@click.option(
    "--log",
    "log",
    help="Log sampled requests and answers as Parquet to this directory or fsspec URL "
    "(default: deploy.log.path), for `mlops-ci monitor --current`.",
)
@click.option("--no-log", is_flag=True, help="Log nothing, whatever deploy.log.path says.")
@root_option()
def serve(  # noqa: PLR0917 - one parameter per option
    model: str | None,
    stage: str | None,
    version: str | None,
    release_assets: Path | None,
    repository: Path | None,
    write_only: bool,
    host: str,
    port: int,
    grpc_port: int,
    metrics_port: int | None,
    workers: int | None,
    max_rows: int | None,
    log: str | None,
    no_log: bool,
    root: Path,
) -> None:
    """Serve a released model over the Open Inference Protocol (V2 REST and gRPC) on
    MLServer: /v2/health/live, /v2/health/ready, /v2/models/MODEL and
    /v2/models/MODEL/infer. The model's sha256 is checked before it is loaded, and every
    request is checked against the release's signature (a wrong field is a 400 naming it).
    """
    from mlops_ci.adapters.mlserver import Listen
    from mlops_ci.commands.progress import command_job
    from mlops_ci.errors import InputError
    from mlops_ci.services.serve import ServeRequest, run_serve

    if release_assets is None:
        check_stage_or_version(stage, version)
    if model is None and repository is None:
        raise InputError("MODEL: expected a registered model (or --repository DIR to serve)")
    if model is None and write_only:
        raise InputError("--write-only: expected MODEL, the model whose repository to write")
    if release_assets is not None and model is None:
        raise InputError("--release-assets: expected MODEL, the model the assets are of")
    if release_assets is not None and version is None:
        raise InputError("--release-assets: expected --version vX.Y.Z, the version they are of")
    with command_job() as job:
        written = run_serve(
            ServeRequest(
                root=root,
                job=job,
                model=model,
                stage=stage,
                version=version,
                release_assets=release_assets,
                repository=repository,
                log=log,
                no_log=no_log,
                workers=workers,
                max_rows=max_rows,
                write_only=write_only,
            ),
            Listen(host, port, grpc_port, metrics_port),
        )
    if written is not None:
        echo(
            f"wrote the model repository of {written.model} {written.version} to "
            f"{written.root} (serve it with `mlserver start {written.root}` or "
            f"`mlops-ci serve --repository {written.root}`)"
        )
