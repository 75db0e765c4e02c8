"""`mlops-ci on-merge`: keep the default branch reproducible and register what it made.

On a push to the default branch: `dvc pull` (per `pipeline.pull`) → the pipeline
(`pipeline.run`, `dvc repro` by default, which reproduces only what changed) → a stale
`dvc.lock` fails the run with the fix (nothing may be committed to the default branch)
→ `dvc push` the outputs when `pipeline.push` allows it → for each model with
`register: on-merge` whose gates pass on HEAD's own metrics, register the next version
by its `bump` rule and push that one tag. HEAD already carrying a version of a model
means a re-run: nothing is written.

Tags pushed with the job's token start no workflow, so `--release` releases each new
version in the same run instead of waiting for a release-on-tag workflow (and, on a
re-run, the version HEAD already carries: a run that registered but failed to release is
completed; an existing release is reused, never duplicated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.adapters.git import Git
from mlops_ci.errors import InputError, PolicyRefused
from mlops_ci.services.shared.job import Job

if TYPE_CHECKING:
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.config import Config, ModelConfig
    from mlops_ci.services.shared.registry import Registry

Status = Literal["registered", "already-registered", "gates-failed", "manual", "dry-run"]


@dataclass
class ModelOutcome:
    """What on-merge did for one model."""

    model: str
    status: Status
    version: str | None = None
    tag: str | None = None
    pushed: bool = False
    reason: str = ""
    gates: list[dict[str, Any]] = field(default_factory=list)
    release: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": self.status,
            "version": self.version,
            "tag": self.tag,
            "pushed": self.pushed,
            "reason": self.reason,
            "gates": self.gates,
            "release": self.release,
        }


@dataclass
class OnMergeResult:
    """The whole run: pipeline, lock, outputs and registrations."""

    commit: str
    branch: str
    pulled: bool = False
    ran: str | None = None
    lock: str = "not checked"
    outputs_pushed: bool = False
    push_note: str = ""
    models: list[ModelOutcome] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "branch": self.branch,
            "pulled": self.pulled,
            "pipeline": self.ran,
            "lock": self.lock,
            "outputs_pushed": self.outputs_pushed,
            "push_note": self.push_note,
            "models": [m.as_dict() for m in self.models],
        }

    @property
    def registered(self) -> list[ModelOutcome]:
        return [m for m in self.models if m.status == "registered"]


def on_merge(
    root: Path,
    job: Job,
    *,
    run: bool = True,
    release: bool = False,
    dry_run: bool = False,
) -> OnMergeResult:
    """Reproduce, check the lock, push outputs, and register on-merge models at HEAD."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.config import load_config

    context = job.context
    git = Git(root)
    if not git.is_repo():
        raise InputError(f"{root}: not a git repository", hint="run inside your project's clone")
    config = load_config(root).config
    branch = config.default_branch or context.default_branch or git.default_branch()
    if context.ref.startswith("refs/heads/") and context.ref_name != branch:
        raise InputError(
            f"on-merge runs on pushes to the default branch {branch!r}, not {context.ref_name!r}",
            hint="trigger the workflow with `on: push: branches: [<default branch>]`",
        )
    result = OnMergeResult(commit=git.current_sha(), branch=branch)
    if run and (root / "dvc.yaml").is_file():
        _reproduce(root, config, Dvc(root), result, job, dry_run=dry_run)
    elif not run:
        result.lines.append("pipeline not run (--no-run)")
    _register_models(root, config, result, job, release=release, dry_run=dry_run)
    return result


def _reproduce(
    root: Path, config: Config, dvc: Dvc, result: OnMergeResult, job: Job, *, dry_run: bool
) -> None:
    from mlops_ci.services.shared.lock import check_lock, may_push_outputs
    from mlops_ci.services.shared.pipeline import run_pipeline

    sink, group = job.progress.line, job.progress.group
    outcome = run_pipeline(config, dvc, sink=sink, group=group)
    result.pulled, result.ran = outcome.pulled, config.pipeline.run
    result.lines.append(
        f"pipeline `{config.pipeline.run}` ran"
        + (" after dvc pull" if outcome.pulled else "")
        + (f" in {outcome.seconds:.1f} s" if outcome.seconds is not None else "")
    )
    if config.pipeline.lock != "off" and (root / "dvc.lock").is_file():
        status = check_lock(root)
        if status.stale:
            result.lock = "stale"
            raise PolicyRefused(
                f"{status.describe()}; on-merge cannot commit to the default branch "
                f"{result.branch!r}, so nothing was pushed or registered",
                hint="do that on a branch and merge it through a pull request",
            )
        result.lock = "current"
        result.lines.append("dvc.lock matches the pipeline's outputs")
    allowed, why = may_push_outputs(job.context, config.pipeline.push)
    if dry_run:
        result.push_note = "dry run: outputs not pushed"
    elif not allowed:
        result.push_note = f"outputs not pushed: {why}"
    elif not dvc.has_remote():
        result.push_note = "outputs not pushed: no DVC remote configured"
    else:
        with group("dvc push --run-cache" if outcome.run_cache else "dvc push"):
            dvc.push(sink, run_cache=outcome.run_cache)  # PRs then restore main's stages
        result.outputs_pushed = True
        result.push_note = "outputs pushed to the DVC remote"
    result.lines.append(result.push_note)


