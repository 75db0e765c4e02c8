"""Serving a released model over the Open Inference Protocol, on MLServer.

The version (a stage's holder, or a named one) is resolved in the registry, its model
fetched and checked (`services.shared.model_repository`), then loaded once here, so a
wrong file or a model that cannot score its own recorded sample fails before any port
opens, with one line. MLServer then serves the repository in this process until it is
stopped (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError, RefusedError

if TYPE_CHECKING:
    from mlops_ci.adapters.mlserver import Listen
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.shared.model_repository import ModelRepository


@dataclass
class ServeRequest:
    root: Path
    job: Job
    model: str | None = None
    stage: str | None = None
    version: str | None = None
    release_assets: Path | None = None
    repository: Path | None = None
    log: str | None = None
    no_log: bool = False
    workers: int | None = None
    #: Rows one request may carry (None: `core.inference.DEFAULT_MAX_ROWS`).
    max_rows: int | None = None
    write_only: bool = False


def build_repository(request: ServeRequest, dest: Path) -> ModelRepository:
    """The model repository of the requested version, written into ``dest``."""
    from mlops_ci.services.shared import model_repository as repo
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.versions import resolve_version

    if not request.model:
        raise InputError("MODEL: expected the name of a registered model")
    reg = open_registry(request.root)
    deploy = reg.config.deploy
    log_url = None if request.no_log else (request.log or deploy.log.path)
    if log_url and "://" not in log_url and not Path(log_url).is_absolute():
        # A relative log directory is the project's, wherever the server is started.
        log_url = str((request.root / log_url).resolve())
    log = deploy.log.model_copy(update={"path": log_url})
    if request.release_assets is not None:
        version = request.version or ""
        workers = deploy.workers if request.workers is None else request.workers
        return repo.from_release(
            request.release_assets,
            request.model,
            version,
            dest,
            log=log,
            workers=workers,
            max_rows=request.max_rows,
        )
    version, commit = resolve_version(reg, request.model, request.stage, request.version)
    return repo.write_model_repository(
        reg,
        request.model,
        version,
        commit,
        dest,
        log=log,
        workers=request.workers,
        max_rows=request.max_rows,
    )


def check_loads(served: ModelRepository, *, replay: bool = True) -> dict[str, Any]:
    """Load the model as the server will, and (with `replay`) score the release's
    recorded sample: a model that cannot answer its own sample is refused before a port
    opens."""
    from mlops_ci.adapters.released_model import load_model, verify
    from mlops_ci.core.inference import sample_problem
    from mlops_ci.core.signature import Signature

    verify(served.model_file, served.sha256)
    signature_file = served.directory / "signature.json"
    try:
        signature = Signature.from_dict(served.signature())
    except (OSError, ValueError) as exc:  # JSON and SignatureError are ValueErrors
        raise InputError(
            f"{signature_file}: expected the release's signature: {exc}", file=str(signature_file)
        ) from None
    loaded = load_model(served.model_file, signature)
    # A repository made by hand may carry no sample: then there is nothing to replay.
    has_sample = (served.directory / "sample.json").is_file()
    rows = (served.sample().get("rows") or []) if has_sample and replay else []
    if not rows:
        return {"sample_rows": 0}
    columns = {name: [r["inputs"][name] for r in rows] for name in signature.names}
    predictions, proba = loaded.score(columns)
    problem = sample_problem(rows, predictions, proba)
    if problem is not None:
        raise RefusedError(
            f"{served.model}@{served.version}: the loaded model does not reproduce the "
            f"release's sample: {problem}",
            hint="the runtime's libraries differ from the training environment's",
        )
    return {"sample_rows": len(rows)}


def run_serve(request: ServeRequest, listen: Listen) -> ModelRepository | None:
    """Write the repository (kept when `request.repository` is given) and serve it,
    unless `write_only`; returns the repository written, or None after serving."""
    from mlops_ci.adapters.mlserver import serve_repository
    from mlops_ci.services.shared.model_repository import read_model_repository

    if request.repository is not None and request.model is None:
        # An already-written repository (an image's, or the promotion proof's): each
        # model's bytes are checked and loaded before any port opens (MLServer would log
        # a refused model and serve nothing). Replaying the sample is the proof's part.
        for written in read_model_repository(request.repository):
            check_loads(written, replay=False)
        serve_repository(request.repository, listen, workers=request.workers)
        return None
    if request.write_only:
        if request.repository is None:
            raise InputError("--write-only: expected --repository DIR to write to")
        served = build_repository(request, request.repository)
        check_loads(served)
        return served
    with tempfile.TemporaryDirectory(prefix="mlops-ci-serve-") as tmp:
        dest = request.repository or Path(tmp)
        served = build_repository(request, dest)
        check_loads(served)
        request.job.progress.line(
            f"serving {served.model} {served.version} (sha256 {served.sha256[:12]}) at "
            f"http://{listen.host}:{listen.http_port}/v2/models/{served.model}/infer"
        )
        serve_repository(dest, listen, workers=request.workers)
    return None
