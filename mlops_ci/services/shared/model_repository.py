"""The model repository a server loads: a released version's model, checked, and its
signature, laid out as MLServer reads it.

    DEST/settings.json                    the server (ports, workers; no metrics port)
    DEST/MODEL/model-settings.json        our runtime, the model's sha256 and version
    DEST/MODEL/<model file>               the exact bytes of the release
    DEST/MODEL/signature.json             what a request must carry
    DEST/MODEL/sample.json                rows and the outputs the release recorded

The model comes either from the registry (the version's commit, fetched through git or
DVC, its MD5 checked against `dvc.lock` there and, when the release was built here,
its sha256 against the release's `SHA256SUMS`), or from a downloaded release's assets
(`from_release`), each checked against `SHA256SUMS`. The runtime checks the sha256
again when it loads, so an image or a volume with other bytes refuses to serve.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.adapters.files import write_atomic, write_bytes_atomic
from mlops_ci.errors import InputError, RefusedError

if TYPE_CHECKING:
    from mlops_ci.config import InferenceLogConfig
    from mlops_ci.services.shared.registry import Registry

RUNTIME = "mlops_ci.adapters.serving_runtime.ReleasedModel"
#: Release assets that are never the model itself.
_NOT_MODEL = frozenset(
    {
        "signature.json",
        "sample.json",
        "model-card.md",
        "metrics.json",
        "params.json",
        "lineage.json",
        "SHA256SUMS",
    }
)


class CannotServe(InputError):
    """The version has no signature to check requests against (one line why)."""


@dataclass
class ModelRepository:
    """A written model repository and what it serves."""

    root: Path
    model: str
    version: str
    model_file: Path
    sha256: str

    @property
    def directory(self) -> Path:
        return self.model_file.parent

    def sample(self) -> dict[str, Any]:
        return dict(json.loads((self.directory / "sample.json").read_text("utf-8")))

    def signature(self) -> dict[str, Any]:
        return dict(json.loads((self.directory / "signature.json").read_text("utf-8")))


def directory_name(model: str) -> str:
    """A directory name for a model name (GTO names may hold `/` and `:`)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", model) or "model"


def _settings(dest: Path, repo: ModelRepository, extra: dict[str, Any], workers: int) -> None:
    server = {
        "http_port": 8080,
        "grpc_port": 8081,
        "metrics_endpoint": "/metrics",
        "metrics_port": 8082,
        "parallel_workers": workers,
        "debug": False,
    }
    write_atomic(dest / "settings.json", json.dumps(server, indent=2) + "\n")
    model_settings = {
        "name": repo.model,
        "implementation": RUNTIME,
        "versions": [repo.version],
        "platform": extra["format"],
        "parameters": {"uri": f"./{repo.model_file.name}", "version": repo.version, "extra": extra},
    }
    text = json.dumps(model_settings, indent=2) + "\n"
    write_atomic(repo.directory / "model-settings.json", text)


def _extra(repo: ModelRepository, log: InferenceLogConfig | None, max_rows: int) -> dict[str, Any]:
    from mlops_ci.adapters.released_model import model_format

    extra: dict[str, Any] = {
        "sha256": repo.sha256,
        "format": model_format(repo.model_file),
        "signature": "signature.json",
        "max_rows": max_rows,
    }
    if log is not None and log.path:
        extra["log"] = log.model_dump()
    return extra


def _release_dir(reg: Registry, tag: str) -> Path:
    from mlops_ci.services.shared.release import release_dirname

    return reg.root / ".mlops-ci" / "release" / release_dirname(tag)


def _release_sums(reg: Registry, tag: str) -> dict[str, str]:
    """The sha256 per asset of a release built in this checkout (empty if none)."""
    sums = _release_dir(reg, tag) / "SHA256SUMS"
    return read_sums(sums) if sums.is_file() else {}


