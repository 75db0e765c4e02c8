"""What `dvc.yaml` declares (metrics, params, plots, outs, stages), read without DVC.

Reading the YAML directly keeps `validate`, `init` and zero-config fast: importing
DVC costs about half a second. The shapes follow DVC 3's `dvc.yaml` format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.errors import ConfigError

DEFAULT_PARAMS_FILE = "params.yaml"


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


def _join(wdir: str, path: str) -> str:
    if wdir in ("", "."):
        return path
    return str(PurePosixPath(wdir) / path)


def _add_unique(target: list[str], items: list[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)


def parse_dvc_yaml(data: Any, filename: str = "dvc.yaml") -> DvcYaml:
    """Interpret the loaded YAML of a `dvc.yaml` (pure)."""
    result = DvcYaml(exists=True)
    if data is None:
        return result
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}: expected a mapping at the top level", file=filename)
    _add_unique(result.metrics, _entry_paths(data.get("metrics")))
    _add_unique(result.params, _entry_paths(data.get("params")))
    plots = data.get("plots")
    if isinstance(plots, list):
        for entry in plots:
            if isinstance(entry, str):
                result.plots.append({"id": entry, "path": entry})
            elif isinstance(entry, dict):
                for key, props in entry.items():
                    result.plots.append(
                        {"id": str(key), **(props if isinstance(props, dict) else {})}
                    )
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        raise ConfigError(f"{filename}: stages: expected a mapping of stage names", file=filename)
    for name, body in stages.items():
        if not isinstance(body, dict):
            continue
        if "foreach" in body or "matrix" in body:
            # Templated stages expand at DVC run time; we only read plain declarations.
            continue
        wdir = str(body.get("wdir", "."))
        stage = DeclaredStage(name=str(name), cmd=_cmd(body.get("cmd")))
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


def read_dvc_yaml(root: Path) -> DvcYaml:
    """Read `root/dvc.yaml`; an absent file declares nothing."""
    path = root / "dvc.yaml"
    if not path.is_file():
        return DvcYaml(exists=False)
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"dvc.yaml: cannot be read as YAML: {exc}".splitlines()[0], file="dvc.yaml"
        ) from None
    return parse_dvc_yaml(data)


def uncached_paths(data: Any) -> set[str]:
    """Stage outputs declared with `cache: false` (kept in git, not in the DVC cache).

    `dvc.lock` does not record the flag, so only `dvc.yaml` can tell.
    """
    paths: set[str] = set()
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return paths
    for body in stages.values():
        if not isinstance(body, dict):
            continue
        wdir = str(body.get("wdir", "."))
        for key in ("outs", "metrics", "plots"):
            entries = body.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                for path, options in entry.items():
                    if isinstance(options, dict) and options.get("cache") is False:
                        paths.add(_join(wdir, str(path)))
    return paths