def _register_models(
    root: Path, config: Config, result: OnMergeResult, job: Job, *, release: bool, dry_run: bool
) -> None:
    """Register each `register: on-merge` model at HEAD (and release it when asked)."""
    from mlops_ci.services.shared.registry import open_registry

    if not config.models:
        result.lines.append("no models in mlops-ci.yaml: nothing to register")
        return
    reg = open_registry(root, fetch=True)
    push = reg.git.has_remote()
    for name, model in config.models.items():
        if model.registration != "on-merge":
            result.models.append(ModelOutcome(name, "manual", reason="register: manual"))
            result.lines.append(f"{name}: register is manual; not registered on merge")
            continue
        outcome = _already_registered(reg, name, result)
        if outcome is not None:
            if release and outcome.tag is not None and not dry_run:
                # A run that registered and then failed to release is completed here.
                result.lines.append(f"{name}: HEAD is already registered as {outcome.version}")
                _release(root, outcome, result, job)
            else:
                result.lines.append(
                    f"{name}: HEAD is already registered as {outcome.version}; nothing to do"
                )
            continue
        outcome = _register_model(reg, name, model, result, push=push, dry_run=dry_run)
        if release and outcome.status == "registered":
            _release(root, outcome, result, job)


def _already_registered(reg: Registry, name: str, result: OnMergeResult) -> ModelOutcome | None:
    """The version HEAD already carries (a re-run), added to ``result``; None if none."""
    artifact = reg.artifact(name)
    at_head = [
        v
        for v in (artifact.versions.values() if artifact else [])
        if v.registered and v.active and v.commit == result.commit
    ]
    if not at_head:
        return None
    version = at_head[0].version
    registration = at_head[0].registration
    outcome = ModelOutcome(
        name,
        "already-registered",
        version=version,
        tag=registration.tag if registration else None,
        reason=f"HEAD is already {name}@{version}",
    )
    result.models.append(outcome)
    return outcome


def _register_model(
    reg: Registry,
    name: str,
    model: ModelConfig,
    result: OnMergeResult,
    *,
    push: bool,
    dry_run: bool,
) -> ModelOutcome:
    """Register the next version of ``name`` at HEAD when its gates pass on HEAD's
    metrics (only say which in a dry run); the outcome, added to ``result``."""
    from mlops_ci.core.tags import next_version
    from mlops_ci.services.shared.registry import check_gates, read_metrics_at, register

    gates = check_gates(reg, name, read_metrics_at(reg, name, result.commit))
    if gates.failures:
        reason = "gates failed: " + "; ".join(gates.failures)
        outcome = ModelOutcome(name, "gates-failed", reason=reason, gates=gates.results)
        line = f"{name}: not registered, {outcome.reason}"
    elif dry_run:
        artifact = reg.artifact(name)
        version = next_version(list(artifact.versions) if artifact else [], model.bump)
        outcome = ModelOutcome(
            name,
            "dry-run",
            version=version,
            reason=f"would register {version} ({model.bump})",
            gates=gates.results,
        )
        line = f"{name}: dry run: would register {version}"
    else:
        written = register(
            reg.root,
            name,
            bump=model.bump,
            ref=result.commit,
            message=f"Registering artifact {name} on merge to {result.branch}",
            push=push,
        )
        outcome = ModelOutcome(
            name,
            "registered",
            version=written.version,
            tag=written.tag,
            pushed=written.pushed,
            reason=f"gates {gates.verdict}; {model.bump} bump",
            gates=gates.results,
        )
        where = "and pushed it to origin" if written.pushed else "(no origin: local tag only)"
        line = f"{name}: registered {written.version}: tag {written.tag} {where}"
    result.models.append(outcome)
    result.lines.append(line)
    return outcome


def _release(root: Path, outcome: ModelOutcome, result: OnMergeResult, job: Job) -> None:
    from mlops_ci.services.shared.release import release

    assert outcome.tag is not None
    data = release(root, outcome.tag, context=job.context)
    outcome.release = {k: v for k, v in data.items() if k != "lines"}
    result.lines += [f"{outcome.model}: {line}" for line in data.get("lines", [])]
