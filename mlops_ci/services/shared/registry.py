"""Registry journeys: read the state, register versions, deprecate.

Wires the git adapter (tags, files at a revision) to the pure core (`core.tags`,
`core.registry`, `core.gates`). Returns plain data; the CLI renders it (the views
the `registry` and `history` commands show are in `registry_view`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.adapters.git import Git, TagResult
from mlops_ci.core.registry import (
    ArtifactState,
    GitTagRecord,
    RegistryState,
    allowed_stages,
    build_state,
    display_stages,
)
from mlops_ci.core.tags import (
    Action,
    Bump,
    SemVer,
    format_tag,
    is_valid_artifact,
    next_counter,
    next_version,
)
from mlops_ci.errors import ConfigError, InputError, PolicyRefused

if TYPE_CHECKING:
    from mlops_ci.config import Config, ModelConfig

GTO_CONFIG = ".gto"
METRICS_MARKER = "metrics: "


#: The names `mlops_ci.config` looks for (kept equal to CONFIG_FILENAMES by a test), so
#: that reading the registry of a repository without one never imports pydantic.
CONFIG_FILES = ("mlops-ci.yaml", "mlops-ci.yml", ".mlops-ci.yaml", ".mlops-ci.yml")


@dataclass
class Registry:
    """One repository's registry: git, config and the state its tags describe."""

    root: Path
    git: Git
    gto_stages: list[str] | None
    records: list[GitTagRecord]
    state: RegistryState
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The loaded `mlops-ci.yaml` (`mlops_ci.config.Config`), read on first use."""
        if self._config is None:
            from mlops_ci.config import load_config

            self._config = load_config(self.root).config
        return self._config

    @property
    def has_config_file(self) -> bool:
        return any((self.root / name).is_file() for name in CONFIG_FILES)

    def configured_models(self) -> dict[str, ModelConfig]:
        """Models listed in `mlops-ci.yaml` (none without the file; no config is loaded)."""
        if self._config is None and not self.has_config_file:
            return {}
        return dict(self.config.models)

    def artifact(self, model: str) -> ArtifactState | None:
        return self.state.artifact(model)

    def model_config(self, model: str) -> ModelConfig:
        return self.config.model(model)

    def allowed_stages(self, model: str) -> list[str]:
        """Stages the model may be promoted to, in order."""
        if model in self.configured_models() or not self.gto_stages:
            return list(self.config.model(model).stages)
        return list(self.gto_stages)

    def shown_stages(self, model: str) -> list[str]:
        listed = self.configured_models().get(model)
        allowed = allowed_stages(listed.stages if listed else None, self.gto_stages)
        return display_stages(allowed, self.artifact(model))

    def tag_names(self) -> list[str]:
        return [r.name for r in self.records]

    def refresh(self) -> None:
        self.records = self.git.tags()
        self.state = build_state(self.records)


def read_gto_stages(root: Path) -> list[str] | None:
    """The ``stages:`` list of GTO's ``.gto`` file, when there is one."""
    path = root / GTO_CONFIG
    if not path.is_file():
        return None
    from mlops_ci.core.safe_load import decode, load_yaml

    try:
        data = load_yaml(decode(path.read_bytes(), GTO_CONFIG), GTO_CONFIG)
    except InputError as exc:
        raise ConfigError(exc.message, file=GTO_CONFIG) from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{GTO_CONFIG}: expected a mapping", file=GTO_CONFIG)
    stages = data.get("stages")
    if stages is None:
        return None
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise ConfigError(f"{GTO_CONFIG}: stages: expected a list of names", file=GTO_CONFIG)
    return list(stages)


def open_registry(root: Path, *, fetch: bool = False) -> Registry:
    """Open the registry of the repository at ``root`` (one `git for-each-ref` call)."""
    git = Git(root)
    if not git.is_repo():
        raise InputError(f"{root}: not a git repository", hint="run inside your project's clone")
    if fetch and git.has_remote():
        git.fetch_tags()
    records = git.tags()
    return Registry(root, git, read_gto_stages(root), records, build_state(records))


# --- metrics and gates at a commit --------------------------------------------------


def metrics_files(reg: Registry, model: str) -> list[str]:
    return list(reg.model_config(model).metrics or reg.config.metrics.files)


def read_metrics_at(reg: Registry, model: str, rev: str) -> dict[str, dict[str, Any]]:
    """The model's metrics files at ``rev``, parsed; files absent at ``rev`` are left out.

    Files committed to git are read from git; DVC-tracked ones through DVC at ``rev``.
    """
    from mlops_ci.core.formats import parse_metrics

    found: dict[str, dict[str, Any]] = {}
    for path in metrics_files(reg, model):
        raw = reg.git.show_file(rev, path)
        if raw is None:
            raw = _dvc_read(reg.root, path, rev)
        if raw is None:
            continue
        found[path] = parse_metrics(raw, path)
    return found


def _dvc_read(root: Path, path: str, rev: str) -> bytes | None:
    if not (root / ".dvc").is_dir():
        return None
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.errors import DvcError

    try:
        return Dvc(root).read_at_rev(path, rev)
    except DvcError:  # any DVC failure means: not available at that revision
        return None


@dataclass
class GateCheck:
    """Gate results of one version on its own metrics."""

    verdict: str
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [r["reason"] for r in self.results if r["verdict"] == "fail"]


