"""`mlops-ci init`: adopt mlops-ci in a repository.

Writes `mlops-ci.yaml`, filled from what `dvc.yaml` declares (metrics and suggested
gates on them, params, models from model-like outputs), and the chosen starter
workflows into `.github/workflows/`. The plan is computed first; nothing is written
when any file would be overwritten without `force`, and a file whose content would
not change is left alone, so running init twice changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Literal

from mlops_ci.adapters.files import write_atomic
from mlops_ci.adapters.git import Git
from mlops_ci.config import find_config, parse_config
from mlops_ci.errors import ConfigError, GitError, InputError, MlopsCIError

CONFIG_FILENAME = "mlops-ci.yaml"
WORKFLOWS_DIR = PurePosixPath(".github/workflows")
DEFAULT_REF = "v1"

# Journey name (as given to --with) -> starter workflows it installs.
JOURNEYS: dict[str, tuple[str, ...]] = {
    "pr": ("pr-report.yml", "pr-report-post.yml"),
    "release": ("release.yml",),
    "promote": ("promote.yml",),
    "monitor": ("monitor.yml",),
    "retrain": ("retrain.yml",),
    "sweep": ("sweep.yml",),
    "on-merge": ("on-merge.yml",),
}
DEFAULT_JOURNEYS: tuple[str, ...] = ("pr", "release", "promote")

MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".onnx", ".pt", ".pth")

# Metric name words -> which way is better. Matched against the words of the last
# part of a dotted key (`test.roc_auc` -> `roc`, `auc`).
_HIGHER_WORDS = frozenset(
    {"accuracy", "acc", "f1", "auc", "roc", "precision", "recall", "r2", "map", "iou",
     "dice", "bleu", "rouge", "ndcg", "score", "sensitivity", "specificity"}
)  # fmt: skip
_LOWER_WORDS = frozenset(
    {"loss", "error", "err", "rmse", "mse", "mae", "mape", "logloss", "perplexity", "wer",
     "cer", "latency"}
)  # fmt: skip
# A relative regression allowed by the suggested gates; a starting point to tune.
SUGGESTED_MAX_DROP_PCT = 5

_TEMPLATE_REF = "@" + DEFAULT_REF
_TEMPLATE_RUNS_ON = "      runs-on: ubuntu-latest\n"
_SAFE_SCALAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


@dataclass(frozen=True)
class PlannedFile:
    """One file init would write, relative to the repository (or project) root."""

    path: Path
    content: str
    shown: str


@dataclass
class InitResult:
    """What init did: files written, files already as wanted, and the next steps."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.written)


@dataclass(frozen=True)
class SuggestedGate:
    metric: str
    direction: Literal["higher", "lower"]


def direction_for(metric: str) -> Literal["higher", "lower"] | None:
    """Which way is better for a metric, guessed from its name; None when unsure."""
    leaf = metric.rsplit(".", 1)[-1].rsplit(":", 1)[-1].lower()
    words = set(re.split(r"[^a-z0-9]+", leaf)) - {""}
    if words & _LOWER_WORDS or leaf in _LOWER_WORDS:
        return "lower"
    if words & _HIGHER_WORDS or leaf in _HIGHER_WORDS:
        return "higher"
    return None


def parse_journeys(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """`pr,release` -> ("pr", "release"); unknown names are a user error."""
    if value is None:
        return DEFAULT_JOURNEYS
    items = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        if name == "all":
            return tuple(JOURNEYS)
        if name not in JOURNEYS:
            raise InputError(
                f"--with: unknown workflow {name!r}",
                hint="choose from " + ", ".join([*JOURNEYS, "all"]),
            )
        if name not in names:
            names.append(name)
    if not names:
        raise InputError("--with: name at least one workflow", hint=", ".join(JOURNEYS))
    return tuple(names)


def template_names() -> list[str]:
    """The starter workflows shipped with the package."""
    folder = resources.files("mlops_ci") / "templates" / "workflows"
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".yml"))


def read_template(name: str) -> str:
    folder = resources.files("mlops_ci") / "templates" / "workflows"
    return (folder / name).read_text(encoding="utf-8")


