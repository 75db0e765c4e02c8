"""Reading `dvc.yaml` from the repository; what it declares is `core.dvcfiles`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlops_ci.core.dvcfiles import DvcYaml, parse_dvc_yaml, plot_options
from mlops_ci.core.lockfile import load_yaml
from mlops_ci.errors import ConfigError, InputError


def read_dvc_yaml(root: Path) -> DvcYaml:
    """Read `root/dvc.yaml`; an absent file declares nothing."""
    path = root / "dvc.yaml"
    if not path.is_file():
        return DvcYaml(exists=False)
    try:
        data = _load(path)
    except InputError as exc:
        raise ConfigError(exc.message, file="dvc.yaml", line=exc.line) from None
    return parse_dvc_yaml(data)


def _load(path: Path) -> Any:
    """`dvc.yaml` under the limits of `core.safe_load`, refused before DVC reads it."""
    from mlops_ci.core.safe_load import MAX_YAML_BYTES, check_size, decode, load_yaml

    if not path.resolve().is_relative_to(path.parent.resolve()):
        raise InputError("dvc.yaml: a symlink out of the repository; not read", file="dvc.yaml")
    try:
        check_size(path.stat().st_size, "dvc.yaml", MAX_YAML_BYTES)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"dvc.yaml: cannot read: {exc.strerror}", file="dvc.yaml") from None
    return load_yaml(decode(raw, "dvc.yaml", MAX_YAML_BYTES), "dvc.yaml")


def read_plot_options(root: Path) -> dict[str, dict[str, Any]]:
    """Options of the plots declared inside the stages of `root/dvc.yaml`, by path.

    Lenient: charts are a courtesy, so an absent or unreadable file gives none.
    """
    path = root / "dvc.yaml"
    try:
        text = path.read_bytes() if path.is_file() else None
    except OSError:
        return {}
    return plot_options(load_yaml(text, "dvc.yaml"))


def refuse_oversized(root: Path, params_files: Iterable[str] = ()) -> None:
    """Refuse, before DVC reads them, pipeline files over the limits of `core.safe_load`.

    DVC reads `dvc.yaml`, `dvc.lock` and the params files with no limits: an alias
    bomb or a million keys there make it hang. Each such file is one `TooLarge` line
    here instead. Other problems (a syntax error) are left to DVC to report.
    """
    from mlops_ci.core.formats import parse_data_file
    from mlops_ci.core.safe_load import MAX_BYTES, TooLarge, check_size

    names = dict.fromkeys(["dvc.yaml", "dvc.lock", *params_files, *read_dvc_yaml(root).params])
    for name in names:
        path = root / name
        if not path.is_file() or not path.resolve().is_relative_to(root.resolve()):
            continue
        try:
            check_size(path.stat().st_size, name, MAX_BYTES)
            parse_data_file(path.read_bytes(), name)
        except TooLarge:
            raise
        except (InputError, OSError):
            continue
