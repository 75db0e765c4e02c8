"""Reading `mlops-ci.yaml`: safe YAML with line numbers, then defaults from `dvc.yaml`.

The YAML reader is strict where a typo would silently change behaviour: duplicate
keys and tabs are errors, and a tree blown up by aliases is refused before anything
reads it. Every error is one `ConfigError` line naming the file and, where YAML
knows it, the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mlops_ci.config.error_messages import format_validation_error
from mlops_ci.config.models import Config, LoadedConfig
from mlops_ci.errors import ConfigError

if TYPE_CHECKING:
    import yaml

CONFIG_FILENAMES = ("mlops-ci.yaml", "mlops-ci.yml", ".mlops-ci.yaml", ".mlops-ci.yml")
#: Limits on the YAML node tree, checked before anything else reads it.
MAX_NODES = 100_000
MAX_DEPTH = 50

KeyLines = dict[tuple[str, ...], int]


# --- YAML loading: safe, with line numbers, duplicate keys and tabs rejected ----------


def _loader_for(filename: str) -> type[yaml.SafeLoader]:
    """A SafeLoader that refuses duplicate and unhashable mapping keys, naming the line."""
    import yaml

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise ConfigError(
                    f"{filename}:{key_node.start_mark.line + 1}: "
                    "a mapping key must be a plain value",
                    file=filename,
                    line=key_node.start_mark.line + 1,
                ) from None
            if key in seen:
                raise ConfigError(
                    f"{filename}:{key_node.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first on line {seen[key]})",
                    file=filename,
                    line=key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line + 1
        return loader.construct_mapping(node, deep=True)

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return _Loader


def _key_lines(root: yaml.Node, filename: str) -> KeyLines:
    """The line of every key path, from one walk over the node tree.

    Iterative and with a budget: aliases make a tree of a few lines expand to
    billions of nodes.
    """
    import yaml

    lines: KeyLines = {}
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    visited = 0
    while stack:
        node, path = stack.pop()
        visited += 1
        if visited > MAX_NODES or len(path) > MAX_DEPTH:
            raise ConfigError(
                f"{filename}: too large or nested too deeply "
                f"(more than {MAX_NODES:,} values or {MAX_DEPTH} levels; YAML aliases?)",
                file=filename,
            )
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(getattr(key_node, "value", ""))
                lines.setdefault((*path, key), key_node.start_mark.line + 1)
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault((*path, str(i)), item.start_mark.line + 1)
                stack.append((item, (*path, str(i))))
    return lines


def _marked_error(exc: yaml.MarkedYAMLError, text: str, filename: str) -> ConfigError:
    """A YAML syntax error at a known place, with a hint when tabs are the cause."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or exc.context or "invalid YAML"
    where = f"{filename}:{line}" if line else filename
    hint = None
    if "\t" in text and ("tab" in str(problem).lower() or "'\\t'" in str(problem)):
        problem = f"{problem} (YAML does not allow tabs for indentation)"
        hint = "indent with spaces"
    return ConfigError(f"{where}: {problem}", hint=hint, file=filename, line=line)


def _yaml_load_with_lines(text: str, filename: str) -> tuple[Any, KeyLines]:
    """Safe-load YAML and return the data plus a map from key paths to line numbers."""
    import yaml

    loader = _loader_for(filename)
    lines: KeyLines = {}
    try:
        node = yaml.compose(text, Loader=loader)
        if node is not None:
            lines = _key_lines(node, filename)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ConfigError(
            f"{filename}: nested too deeply (more than {MAX_DEPTH} levels)", file=filename
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text, filename) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: invalid YAML: {_first_line(exc)}", file=filename) from None
    return data, lines


def _first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break (YAML appends a position)."""
    return str(exc).strip().split("\n", 1)[0]


# --- the config file -------------------------------------------------------------------


def find_config(root: Path) -> Path | None:
    """The config file in `root`, by the first of `CONFIG_FILENAMES` that exists."""
    for name in CONFIG_FILENAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def parse_config(text: str | bytes, filename: str = "mlops-ci.yaml") -> Config:
    """Parse config text; raise one ConfigError line on any problem."""
    from mlops_ci.core.safe_load import MAX_YAML_BYTES

    if len(text) > MAX_YAML_BYTES:  # the pure-Python loader takes minutes on more
        raise ConfigError(
            f"{filename}: over the {MAX_YAML_BYTES >> 20} MiB limit for a config file",
            file=filename,
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{filename}: not UTF-8 text (byte {exc.start}: {exc.reason})", file=filename
            ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    data, lines = _yaml_load_with_lines(text, filename)
    if data is None:
        raise ConfigError(
            f"{filename}: the file is empty",
            hint="delete it to use the defaults from dvc.yaml, or run `mlops-ci init`",
            file=filename,
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"{filename}: expected a mapping of sections at the top level, "
            f"got {type(data).__name__}",
            file=filename,
            line=1,
        )
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, filename, lines) from None


def load_config(root: Path, path: Path | None = None) -> LoadedConfig:
    """Load `mlops-ci.yaml` (or `path`) and fill defaults from `dvc.yaml`.

    With no config file, the defaults apply and metrics/params come from `dvc.yaml`
    (zero-config).
    """
    root = root.resolve()
    config_path = path if path is not None else find_config(root)
    if config_path is not None:
        if not config_path.is_file():
            raise ConfigError(f"{config_path}: no such config file", file=str(config_path))
        shown = _display_path(config_path, root)
        try:
            raw = config_path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot read: {exc.strerror}", file=shown) from None
        config = parse_config(raw, shown)
    else:
        config = Config()
    sources: dict[str, str] = {}
    config = apply_dvc_defaults(config, root, sources)
    return LoadedConfig(config=config, path=config_path, root=root, sources=sources)


def _display_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def apply_dvc_defaults(config: Config, root: Path, sources: dict[str, str]) -> Config:
    """Fill metrics/params files from `dvc.yaml` where the config leaves them empty."""
    from mlops_ci.dvcfile import read_dvc_yaml

    declared = read_dvc_yaml(root)
    updates: dict[str, Any] = {}
    if not config.metrics.files:
        files = declared.metrics
        if files:
            updates["metrics"] = config.metrics.model_copy(update={"files": files})
            sources["metrics.files"] = "dvc.yaml"
    else:
        sources["metrics.files"] = "mlops-ci.yaml"
    if not config.params.files:
        files = declared.params or (["params.yaml"] if (root / "params.yaml").is_file() else [])
        if files:
            updates["params"] = config.params.model_copy(update={"files": files})
            sources["params.files"] = "dvc.yaml" if declared.params else "params.yaml"
    else:
        sources["params.files"] = "mlops-ci.yaml"
    return config.model_copy(update=updates) if updates else config
