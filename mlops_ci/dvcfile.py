"""Reading `dvc.yaml` from the repository; what it declares is `core.dvcfiles`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_ci.core.dvcfiles import DvcYaml, parse_dvc_yaml, plot_options
from mlops_ci.core.lockfile import load_yaml
from mlops_ci.errors import ConfigError


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


def read_plot_options(root: Path) -> dict[str, dict[str, Any]]:
    """Options of the plots declared inside the stages of `root/dvc.yaml`, by path.

    Lenient: charts are a courtesy, so an absent or unreadable file gives none.
    """
    path = root / "dvc.yaml"
    try:
        text = path.read_bytes() if path.is_file() else None
    except OSError:
        return {}
    return plot_options(load_yaml(text))
