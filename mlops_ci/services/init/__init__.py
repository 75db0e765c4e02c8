"""`mlops-ci init`: adopt mlops-ci in a repository.

Writes `mlops-ci.yaml`, filled from what `dvc.yaml` declares (metrics and suggested
gates on them, params, models from model-like outputs: `suggest.py`), and the chosen
starter workflows into `.github/workflows/`, their calls of mlops-ci's reusable
workflows pinned by commit (`pin.py`). The plan is computed first; nothing is written
when any file would be overwritten without `force`, and a file whose content would
not change is left alone, so running init twice changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

from mlops_ci.adapters.files import write_atomic
from mlops_ci.adapters.git import Git
from mlops_ci.config import find_config
from mlops_ci.errors import ConfigError, GitError, InputError
from mlops_ci.services.init.pin import Pin, choose_pin
from mlops_ci.services.init.suggest import (
    CONFIG_FILENAME,
    SuggestedGate,
    direction_for,
    suggest_config,
    suggest_gates,
    yaml_scalar,
)

__all__ = [
    "CONFIG_FILENAME", "DEFAULT_JOURNEYS", "JOURNEYS", "InitResult", "Pin", "PlannedFile",
    "SuggestedGate", "apply", "choose_pin", "direction_for", "next_steps", "parse_journeys",
    "plan", "read_template", "render_workflow", "run_init", "suggest_config",
    "suggest_gates", "template_names",
]  # fmt: skip

WORKFLOWS_DIR = PurePosixPath(".github/workflows")
# The ref the starter templates call mlops-ci by; init replaces it with its pin.
TEMPLATE_REF = "v1"

# Journey name (as given to --with) -> starter workflows it installs.
JOURNEYS: dict[str, tuple[str, ...]] = {
    "pr": ("pr-report.yml", "pr-report-post.yml"),
    "release": ("release.yml",),
    "promote": ("promote.yml",),
    "monitor": ("monitor.yml",),
    "retrain": ("retrain.yml",),
    "sweep": ("sweep.yml",),
    "on-merge": ("on-merge.yml",),
    "batch-predict": ("batch-predict.yml",),
}
DEFAULT_JOURNEYS: tuple[str, ...] = ("pr", "release", "promote")

# Reusable workflows (`mlops-ci/mlops-ci/.github/workflows/x.yml@v1`) and the action.
_TEMPLATE_CALL = re.compile(
    r"^(\s*uses: " + re.escape("mlops-ci/mlops-ci") + r"(?:/\S+)?)@v1$", re.M
)
_TEMPLATE_RUNS_ON = "      runs-on: ubuntu-latest\n"


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
    pin: Pin | None = None

    @property
    def changed(self) -> bool:
        return bool(self.written)


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
    template: str, *, default_branch: str, pin: Pin, working_directory: str = "."
) -> str:
    """A starter workflow made concrete for one repository (pure): its calls of
    mlops-ci pinned, `@<sha> # <tag>`."""
    text = template.replace("$default-branch", default_branch)
    text = _TEMPLATE_CALL.sub(lambda m: m.group(1) + pin.suffix(), text)
    if working_directory not in ("", "."):
        text = text.replace(
            _TEMPLATE_RUNS_ON,
            _TEMPLATE_RUNS_ON + f"      working-directory: {yaml_scalar(working_directory)}\n",
        )
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
    pin: Pin,
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
                read_template(name), default_branch=branch, pin=pin, working_directory=relative
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
    pin: Pin | None = None,
    default_branch: str | None = None,
) -> InitResult:
    """Plan and apply init for the project at `project`; the workflows call mlops-ci at
    `pin`, by default the commit of the installed mlops-ci (`choose_pin`)."""
    pin = pin or choose_pin(None)
    files = plan(project, journeys, pin=pin, default_branch=default_branch)
    result = apply(files, force=force)
    result.next_steps = next_steps(journeys)
    result.pin = pin
    return result