def check_gates(reg: Registry, model: str, metrics: Mapping[str, Mapping[str, Any]]) -> GateCheck:
    """Absolute gates (min/max, required) of ``model`` on these metrics (no baseline)."""
    from mlops_ci.core.gates import evaluate
    from mlops_ci.core.metrics import diff

    gates = reg.config.gates_for_model(model)
    if not gates:
        return GateCheck("none")
    no_base = dict.fromkeys(metrics, "a version is judged on its own metrics")
    summary = evaluate(diff({}, dict(metrics), no_base=no_base), gates)
    results = [
        {
            "gate": r.gate,
            "metric": r.metric,
            "file": r.file,
            "verdict": r.verdict,
            "reason": r.reason,
            "value": r.head,
        }
        for r in summary.results
    ]
    return GateCheck(summary.verdict, results)


def flat_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    from mlops_ci.core.metrics import flatten

    flat: dict[str, Any] = {}
    for path, data in metrics.items():
        for key, value in flatten(data).items():
            flat[f"{path}:{key}"] = value
    return flat


def tag_message_with_metrics(first_line: str, metrics: Mapping[str, Mapping[str, Any]]) -> str:
    """A register tag message: the summary line, then the metrics as one JSON line."""
    body = json.dumps(flat_metrics(metrics), sort_keys=True, allow_nan=True)
    return f"{first_line}\n\n{METRICS_MARKER}{body}\n"


# --- writes -------------------------------------------------------------------------


@dataclass
class TagOutcome:
    """A tag the registry wrote (or found already written)."""

    model: str
    action: str
    tag: str
    commit: str
    version: str | None = None
    stage: str | None = None
    created: bool = False
    pushed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        shown = ("model", "action", "tag", "commit", "version", "stage", "created", "pushed")
        return {**{name: getattr(self, name) for name in shown}, **self.extra}


def _check_model_name(model: str) -> None:
    if not is_valid_artifact(model):
        raise InputError(
            f"{model!r} is not a valid model name: letters, digits, '-', '_', '/', starting "
            "and ending with a letter or digit (monorepo: dir:name)"
        )


def write_tag(reg: Registry, name: str, rev: str, message: str, *, push: bool) -> tuple[bool, bool]:
    """Create (idempotently) and optionally push one tag; (created, pushed)."""
    if push and not reg.git.has_remote():
        raise InputError("--push: the repository has no 'origin' remote")
    result: TagResult = reg.git.create_annotated_tag(name, rev, message)
    pushed = False
    if push:
        reg.git.push_tag(name)
        pushed = True
    return result.outcome == "created", pushed


def register(
    root: Path,
    model: str,
    *,
    version: str | None = None,
    bump: Bump | None = None,
    ref: str = "HEAD",
    message: str | None = None,
    push: bool = False,
) -> TagOutcome:
    """Register ``model`` at ``ref`` as ``version`` (or the next ``bump``)."""
    _check_model_name(model)
    if version is not None and bump is not None:
        raise InputError("pass --version or --bump, not both")
    if version is not None and not SemVer.is_valid(version):
        raise InputError(f"{version!r} is not a version: expected v + SemVer 2.0, e.g. v1.2.0")
    reg = open_registry(root, fetch=push)
    commit = reg.git.rev_parse(ref)
    version = _version_to_register(reg, model, commit, version, bump)
    tag = format_tag(model, Action.REGISTER, version=version)
    metrics = read_metrics_at(reg, model, commit)
    first = message or f"Registering artifact {model} version {version}"
    created, pushed = write_tag(
        reg, tag, commit, tag_message_with_metrics(first, metrics), push=push
    )
    return TagOutcome(
        model,
        "register",
        tag,
        commit,
        version=version,
        created=created,
        pushed=pushed,
        extra={"metrics": flat_metrics(metrics)},
    )


def _version_to_register(
    reg: Registry, model: str, commit: str, version: str | None, bump: Bump | None
) -> str:
    """``version``, or the next by ``bump`` (the model's `bump` by default); the version
    the commit already has when it is registered (a re-run is a no-op)."""
    artifact = reg.artifact(model)
    at_commit = [
        v
        for v in (artifact.versions.values() if artifact else [])
        if v.registered and v.active and v.commit == commit
    ]
    if version is None:
        if at_commit:
            # Re-running `register --bump` on a registered commit is a no-op.
            return max(at_commit, key=lambda v: v.semver.precedence() if v.semver else ()).version
        existing = list(artifact.versions) if artifact else []
        return next_version(existing, bump or reg.model_config(model).bump)
    if at_commit and all(v.version != version for v in at_commit):
        raise PolicyRefused(
            f"commit {commit[:12]} is already registered as {model}@{at_commit[0].version}",
            hint="register another commit, or deregister that version first",
        )
    return version


def deprecate(
    root: Path, model: str, *, message: str | None = None, push: bool = False
) -> TagOutcome:
    """Deprecate ``model`` (tag ``model@deprecated`` at the commit of its last event)."""
    _check_model_name(model)
    reg = open_registry(root, fetch=push)
    artifact = reg.artifact(model)
    if artifact is None:
        raise InputError(f"model {model!r} has no registry tags to deprecate")
    if artifact.deprecated:
        last = artifact.events[-1]
        pushed = False
        if push:
            reg.git.push_tag(last.tag)
            pushed = True
        return TagOutcome(model, "deprecate", last.tag, last.commit, pushed=pushed)
    tag = format_tag(model, Action.DEPRECATE)
    if tag in reg.tag_names():
        # Deprecated before and used again since: a counter makes the new tag unique.
        tag = format_tag(model, Action.DEPRECATE, counter=next_counter(model, reg.tag_names()))
    commit = artifact.events[-1].commit
    created, pushed = write_tag(
        reg, tag, commit, message or f"Deprecating artifact {model}", push=push
    )
    return TagOutcome(model, "deprecate", tag, commit, created=created, pushed=pushed)
