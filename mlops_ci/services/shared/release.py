"""Release a registered version: verify, gate, fetch, describe, publish.

`MODEL@vX.Y.Z` → the tag must be an annotated register tag of an active version →
the model's gates pass on that commit's own metrics → the model file comes through
DVC at that commit (or from git) and gets its sha256 → the model card and release
notes are rendered (sandboxed Jinja2) → the assets are written to a directory →
with a GitHub token, the Release is created as a draft, the assets uploaded, and
then published. Every asset is a pure function of the commit and the tag, so a
re-run uploads nothing new: the adapter reuses equal assets and completes drafts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.core.registry import ArtifactState
from mlops_ci.core.tags import Action, SemVer, parse_tag
from mlops_ci.errors import DvcError, GateFailed, InputError, PolicyRefused
from mlops_ci.services.shared.registry import (
    GateCheck,
    Registry,
    TagOutcome,
    check_gates,
    flat_metrics,
    open_registry,
    read_metrics_at,
)

#: GitHub refuses release assets of 2 GiB or more; larger models ship as a DVC pointer.
ASSET_LIMIT = 2 * 1024**3
_CHUNK = 1 << 20
_REQUIREMENTS = ("requirements.txt", "requirements.lock", "environment.yml")


@dataclass
class ReleaseBundle:
    """Everything a release carries, built from the commit and the tag alone."""

    tag: str
    model: str
    version: str
    commit: str
    tagger: str
    date: str
    directory: Path
    assets: list[Path] = field(default_factory=list)
    gates: GateCheck | None = None
    model_file: str = ""
    model_sha256: str = ""
    model_size: int = 0
    pointer: bool = False
    notes: str = ""
    prerelease: bool = False


def _safe_dirname(tag: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@=+-]", "_", tag)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


def _size_text(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


# --- templates ------------------------------------------------------------------------


def _render(template: str, context: Mapping[str, Any]) -> str:
    from mlops_ci.report.render import render_packaged

    return render_packaged(template, context, text_limit=2000)


# --- reading the commit -----------------------------------------------------------------


def _yaml(raw: bytes | None) -> Any:
    if raw is None:
        return None
    import yaml

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return None


def _hash_of(entry: Mapping[str, Any]) -> str:
    for key in ("md5", "etag", "checksum", "hash"):
        value = entry.get(key)
        if isinstance(value, str) and key != "hash":
            return f"{key}:{value}"
    return ""


def lineage_at(reg: Registry, commit: str) -> dict[str, Any]:
    """Stages and data dependencies (with hashes) from `dvc.lock` and `.dvc` files."""
    stages: list[dict[str, Any]] = []
    data: dict[str, dict[str, Any]] = {}
    lock = _yaml(reg.git.show_file(commit, "dvc.lock"))
    outs_of: set[str] = set()
    if isinstance(lock, dict) and isinstance(lock.get("stages"), dict):
        for name, stage in lock["stages"].items():
            if not isinstance(stage, dict):
                continue
            deps = [d for d in stage.get("deps") or [] if isinstance(d, dict) and "path" in d]
            outs = [o for o in stage.get("outs") or [] if isinstance(o, dict) and "path" in o]
            outs_of.update(str(o["path"]) for o in outs)
            stages.append(
                {
                    "name": str(name),
                    "cmd": stage.get("cmd")
                    if isinstance(stage.get("cmd"), str)
                    else " && ".join(map(str, stage.get("cmd") or [])),
                    "deps": [
                        {"path": str(d["path"]), "hash": _hash_of(d), "size": d.get("size")}
                        for d in deps
                    ],
                    "outs": [
                        {"path": str(o["path"]), "hash": _hash_of(o), "size": o.get("size")}
                        for o in outs
                    ],
                    "params": stage.get("params") or {},
                }
            )
            for dep in deps:
                entry = data.setdefault(
                    str(dep["path"]),
                    {
                        "path": str(dep["path"]),
                        "hash": _hash_of(dep),
                        "size": dep.get("size"),
                        "stages": [],
                    },
                )
                entry["stages"].append(str(name))
    for path in reg.git.list_files(commit):
        if not path.endswith(".dvc"):
            continue
        meta = _yaml(reg.git.show_file(commit, path))
        if not isinstance(meta, dict):
            continue
        prefix = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        for out in meta.get("outs") or []:
            if isinstance(out, dict) and "path" in out:
                full = prefix + str(out["path"])
                entry = data.setdefault(
                    full,
                    {"path": full, "hash": _hash_of(out), "size": out.get("size"), "stages": []},
                )
                entry["tracked_by"] = path
                entry["hash"] = entry["hash"] or _hash_of(out)
    # Data = dependencies that are not code; a pipeline's own outputs stay listed with
    # their producing stage so the chain can be followed.
    code_suffixes = (".py", ".ipynb", ".R", ".sh", ".sql", ".js", ".ts")
    deps = [d for d in data.values() if not d["path"].endswith(code_suffixes)]
    return {
        "commit": commit,
        "stages": stages,
        "data": sorted(deps, key=lambda d: d["path"]),
        "pipeline_outputs": sorted(outs_of),
    }


def _lock_out(lineage: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    for stage in lineage["stages"]:
        for out in stage["outs"]:
            if out["path"] == path:
                found: Mapping[str, Any] = out
                return found
    for dep in lineage["data"]:
        if dep["path"] == path:
            return dep  # type: ignore[no-any-return]
    return None


def _copy_hashing(source: Iterable[bytes], dest: Path | None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    handle = dest.open("wb") if dest is not None else None
    try:
        for chunk in source:
            digest.update(chunk)
            size += len(chunk)
            if handle is not None:
                handle.write(chunk)
    finally:
        if handle is not None:
            handle.close()
    return digest.hexdigest(), size


def _chunks(stream: Any) -> Iterable[bytes]:
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def fetch_model(reg: Registry, path: str, commit: str, dest: Path | None) -> tuple[str, int]:
    """Stream the model file at ``commit`` to ``dest`` (None: hash only); (sha256, size).

    A file committed to git is read from git; a DVC output through DVC's API at that
    revision (local cache first, then the remote).
    """
    raw = reg.git.show_file(commit, path)
    if raw is not None:
        return _copy_hashing([raw], dest)
    try:
        import dvc.api
    except ImportError as exc:  # pragma: no cover - dvc is a dependency
        raise DvcError("DVC is not installed: cannot fetch the model") from exc
    try:
        with dvc.api.open(path, repo=str(reg.root), rev=commit, mode="rb") as stream:
            return _copy_hashing(_chunks(stream), dest)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DvcError(
            f"cannot fetch {path} at {commit[:12]} through DVC: {first}",
            hint="check the DVC remote and credentials (`dvc pull` must work here)",
        ) from None


# --- building the release -----------------------------------------------------------------


def _resolve(reg: Registry, tag: str) -> tuple[str, str, ArtifactState]:
    parsed = parse_tag(tag)
    if parsed is None or parsed.action is not Action.REGISTER or parsed.version is None:
        raise InputError(f"{tag!r} is not a version tag: expected MODEL@vX.Y.Z")
    if parsed.counter is not None:
        raise InputError(f"{tag!r}: a version tag has no counter")
    artifact = reg.artifact(parsed.artifact)
    record = next((r for r in reg.records if r.name == tag), None)
    if record is None:
        raise InputError(f"tag {tag!r} does not exist", hint="register it first, and fetch tags")
    if record.object_type != "tag":
        raise PolicyRefused(f"tag {tag!r} is a lightweight tag; registry tags are annotated")
    if artifact is None or parsed.version not in artifact.versions:
        raise InputError(f"tag {tag!r} is not in the registry")  # pragma: no cover
    if not artifact.versions[parsed.version].active:
        raise PolicyRefused(f"{parsed.artifact}@{parsed.version} was deregistered")
    return parsed.artifact, parsed.version, artifact


def ensure_reproducible(root: Path, rev: str, what: str) -> None:
    """Refuse (PolicyRefused) unless ``rev`` can be reproduced from the DVC remote.

    Every cached output its `dvc.lock` and `.dvc` files record must be in the remote,
    and every git-tracked metrics file must match the hash `dvc.lock` records
    (`services.verify`). A repository without DVC outputs passes.
    """
    from mlops_ci.services.shared.verify import verify

    result = verify(root, rev)
    if not result.ok:
        raise PolicyRefused(
            f"{what}: {result.summary()}",
            hint=f"check out {result.commit[:12]}, run `dvc repro` if needed, and `dvc push`; "
            "then run again (`mlops-ci verify --ref REV` checks it)",
        )


def build_release(reg: Registry, tag: str, output: Path | None) -> ReleaseBundle:
    """Verify the tag and that its commit is reproducible from the DVC remote, check
    gates, fetch the model and write every asset to a directory."""
    from mlops_ci import __version__
    from mlops_ci.core.formats import parse_params
    from mlops_ci.core.metrics import flatten

    model, version, artifact = _resolve(reg, tag)
    state = artifact.versions[version]
    event = state.registration
    assert event is not None
    commit = state.commit
    ensure_reproducible(reg.root, tag, f"release of {tag} refused")
    metrics = read_metrics_at(reg, model, commit)
    gates = check_gates(reg, model, metrics)
    if gates.failures:
        raise GateFailed(f"{tag}: gates failed: " + "; ".join(gates.failures))
    model_cfg = reg.model_config(model)
    params: dict[str, Any] = {}
    for path in reg.config.params.files:
        raw = reg.git.show_file(commit, path)
        if raw is not None:
            params[path] = parse_params(raw, path)
    lineage = lineage_at(reg, commit)

    directory = output or reg.root / ".mlops-ci" / "release" / _safe_dirname(tag)
    directory.mkdir(parents=True, exist_ok=True)
    bundle = ReleaseBundle(
        tag=tag,
        model=model,
        version=version,
        commit=commit,
        tagger=f"{event.tagger_name} <{event.tagger_email}>".strip(),
        date=event.time.isoformat(),
        directory=directory,
        gates=gates,
        prerelease=SemVer.parse(version).is_prerelease,
    )

    model_path = model_cfg.path
    if model_path:
        name = model_path.rsplit("/", 1)[-1]
        bundle.model_file = model_path
        out = _lock_out(lineage, model_path)
        declared = out.get("size") if out else None
        if isinstance(declared, int) and declared >= ASSET_LIMIT:
            sha, size = fetch_model(reg, model_path, commit, None)
            bundle.pointer = True
        else:
            with tempfile.TemporaryDirectory(dir=directory) as tmp:
                staged = Path(tmp) / name
                sha, size = fetch_model(reg, model_path, commit, staged)
                if size >= ASSET_LIMIT:
                    bundle.pointer = True
                else:
                    os.replace(staged, directory / name)
                    bundle.assets.append(directory / name)
        bundle.model_sha256, bundle.model_size = sha, size
        if bundle.pointer:
            pointer = {
                "path": model_path,
                "commit": commit,
                "sha256": sha,
                "size": size,
                "dvc_hash": out.get("hash") if out else None,
                "get": f"dvc get <repository> {model_path} --rev {tag}",
            }
            target = directory / f"{name}.dvc-pointer.json"
            _atomic_write(target, _json_bytes(pointer))
            bundle.assets.append(target)

    flat = flat_metrics(metrics)
    flat_params = {f"{p}:{k}": v for p, data in params.items() for k, v in flatten(data).items()}
    requirements_file, requirements = "", []
    for candidate in _REQUIREMENTS:
        raw = reg.git.show_file(commit, candidate)
        if raw is not None:
            requirements_file = candidate
            requirements = [
                line.strip()
                for line in raw.decode("utf-8", "replace").splitlines()
                if line.strip() and not line.strip().startswith("#")
            ][:100]
            break
    context = {
        "model": model,
        "version": version,
        "commit": commit,
        "commit_short": commit[:12],
        "tag": tag,
        "date": bundle.date,
        "tagger": bundle.tagger,
        "description": model_cfg.card.description or model_cfg.description,
        "intended_use": model_cfg.card.intended_use,
        "limitations": model_cfg.card.limitations,
        "owners": model_cfg.card.owners,
        "model_file": model_path or "(no model path configured)",
        "model_size_text": _size_text(bundle.model_size)
        + (" — DVC pointer" if bundle.pointer else ""),
        "model_sha256": bundle.model_sha256 or "-",
        "metrics": sorted(flat.items()),
        "params": sorted(
            (k, json.dumps(v) if not isinstance(v, str) else v) for k, v in flat_params.items()
        ),
        "gates": gates.results,
        "gate_verdict": gates.verdict,
        "data": [{**d, "size_text": _size_text(d.get("size"))} for d in lineage["data"]],
        "stages": lineage["stages"],
        "requirements": requirements,
        "requirements_file": requirements_file,
        "tool_version": __version__,
    }
    files = {
        "model-card.md": _render("model_card.md.j2", context).encode("utf-8"),
        "metrics.json": _json_bytes(metrics),
        "params.json": _json_bytes(params),
        "lineage.json": _json_bytes(lineage),
    }
    for name, data in files.items():
        _atomic_write(directory / name, data)
        bundle.assets.append(directory / name)
    sums = "".join(
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in bundle.assets
    )
    _atomic_write(directory / "SHA256SUMS", sums.encode("utf-8"))
    bundle.assets.append(directory / "SHA256SUMS")
    bundle.notes = render_release_notes(reg, bundle, context)
    return bundle


def render_release_notes(
    reg: Registry, bundle: ReleaseBundle, context: Mapping[str, Any] | None = None
) -> str:
    """The release body: version, who registered it, stages it holds now, metrics."""
    artifact = reg.artifact(bundle.model)
    stages = artifact.stages_of(bundle.version) if artifact else []
    base = dict(context or {})
    base.update(
        {
            "model": bundle.model,
            "version": bundle.version,
            "commit": bundle.commit,
            "date": bundle.date,
            "tagger": bundle.tagger,
            "stages": stages,
            "model_file": bundle.model_file or "-",
            "model_sha256": bundle.model_sha256 or "-",
        }
    )
    base.setdefault("metrics", [])
    base.setdefault("gates", [])
    base.setdefault("gate_verdict", "none")
    return _render("release_notes.md.j2", base)


def release(
    root: Path,
    tag: str,
    *,
    dry_run: bool = False,
    output: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the release of ``tag`` and publish it on GitHub when a token is available."""
    from mlops_ci.context import RunContext

    env = os.environ if env is None else env
    reg = open_registry(root)
    bundle = build_release(reg, tag, output)
    context = RunContext.from_environ(env)
    result: dict[str, Any] = {
        "tag": tag,
        "model": bundle.model,
        "version": bundle.version,
        "commit": bundle.commit,
        "sha256": bundle.model_sha256,
        "pointer": bundle.pointer,
        "directory": str(bundle.directory),
        "assets": [p.name for p in bundle.assets],
        "gates": bundle.gates.verdict if bundle.gates else "none",
        "published": False,
    }
    lines = [
        f"{tag}: commit {bundle.commit[:12]}, gates {result['gates']}, "
        f"model sha256 {bundle.model_sha256 or '-'}",
        f"assets written to {bundle.directory}: {', '.join(result['assets'])}",
    ]
    if dry_run:
        lines.append("dry run: nothing was published")
    elif context.token is None or not context.repository:
        lines.append("no GitHub token and repository: the release was built locally only")
    else:
        from mlops_ci.adapters.github import GitHubRepo

        gh = GitHubRepo.for_run(context)
        published = gh.publish(
            tag,
            name=f"{bundle.model} {bundle.version}",
            body=bundle.notes,
            assets=bundle.assets,
            target_commitish=bundle.commit,
            prerelease=bundle.prerelease,
        )
        result.update(
            published=True,
            url=published.url,
            release_id=published.id,
            uploads={a.name: a.action for a in published.assets},
        )
        lines.append(f"published {published.url}")
    result["lines"] = lines
    return result