def render_workflow(
    template: str, *, default_branch: str, ref: str = DEFAULT_REF, working_directory: str = "."
) -> str:
    """A starter workflow made concrete for one repository (pure)."""
    if not _REF_RE.match(ref):
        raise InputError(f"--ref: {ref!r} is not a git tag, branch or commit")
    text = template.replace("$default-branch", default_branch)
    if ref != DEFAULT_REF:
        text = re.sub(re.escape(_TEMPLATE_REF) + r"$", "@" + ref, text, flags=re.MULTILINE)
    if working_directory not in ("", "."):
        text = text.replace(
            _TEMPLATE_RUNS_ON,
            _TEMPLATE_RUNS_ON + f"      working-directory: {_yaml_scalar(working_directory)}\n",
        )
    return text


def _yaml_scalar(value: str) -> str:
    """A string as a YAML scalar: plain when unambiguous, else double-quoted."""
    if _SAFE_SCALAR.match(value) and value.lower() not in _YAML_WORDS:
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def _metric_keys(root: Path, files: Iterable[str]) -> dict[str, list[str]]:
    """Numeric metric keys per metrics file present in the working tree."""
    from mlops_ci.core.formats import parse_metrics
    from mlops_ci.core.metrics import flatten, is_number

    found: dict[str, list[str]] = {}
    for name in files:
        path = root / name
        if not path.is_file():
            continue
        try:
            data = parse_metrics(path.read_bytes(), name)
        except MlopsCIError:
            continue  # a metrics file we cannot read gets no suggested gates
        keys = [key for key, value in flatten(data).items() if key and is_number(value)]
        found[name] = keys
    return found


def suggest_gates(metrics_by_file: Mapping[str, Sequence[str]]) -> list[SuggestedGate]:
    """A gate per metric whose name says which way is better (pure)."""
    seen: dict[str, int] = {}
    for keys in metrics_by_file.values():
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
    gates: list[SuggestedGate] = []
    for file, keys in metrics_by_file.items():
        for key in keys:
            direction = direction_for(key)
            if direction is None:
                continue
            # The same key in two files is named with its file, `file:key`.
            name = key if seen[key] == 1 else f"{file}:{key}"
            gates.append(SuggestedGate(name, direction))
    return gates


def _model_name(path: str, taken: set[str]) -> str:
    stem = PurePosixPath(path).stem
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", stem).strip("-_") or "model"
    if not name[0].isalnum():
        name = "m" + name
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def suggest_config(root: Path) -> str:
    """The text of `mlops-ci.yaml` for the project at `root`, from its `dvc.yaml`."""
    from mlops_ci.dvcfile import read_dvc_yaml

    declared = read_dvc_yaml(root)
    metrics = _metric_keys(root, declared.metrics)
    gates = suggest_gates(metrics)
    params = declared.params or (["params.yaml"] if (root / "params.yaml").is_file() else [])
    model_outs = [out for out in declared.outs if out.lower().endswith(MODEL_SUFFIXES)]

    lines = [
        "# mlops-ci configuration, written by `mlops-ci init`.",
        "# Check it with `mlops-ci validate`; `mlops-ci schema` prints its JSON Schema.",
        "version: 1",
        "",
        "pipeline:",
        "  run: dvc repro",
        "",
    ]
    lines.append("metrics:")
    if declared.metrics:
        lines.append("  # Files: read from dvc.yaml (" + ", ".join(declared.metrics) + ").")
    else:
        lines.append("  # dvc.yaml declares no metrics: list your metrics files here.")
        lines.append("  files: []")
    if gates:
        lines.append("  # Suggested from the metrics found; tune min/max/max_drop to your model.")
        lines.append("  gates:")
        for gate in gates:
            lines.append(f"    {_yaml_scalar(gate.metric)}:")
            lines.append(f"      direction: {gate.direction}")
            lines.append(f"      max_drop_pct: {SUGGESTED_MAX_DROP_PCT}")
    else:
        lines.append("  gates: {}")
    lines.append("")
    lines.append("params:")
    if params:
        lines.append("  files:")
        lines.extend(f"    - {_yaml_scalar(p)}" for p in params)
    else:
        lines.append("  files: []")
    lines.append("")
    if model_outs:
        lines.append("models:")
        taken: set[str] = set()
        for out in model_outs:
            lines.append(f"  {_model_name(out, taken)}:")
            lines.append(f"    path: {_yaml_scalar(out)}")
            lines.append("    stages: [staging, production]")
    else:
        lines.append("# No model file (.pkl, .joblib, .onnx, .pt) among the dvc.yaml outs:")
        lines.append("# add your models here to register, release and promote them.")
        lines.append("models: {}")
    text = "\n".join(lines) + "\n"
    parse_config(text, CONFIG_FILENAME)  # what init writes, validate must accept
    return text