def _recorded(reg: Registry, tag: str) -> dict[str, bytes] | None:
    """The signature and sample the release of ``tag`` recorded, when it was built in
    this checkout (as the promote workflow does just before): what the server must
    answer is what the release recorded, not what this machine computes today."""
    sums = _release_sums(reg, tag)
    if "signature.json" not in sums or "sample.json" not in sums:
        return None
    out: dict[str, bytes] = {}
    for name in ("signature.json", "sample.json"):
        data = (_release_dir(reg, tag) / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != sums[name]:
            raise RefusedError(f"{tag}: the release's {name} differs from its SHA256SUMS")
        out[name] = data
    return out


def read_sums(path: Path) -> dict[str, str]:
    """`SHA256SUMS` as {file name: sha256}."""
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not name:
            raise InputError(f"{path}:{number}: expected `<sha256>  <file name>`", file=str(path))
        out[name.strip()] = digest
    return out


def read_model_repository(root: Path) -> list[ModelRepository]:
    """The models our runtime serves in a repository written before (each
    `model-settings.json` under ``root`` naming it), so they are checked before a server
    starts: MLServer logs a model that fails to load and goes on serving nothing."""
    where = f"--repository {root}"
    if not root.is_dir():
        raise InputError(f"{where}: not a directory", file=str(root))
    found: list[ModelRepository] = []
    settings_files = sorted(root.rglob("model-settings.json"))
    for settings_file in settings_files:
        try:
            data = json.loads(settings_file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(
                f"{settings_file}: not readable JSON: {exc}", file=str(settings_file)
            ) from None
        if not isinstance(data, dict) or data.get("implementation") != RUNTIME:
            continue  # another runtime's model: MLServer checks it
        parameters = data.get("parameters") or {}
        extra = parameters.get("extra") or {}
        uri, sha256 = parameters.get("uri"), extra.get("sha256")
        if not isinstance(uri, str) or not uri:
            raise InputError(f"{settings_file}: parameters.uri: expected the model file's path")
        if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
            raise InputError(
                f"{settings_file}: parameters.extra.sha256: expected the model file's sha256"
            )
        model_file = settings_file.parent / uri
        if not model_file.is_file():
            raise InputError(f"{settings_file}: parameters.uri: {model_file} is not a file")
        name = str(data.get("name") or settings_file.parent.name)
        version = str(parameters.get("version") or "")
        found.append(ModelRepository(root, name, version, model_file, sha256))
    if not settings_files:
        raise InputError(
            f"{where}: no model-settings.json: expected a model repository",
            hint="write one with `mlops-ci serve MODEL --write-only --repository DIR`",
        )
    return found


def check_lock_md5(reg: Registry, path: str, commit: str, staged: Path) -> None:
    """Refuse a fetched model file whose MD5 is not what `dvc.lock` records at
    ``commit``: the DVC cache or remote held other bytes than the commit promised."""
    from mlops_ci.services.shared.lineage import lineage_at, lock_output

    recorded = lock_output(lineage_at(reg, commit), path)
    expected = str(recorded.get("hash") or "") if recorded else ""
    if expected.startswith("md5:") and not expected.endswith(".dir"):
        with staged.open("rb") as handle:
            digest = hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False))
        if digest.hexdigest() != expected.removeprefix("md5:"):
            raise RefusedError(
                f"{path} at {commit[:12]}: MD5 {digest.hexdigest()} differs from {expected} "
                "in dvc.lock",
                hint="the DVC cache or remote holds other bytes than the commit recorded",
            )


def write_model_repository(
    reg: Registry,
    model: str,
    version: str,
    commit: str,
    dest: Path,
    *,
    log: InferenceLogConfig | None = None,
    workers: int | None = None,
    max_rows: int | None = None,
) -> ModelRepository:
    """Write the repository of ``model`` at ``version`` (its ``commit``) into ``dest``."""
    from mlops_ci.core.inference import DEFAULT_MAX_ROWS
    from mlops_ci.services.shared.lineage import fetch_model
    from mlops_ci.services.shared.signature import NoSignature, signature_at

    path = reg.model_config(model).path
    if not path:
        raise InputError(f"mlops-ci.yaml: models.{model}.path: expected the model file's path")
    directory = dest / directory_name(model)
    directory.mkdir(parents=True, exist_ok=True)
    model_file = directory / path.rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        staged = Path(tmp) / model_file.name
        sha, _ = fetch_model(reg, path, commit, staged)
        check_lock_md5(reg, path, commit, staged)
        released = _release_sums(reg, f"{model}@{version}").get(model_file.name)
        if released and released != sha:
            raise RefusedError(
                f"{path} at {commit[:12]}: sha256 {sha} differs from the release's {released}"
            )
        assets = _recorded(reg, f"{model}@{version}")
        if assets is None:
            try:
                made = signature_at(reg, commit, path, staged, target=reg.config.monitor.target)
            except NoSignature as exc:
                raise CannotServe(
                    f"{model}@{version}: no signature to check requests against: {exc}",
                    hint="the server needs the training data its signature is made from",
                ) from None
            assets = made.files()
        shutil.move(str(staged), model_file)
    for name, data in assets.items():
        write_bytes_atomic(directory / name, data)
    repo = ModelRepository(dest, model, version, model_file, sha)
    deploy = reg.config.deploy
    _settings(
        dest,
        repo,
        _extra(repo, log, max_rows or DEFAULT_MAX_ROWS),
        deploy.workers if workers is None else workers,
    )
    return repo


def from_release(
    assets: Path,
    model: str,
    version: str,
    dest: Path,
    *,
    log: InferenceLogConfig | None = None,
    workers: int = 1,
    max_rows: int | None = None,
) -> ModelRepository:
    """The repository from a downloaded release's assets, each checked against its
    `SHA256SUMS` (the model, `signature.json`, `sample.json`)."""
    from mlops_ci.adapters.released_model import sha256_of
    from mlops_ci.core.inference import DEFAULT_MAX_ROWS

    sums_file = assets / "SHA256SUMS"
    if not sums_file.is_file():
        raise InputError(f"{assets}: no SHA256SUMS: expected a release's assets", file=str(assets))
    sums = read_sums(sums_file)
    models = [n for n in sums if n not in _NOT_MODEL and not n.endswith(".dvc-pointer.json")]
    if len(models) != 1:
        raise InputError(
            f"{sums_file}: expected exactly one model file among the assets, found "
            f"{', '.join(models) or 'none'}",
            file=str(sums_file),
        )
    for name in (models[0], "signature.json", "sample.json"):
        if name not in sums or not (assets / name).is_file():
            raise InputError(f"{assets}: {name} is missing from the release's assets")
        actual = sha256_of(assets / name)
        if actual != sums[name]:
            raise RefusedError(f"{assets / name}: sha256 {actual} differs from SHA256SUMS")
    directory = dest / directory_name(model)
    directory.mkdir(parents=True, exist_ok=True)
    for name in (models[0], "signature.json", "sample.json"):
        shutil.copyfile(assets / name, directory / name)
    repo = ModelRepository(dest, model, version, directory / models[0], sums[models[0]])
    _settings(dest, repo, _extra(repo, log, max_rows or DEFAULT_MAX_ROWS), workers)
    return repo