def record_stage_on_github(
    reg: Registry, context: Any, outcome: TagOutcome, environment: str
) -> dict[str, Any]:
    """A Deployment of the stage tag to ``environment`` (success), and fresh release notes.

    Re-running for a stage tag that was already deployed reuses that deployment.
    """
    from mlops_ci.adapters.github import GitHubRepo

    gh = GitHubRepo.for_run(context)
    reg.refresh()
    model, version = outcome.model, outcome.version or ""
    version_tag = f"{model.replace(':', '=')}@{version}"
    info: dict[str, Any] = {"environment": environment}
    sha = model_sha256_at(reg, model, outcome.commit)
    latest = gh.latest_deployment(environment)
    if latest is not None and latest.sha == outcome.commit and latest.state == "success":
        info.update(deployment_id=latest.id, deployment="reused")
    elif latest is not None and latest.sha == outcome.commit and latest.state is None:
        # An earlier run created it and failed before its status: complete that one.
        gh.set_deployment_status(
            latest.id, "success", description=f"{model} {version} is in {outcome.stage}"
        )
        info.update(deployment_id=latest.id, deployment="completed")
    else:
        payload = {
            "model": model,
            "version": version,
            "tag": outcome.tag,
            "version_tag": version_tag,
            "sha256": sha,
            "stage": outcome.stage,
        }
        # The commit, not the tag name, is the ref: it resolves on every GitHub.
        deployment = gh.create_deployment(
            outcome.commit,
            environment,
            payload=payload,
            description=f"{model} {version} to {outcome.stage}",
        )
        gh.set_deployment_status(
            deployment.id, "success", description=f"{model} {version} is in {outcome.stage}"
        )
        info.update(deployment_id=deployment.id, deployment="created")
    notes = refresh_release_notes(gh, reg, model, version, outcome.commit, sha=sha)
    if notes is not None:
        info["release_notes"] = notes
    return info