def detect_repository(project: Path) -> tuple[Path, str]:
    """The git top level holding `project` (or `project` itself) and its default branch
    (`main` when git cannot tell, or there is no git at all: init works before `git init`)."""
    try:
        top = Git(project).toplevel()
    except GitError:  # git is not installed
        top = None
    repo_root = top.resolve() if top else project
    try:
        return repo_root, Git(repo_root).default_branch()
    except GitError:
        return repo_root, "main"


def plan(
    project: Path,
    journeys: Sequence[str],
    *,
    ref: str = DEFAULT_REF,
    default_branch: str | None = None,
) -> list[PlannedFile]:
    """Every file init would write, with its content (reads, never writes)."""
    project = project.resolve()
    if not project.is_dir():
        raise InputError(f"{project}: no such directory", hint="pass an existing --dir")
    repo_root, detected_branch = detect_repository(project)
    branch = default_branch or detected_branch
    try:
        relative = project.relative_to(repo_root).as_posix()
    except ValueError:
        relative = "."
    files = [PlannedFile(project / CONFIG_FILENAME, suggest_config(project), CONFIG_FILENAME)]
    existing = find_config(project)
    if existing is not None and existing.name != CONFIG_FILENAME:
        raise ConfigError(
            f"{existing.name}: a config file already exists under another name",
            hint=f"keep it, or remove it to let init write {CONFIG_FILENAME}",
        )
    for journey in journeys:
        for name in JOURNEYS[journey]:
            content = render_workflow(
                read_template(name), default_branch=branch, ref=ref, working_directory=relative
            )
            target = repo_root / WORKFLOWS_DIR / name
            files.append(PlannedFile(target, content, _shown(target, project)))
    return files


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return os.path.relpath(path, base)


def apply(files: Sequence[PlannedFile], *, force: bool = False) -> InitResult:
    """Write the planned files: all or, when one would be overwritten, none."""
    result = InitResult()
    to_write: list[PlannedFile] = []
    conflicts: list[str] = []
    for planned in files:
        if planned.path.is_file():
            try:
                current = planned.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                current = None
            if current == planned.content:
                result.unchanged.append(planned.shown)
                continue
            if not force:
                conflicts.append(planned.shown)
                continue
        elif planned.path.exists():
            raise InputError(f"{planned.shown}: exists and is not a file")
        to_write.append(planned)
    if conflicts:
        others = f" (and also: {', '.join(conflicts[1:])})" if len(conflicts) > 1 else ""
        raise InputError(
            f"{conflicts[0]}: already exists and differs from what init would write"
            f"{others}; nothing was written",
            hint="re-run with --force to overwrite, or edit the file by hand",
            file=conflicts[0],
        )
    for planned in to_write:
        write_atomic(planned.path, planned.content)
        result.written.append(planned.shown)
    return result


def next_steps(journeys: Sequence[str]) -> list[str]:
    """What the user does on GitHub after init (settings a file cannot make)."""
    steps = ["Commit mlops-ci.yaml and .github/workflows/, then open a pull request."]
    steps.append(
        "Secrets (Settings → Secrets and variables → Actions): the credentials of your DVC "
        "remote, e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, passed under `secrets:` "
        "in the workflows."
    )
    if "pr" in journeys:
        steps.append(
            "Branch protection (Settings → Branches or Rulesets) on the default branch: "
            'require the status check "mlops-ci report", so a failing gate blocks the merge.'
        )
    if "promote" in journeys:
        steps.append(
            "Environments (Settings → Environments): create `staging` and `production`, and "
            "add required reviewers to `production`; promotions wait for their approval."
        )
    if "retrain" in journeys:
        steps.append(
            "Retrain: store a GitHub App or fine-grained token (contents and pull requests: "
            "write) as the secret MLOPS_CI_TOKEN, so its pull requests get reported."
        )
    steps.append("Check the config any time with `mlops-ci validate`.")
    return steps


def run_init(
    project: Path,
    journeys: Sequence[str] = DEFAULT_JOURNEYS,
    *,
    force: bool = False,
    ref: str = DEFAULT_REF,
    default_branch: str | None = None,
) -> InitResult:
    """Plan and apply init for the project at `project`."""
    files = plan(project, journeys, ref=ref, default_branch=default_branch)
    result = apply(files, force=force)
    result.next_steps = next_steps(journeys)
    return result
