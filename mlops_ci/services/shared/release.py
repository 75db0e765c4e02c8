"""Release a registered version: verify, gate, fetch, describe, publish.

`MODEL@vX.Y.Z` → the tag must be an annotated register tag of an active version →
the model's gates pass on that commit's own metrics → the model file comes through
DVC at that commit (or from git) and gets its sha256 (`services.shared.lineage`) →
the model card and release notes are rendered (`report.release`) → the assets are
written to a directory → with a GitHub token, the Release is created as a draft, the
assets uploaded, and then published. Every asset is a pure function of the commit and
the tag, so a re-run uploads nothing new: the adapter reuses equal assets and
completes drafts. Building the release calls `fetch_model` through this module's
name for it, so replacing `release.fetch_model` (a memo, a fake) covers every fetch.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.adapters.files import write_bytes_atomic
from mlops_ci.context import RunContext
from mlops_ci.core.registry import ArtifactState
from mlops_ci.core.tags import Action, SemVer, parse_tag
from mlops_ci.errors import DvcError, GateFailed, InputError, PolicyRefused
from mlops_ci.report.release import card_context, model_card, release_notes
from mlops_ci.services.shared.lineage import fetch_model, lineage_at, lock_output
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
    #: Why there is no `signature.json` (one line; "" when there is one or no model).
    signature_missing: str = ""
    prerelease: bool = False


def release_dirname(tag: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@=+-]", "_", tag)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")


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


def _params_at(reg: Registry, commit: str) -> dict[str, Any]:
    from mlops_ci.core.formats import parse_params

    params: dict[str, Any] = {}
    for path in reg.config.params.files:
        raw = reg.git.show_file(commit, path)
        if raw is not None:
            params[path] = parse_params(raw, path)
    return params


def _requirements_at(reg: Registry, commit: str) -> tuple[str, list[str]]:
    """The first requirements file at ``commit`` and its first 100 requirements."""
    for candidate in _REQUIREMENTS:
        raw = reg.git.show_file(commit, candidate)
        if raw is not None:
            lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines()]
            return candidate, [line for line in lines if line and not line.startswith("#")][:100]
    return "", []


def _add_model(reg: Registry, bundle: ReleaseBundle, lineage: Mapping[str, Any]) -> None:
    """The model file as an asset, or a DVC pointer to it when it is too big for one."""
    model_path, commit, directory = bundle.model_file, bundle.commit, bundle.directory
    name = model_path.rsplit("/", 1)[-1]
    out = lock_output(lineage, model_path)
    declared = out.get("size") if out else None
    if isinstance(declared, int) and declared >= ASSET_LIMIT:
        sha, size = fetch_model(reg, model_path, commit, None)
        bundle.pointer = True
    else:
        # Streamed to a temporary directory beside the assets, then renamed into place:
        # the asset is the whole model or absent, and a failed fetch leaves nothing.
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
            "get": f"dvc get <repository> {model_path} --rev {bundle.tag}",
        }
        _write_asset(bundle, f"{name}.dvc-pointer.json", _json_bytes(pointer))


def _write_asset(bundle: ReleaseBundle, name: str, data: bytes) -> None:
    write_bytes_atomic(bundle.directory / name, data)
    bundle.assets.append(bundle.directory / name)


def _add_signature(reg: Registry, bundle: ReleaseBundle) -> str:
    """`signature.json` and `sample.json` beside the model; else why not (one line)."""
    from mlops_ci.services.shared.signature import NoSignature, signature_at

    if bundle.pointer:
        return "the model is too large to ship, so it is not loaded here"
    model_file = bundle.directory / bundle.model_file.rsplit("/", 1)[-1]
    try:
        made = signature_at(
            reg, bundle.commit, bundle.model_file, model_file, target=reg.config.monitor.target
        )
    except NoSignature as exc:
        return str(exc)
    for name, data in made.files().items():
        _write_asset(bundle, name, data)
    return ""


def build_release(reg: Registry, tag: str, output: Path | None) -> ReleaseBundle:
    """Verify the tag and that its commit is reproducible from the DVC remote, check
    gates, fetch the model and write every asset to a directory."""
    from mlops_ci import __version__
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
    params = _params_at(reg, commit)
    lineage = lineage_at(reg, commit)

    directory = output or reg.root / ".mlops-ci" / "release" / release_dirname(tag)
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
        model_file=model_cfg.path or "",
        prerelease=SemVer.parse(version).is_prerelease,
    )
    if bundle.model_file:
        _add_model(reg, bundle, lineage)
        bundle.signature_missing = _add_signature(reg, bundle)

    requirements_file, requirements = _requirements_at(reg, commit)
    context = card_context(
        bundle,
        description=model_cfg.card.description or model_cfg.description,
        card=model_cfg.card,
        metrics=flat_metrics(metrics),
        params={f"{p}:{k}": v for p, data in params.items() for k, v in flatten(data).items()},
        gates=gates.results,
        gate_verdict=gates.verdict,
        lineage=lineage,
        requirements_file=requirements_file,
        requirements=requirements,
        tool_version=__version__,
    )
    _write_asset(bundle, "model-card.md", model_card(context).encode("utf-8"))
    _write_asset(bundle, "metrics.json", _json_bytes(metrics))
    _write_asset(bundle, "params.json", _json_bytes(params))
    _write_asset(bundle, "lineage.json", _json_bytes(lineage))
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in bundle.assets]
    _write_asset(bundle, "SHA256SUMS", "".join(sums).encode("utf-8"))
    bundle.notes = render_release_notes(reg, bundle, context)
    return bundle


def render_release_notes(
    reg: Registry, bundle: ReleaseBundle, context: Mapping[str, Any] | None = None
) -> str:
    """The release body: version, who registered it, stages it holds now, metrics."""
    artifact = reg.artifact(bundle.model)
    stages = artifact.stages_of(bundle.version) if artifact else []
    return release_notes(bundle, stages, context)


def release(
    root: Path,
    tag: str,
    *,
    dry_run: bool = False,
    output: Path | None = None,
    context: RunContext | None = None,
) -> dict[str, Any]:
    """Build the release of ``tag`` and publish it on GitHub when the run's ``context``
    has a token and a repository (without a context, the release is built locally)."""
    reg = open_registry(root)
    bundle = build_release(reg, tag, output)
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
    if bundle.signature_missing:
        result["signature_missing"] = bundle.signature_missing
        lines.append(f"signature missing: {bundle.signature_missing}")
    if dry_run:
        lines.append("dry run: nothing was published")
    elif context is None or context.token is None or not context.repository:
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
    reg: Registry, context: RunContext, outcome: TagOutcome, environment: str
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
        gh.set_deployment_status(deployment.id, "success", description=_status(outcome))
        info.update(deployment_id=deployment.id, deployment="created")
    notes = refresh_release_notes(gh, reg, model, version, outcome.commit, sha=sha)
    if notes is not None:
        info["release_notes"] = notes
    return info


def _status(outcome: TagOutcome) -> str:
    """The success status: the stage, and the promotion proof's figures when it ran."""
    from mlops_ci.services.shared.serve_proof import status_text

    text = f"{outcome.model} {outcome.version} is in {outcome.stage}"
    proof = outcome.extra.get("proof")
    if isinstance(proof, dict) and proof.get("requests"):
        text += f"; p95 {proof['p95_ms']:.1f} ms, {proof['throughput']:.0f} req/s"
    return status_text(text)


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