def model_sha256_at(reg: Registry, model: str, commit: str) -> str:
    """The sha256 of the model file at ``commit`` ("" when there is none or DVC cannot
    fetch it: a deployment still records the tag, and the release has the file)."""
    model_path = reg.model_config(model).path
    if not model_path:
        return ""
    try:
        sha, _ = fetch_model(reg, model_path, commit, None)
    except DvcError:
        return ""
    return sha


def refresh_release_notes(
    gh: Any, reg: Registry, model: str, version: str, commit: str, *, sha: str | None = None
) -> str | None:
    """Rewrite the notes of the version's GitHub Release from the registry as it is now
    (the stages it holds); the release's URL, or None when the version has no release."""
    version_tag = f"{model.replace(':', '=')}@{version}"
    release_info = gh.find_release(version_tag)
    if release_info is None:
        return None
    if sha is None:
        sha = model_sha256_at(reg, model, commit)
    artifact = reg.artifact(model)
    state = artifact.versions.get(version) if artifact else None
    reg_event = state.registration if state else None
    bundle = ReleaseBundle(
        tag=version_tag,
        model=model,
        version=version,
        commit=commit,
        tagger=(f"{reg_event.tagger_name} <{reg_event.tagger_email}>" if reg_event else ""),
        date=reg_event.time.isoformat() if reg_event else "",
        directory=reg.root,
        model_file=reg.model_config(model).path or "",
        model_sha256=sha,
    )
    gh.update_release_notes(release_info.id, render_release_notes(reg, bundle))
    url: str = release_info.url
    return url
