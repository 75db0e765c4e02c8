"""What `dvc.yaml` declares, and which of a pipeline's dependencies are data.

The one reader of `dvc.yaml` (stages with their deps, outs, metrics, params and
plots, plot options, `wdir`, `cache: false`), read without DVC: importing DVC costs
about half a second, and `validate`, `init` and zero-config need none of it. The
shapes follow DVC 3's `dvc.yaml` format. What DVC *records* (`dvc.lock`, `.dvc`
files) is read by `core.lockfile`; `is_data` says, for every journey, what counts
as data.

Pure: callers pass the parsed YAML; `mlops_ci.dvcfile` reads the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from mlops_ci.core.lockfile import LockedStage
from mlops_ci.errors import ConfigError

DEFAULT_PARAMS_FILE = "params.yaml"

#: Plot options a chart uses (the axes and the title); DVC knows more (templates…).
PLOT_OPTIONS = ("x", "y", "title")

#: Suffixes of the dependencies that are code, not data: source files, and the
#: configuration that is reviewed in git beside them (`params` versions its values).
#: Release lineage lists the data a model was trained on and the monitor compares
#: current data with it: a change to `train.py` or `config.yaml` is not a change of data.
CODE_SUFFIXES = (
    ".py", ".ipynb", ".r", ".jl", ".sh", ".sql", ".js", ".ts",
    ".yaml", ".yml", ".json", ".toml",
)  # fmt: skip


def is_data(path: str, tracked: Collection[str] = ()) -> bool:
    """Whether a pipeline dependency is data (the one definition every journey uses).

    What DVC tracks (`tracked`: a stage's output or a `.dvc` file's) is data whatever
    its name: DVC keeps it by hash, out of git. Anything else is committed to git, and
    its suffix tells: source code and configuration (`CODE_SUFFIXES`) are not data.
    """
    return path in tracked or not path.lower().endswith(CODE_SUFFIXES)


def training_stage(stages: Mapping[str, LockedStage], model_path: str | None) -> LockedStage | None:
    """The stage that writes the model file (without a model path: the stage `train`)."""
    for stage in stages.values():
        if model_path and any(out.path == model_path for out in stage.outs):
            return stage
        if not model_path and stage.name == "train":
            return stage
    return None


def training_data(stages: Mapping[str, LockedStage], model_path: str | None) -> list[str]:
    """The data dependencies of the stage that writes the model (see `is_data`)."""
    stage = training_stage(stages, model_path)
    if stage is None:
        return []
    outputs = {out.path for other in stages.values() for out in other.outs}
    return [dep.path for dep in stage.deps if is_data(dep.path, outputs)]


@dataclass
class DeclaredStage:
    name: str
    cmd: str = ""
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    params: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class DvcYaml:
    """Files and stages a `dvc.yaml` declares; paths relative to the repository root."""

    exists: bool = False
    metrics: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    plots: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, DeclaredStage] = field(default_factory=dict)

    @property
    def outs(self) -> list[str]:
        return [out for stage in self.stages.values() for out in stage.outs]


def _entry_paths(entries: Any) -> list[str]:
    """Paths from a DVC list whose items are `path` or `{path: {options}}`."""
    paths: list[str] = []
    if not isinstance(entries, list):
        return paths
    for entry in entries:
        if isinstance(entry, str):
            paths.append(entry)
        elif isinstance(entry, dict):
            paths.extend(str(key) for key in entry)
    return paths


def _entry_options(entries: Any) -> list[tuple[str, dict[str, Any]]]:
    """(path, options) of the `{path: {options}}` items of a DVC list."""
    found: list[tuple[str, dict[str, Any]]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            for path, options in entry.items():
                if isinstance(options, dict):
                    found.append((str(path), options))
    return found


def _join(wdir: str, path: str) -> str:
    if wdir in ("", "."):
        return path
    return str(PurePosixPath(wdir) / path)


def _add_unique(target: list[str], items: list[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)


def _stage_bodies(data: Any) -> list[tuple[str, dict[str, Any], str]]:
    """(name, body, wdir) of every plain stage of a parsed `dvc.yaml`."""
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return []
    return [
        (str(name), body, str(body.get("wdir", ".")))
        for name, body in stages.items()
        if isinstance(body, dict)
    ]


def outside_repository(path: str) -> str | None:
    """Why `path` (relative to the repository root) leaves the repository, or None.

    Absolute paths (`/etc/hostname`, `C:/x`) and `..` climbing above the root leave it;
    symlinks can only be judged on disk, where the file is read.
    """
    posix = PurePosixPath(path.replace("\\", "/"))
    if posix.is_absolute() or (len(path) > 1 and path[1] == ":" and path[0].isalpha()):
        return "is absolute"
    depth = 0
    for part in posix.parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return "climbs out of the repository"
        elif part != ".":
            depth += 1
    return None


def _confine(result: DvcYaml, filename: str) -> None:
    """Refuse metrics, params and plots paths that leave the repository: we read them."""
    plot_paths: list[str] = []
    for plot in result.plots:
        plot_paths += [str(plot.get("path") or plot.get("id") or "")]
        for axis in ("x", "y"):
            if isinstance(plot.get(axis), dict):
                plot_paths += [str(key) for key in plot[axis]]
    for kind, paths in (("metrics", result.metrics), ("params", result.params),
                        ("plots", plot_paths)):  # fmt: skip
        for path in paths:
            why = outside_repository(path)
            if why is not None:
                raise ConfigError(
                    f"{filename}: {kind} file {path!r} {why}; only files inside the "
                    "repository are read",
                    file=filename,
                )


def parse_dvc_yaml(data: Any, filename: str = "dvc.yaml") -> DvcYaml:
    """Interpret the loaded YAML of a `dvc.yaml`; metrics, params and plots must stay
    inside the repository (a `ConfigError` otherwise)."""
    result = _parse_dvc_yaml(data, filename)
    _confine(result, filename)
    return result


def _parse_dvc_yaml(data: Any, filename: str) -> DvcYaml:
    result = DvcYaml(exists=True)
    if data is None:
        return result
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}: expected a mapping at the top level", file=filename)
    _add_unique(result.metrics, _entry_paths(data.get("metrics")))
    _add_unique(result.params, _entry_paths(data.get("params")))
    result.plots.extend(_top_level_plots(data.get("plots")))
    if not isinstance(data.get("stages") or {}, dict):
        raise ConfigError(f"{filename}: stages: expected a mapping of stage names", file=filename)
    for name, body, wdir in _stage_bodies(data):
        if "foreach" in body or "matrix" in body:
            # Templated stages expand at DVC run time; we only read plain declarations.
            continue
        stage = DeclaredStage(name=name, cmd=_cmd(body.get("cmd")))
        stage.deps = [_join(wdir, p) for p in _entry_paths(body.get("deps"))]
        stage.outs = [_join(wdir, p) for p in _entry_paths(body.get("outs"))]
        stage.metrics = [_join(wdir, p) for p in _entry_paths(body.get("metrics"))]
        stage.plots = [_join(wdir, p) for p in _entry_paths(body.get("plots"))]
        stage.params = _stage_params(body.get("params"), wdir)
        result.stages[stage.name] = stage
        _add_unique(result.metrics, stage.metrics)
        _add_unique(result.params, list(stage.params))
        for plot in stage.plots:
            if all(p.get("id") != plot for p in result.plots):
                result.plots.append({"id": plot, "path": plot})
    return result


def _top_level_plots(plots: Any) -> list[dict[str, Any]]:
    """Top-level `plots:` entries: a path, or `{id: {options}}`."""
    found: list[dict[str, Any]] = []
    for entry in plots if isinstance(plots, list) else []:
        if isinstance(entry, str):
            found.append({"id": entry, "path": entry})
        elif isinstance(entry, dict):
            for key, props in entry.items():
                found.append({"id": str(key), **(props if isinstance(props, dict) else {})})
    return found


def _cmd(cmd: Any) -> str:
    if isinstance(cmd, list):
        return " && ".join(str(c) for c in cmd)
    return "" if cmd is None else str(cmd)


def _stage_params(params: Any, wdir: str) -> dict[str, list[str]]:
    """Stage params: bare keys come from `params.yaml`; `{file: [keys]}` from that file."""
    by_file: dict[str, list[str]] = {}
    if not isinstance(params, list):
        return by_file
    for entry in params:
        if isinstance(entry, str):
            by_file.setdefault(_join(wdir, DEFAULT_PARAMS_FILE), []).append(entry)
        elif isinstance(entry, dict):
            for file, keys in entry.items():
                wanted = [str(k) for k in keys] if isinstance(keys, list) else []
                by_file.setdefault(_join(wdir, str(file)), []).extend(wanted)
    return by_file


def uncached_paths(data: Any) -> set[str]:
    """Stage outputs declared with `cache: false` (kept in git, not in the DVC cache).

    `dvc.lock` does not record the flag, so only `dvc.yaml` can tell.
    """
    paths: set[str] = set()
    for _, body, wdir in _stage_bodies(data):
        for key in ("outs", "metrics", "plots"):
            for path, options in _entry_options(body.get(key)):
                if options.get("cache") is False:
                    paths.add(_join(wdir, path))
    return paths


def plot_options(data: Any) -> dict[str, dict[str, Any]]:
    """Options (`x`, `y`, `title`) of the plots declared inside stages, by plot path.

    `- plots/roc.csv: {x: fpr, y: tpr}` in a stage gives `{"plots/roc.csv": {"x": "fpr",
    "y": "tpr"}}`; the path is joined to the stage's `wdir`.
    """
    found: dict[str, dict[str, Any]] = {}
    for _, body, wdir in _stage_bodies(data):
        for path, options in _entry_options(body.get("plots")):
            key = path if wdir in ("", ".") else f"{wdir.rstrip('/')}/{path}"
            found[key] = {k: v for k, v in options.items() if k in PLOT_OPTIONS}
    return found
