"""Writing a cell's values into the params files, keeping everything else as it was."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_ci.core import experiments as core_exp
from mlops_ci.errors import InputError


def params_path(root: Path, name: str) -> Path:
    """`root / name`, refused when it resolves outside the repository."""
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InputError(f"{name}: the params file must be inside the repository")
    return path


def apply_params(text: str, path: str, assignments: Mapping[str, Any]) -> str:
    """`text` of a params file with dotted keys set; other keys, order and comments kept."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix == "json":
        data = json.loads(text) if text.strip() else {}
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a JSON object at the top level")
        for key, value in assignments.items():
            core_exp.set_nested(data, key, value)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if suffix == "toml":
        import tomlkit

        doc = tomlkit.parse(text)
        for key, value in assignments.items():
            core_exp.set_nested(doc, key, value)
        return tomlkit.dumps(doc)
    return _apply_yaml(text, path, assignments)


def _apply_yaml(text: str, path: str, assignments: Mapping[str, Any]) -> str:
    # ruamel keeps comments, key order and quoting: the diff a person sees is the values.
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from mlops_ci.core.safe_load import decode, load_yaml

    # The round-trip loader has no limits: refuse bombs and huge files first.
    load_yaml(decode(text, path), path)
    yaml = YAML()
    yaml.preserve_quotes = True
    loaded = yaml.load(text) if text.strip() else None
    if loaded is None:
        loaded = CommentedMap()
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    for key, value in assignments.items():
        core_exp.set_nested(loaded, key, value)
    out = io.StringIO()
    yaml.dump(loaded, out)
    return out.getvalue()


def group_assignments(
    assignments: Mapping[str, Any], default_file: str
) -> dict[str, dict[str, Any]]:
    """file → {dotted key: value}; a key without `FILE:` goes to `default_file`."""
    grouped: dict[str, dict[str, Any]] = {}
    for key, value in assignments.items():
        file, dotted = core_exp.split_key(key)
        grouped.setdefault(file or default_file, {})[dotted] = value
    return grouped
