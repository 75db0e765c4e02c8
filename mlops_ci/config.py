"""`mlops-ci.yaml`: pydantic models of every section, with defaults from `dvc.yaml`.

Loading is strict where a typo would silently change behaviour: unknown keys are
errors that name the closest valid key, YAML duplicate keys and tabs are errors,
and paths must stay inside the repository. Every error is one `ConfigError` line
naming the file, the field (dotted) and, where YAML knows it, the line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlops_ci.errors import ConfigError

CONFIG_FILENAMES = ("mlops-ci.yaml", "mlops-ci.yml", ".mlops-ci.yaml", ".mlops-ci.yml")
SCHEMA_VERSION = 1
#: Limits on the YAML node tree, checked before anything else reads it.
MAX_NODES = 100_000
MAX_DEPTH = 50

_NAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)


def _check_repo_path(value: str) -> str:
    """A path from config must stay inside the repository (no absolute, no `..` escape)."""
    if not value or not value.strip():
        raise ValueError("expected a non-empty path inside the repository")
    if "\x00" in value:
        raise ValueError("a path cannot contain a NUL byte")
    posix = PurePosixPath(value.replace("\\", "/"))
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"{value!r} is absolute; expected a path relative to the repository")
    depth = 0
    for part in posix.parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ValueError(f"{value!r} escapes the repository")
        elif part != ".":
            depth += 1
    return value


class Gate(_Strict):
    """A quality gate on one metric."""

    direction: Literal["higher", "lower"] = Field(
        "higher", description="Which way is better: `higher` (accuracy) or `lower` (loss)."
    )
    min: float | None = Field(None, description="The head value must be at least this.")
    max: float | None = Field(None, description="The head value must be at most this.")
    max_drop: float | None = Field(
        None, ge=0, description="Largest allowed regression against the base, absolute."
    )
    max_drop_pct: float | None = Field(
        None, ge=0, description="Largest allowed regression against the base, in percent."
    )
    required: bool = Field(True, description="Fail when the metric is missing from the head.")

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Gate:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class PipelineConfig(_Strict):
    run: str = Field("dvc repro", description="Command that reproduces the pipeline.")
    pull: Literal["auto", "always", "never"] = Field(
        "auto", description="`dvc pull` before running: auto = when a remote is configured."
    )
    lock: Literal["check", "commit", "off"] = Field(
        "check", description="What to do when `dvc.lock` is stale after the run."
    )
    push: Literal["auto", "always", "never"] = Field(
        "auto", description="`dvc push` outputs after a successful run (never on fork PRs)."
    )
    timeout_minutes: int = Field(360, gt=0, description="Give up on the pipeline after this.")


class MetricsConfig(_Strict):
    files: list[str] = Field(
        default_factory=list, description="Metrics files; default: the ones `dvc.yaml` declares."
    )
    gates: dict[str, Gate] = Field(
        default_factory=dict, description="Gates by dotted metric key (optionally `file:key`)."
    )

    @field_validator("files")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        return [_check_repo_path(p) for p in v]


class ParamsConfig(_Strict):
    files: list[str] = Field(
        default_factory=list, description="Params files; default: `params.yaml` and `dvc.yaml`'s."
    )

    @field_validator("files")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        return [_check_repo_path(p) for p in v]


class PlotsConfig(_Strict):
    enabled: bool = Field(True, description="Render plots declared in `dvc.yaml` as Mermaid.")
    max_points: int = Field(200, gt=1, description="Downsample line plots to this many points.")


class DataConfig(_Strict):
    update: str | None = Field(
        None, description="Command that fetches new data before a retrain (default: `dvc update`)."
    )
    diff: bool = Field(True, description="Report DVC-tracked data changes (`dvc diff`).")


class PromotionPolicy(_Strict):
    order: Literal["any", "strict"] = Field(
        "any", description="`strict`: a version must hold the previous stage before the next."
    )
    require_gates: bool = Field(True, description="The version's own metrics must pass its gates.")
    require_default_branch: bool = Field(
        True, description="The version's commit must be reachable from the default branch."
    )


class ModelCard(_Strict):
    description: str = Field("", description="What the model does, one paragraph.")
    intended_use: str = Field("", description="Who should use it, for what.")
    limitations: str = Field("", description="Known limitations and risks.")
    owners: list[str] = Field(default_factory=list, description="Owners (GitHub handles or teams).")


class ModelConfig(_Strict):
    path: str | None = Field(None, description="The model file (a DVC output or git file).")
    type: str = Field("model", description="Artifact type, as GTO's `type`.")
    description: str = Field("", description="Short description, shown in the registry.")
    stages: list[str] = Field(
        default_factory=lambda: ["staging", "production"],
        description="Allowed stages in promotion order.",
    )
    environments: dict[str, str] = Field(
        default_factory=dict,
        description="GitHub environment per stage (default: the stage's own name).",
    )
    promotion: PromotionPolicy = Field(
        default_factory=PromotionPolicy, description="Rules checked before a promotion."
    )
    gates: dict[str, Gate] = Field(
        default_factory=dict, description="Gates a version must pass (default: metrics.gates)."
    )
    metrics: list[str] = Field(
        default_factory=list, description="Metrics files of this model (default: metrics.files)."
    )
    card: ModelCard = Field(default_factory=ModelCard, description="Model card text for releases.")
    registration: Literal["manual", "on-merge"] = Field(
        "manual",
        alias="register",
        description="`on-merge`: register a new version when main passes its gates.",
    )
    bump: Literal["major", "minor", "patch"] = Field("patch", description="Version bump rule.")

    @field_validator("path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        return None if v is None else _check_repo_path(v)

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: list[str]) -> list[str]:
        for stage in v:
            if not _NAME_RE.match(stage):
                raise ValueError(f"stage {stage!r} is not a valid GTO name")
        if len(set(v)) != len(v):
            raise ValueError("stages must be unique")
        return v

    def environment_for(self, stage: str) -> str:
        return self.environments.get(stage, stage)


class ReportConfig(_Strict):
    template: str | None = Field(
        None, description="Your own Jinja2 template (must keep the marker)."
    )
    comment: Literal["update", "recreate", "off"] = Field(
        "update", description="Sticky comment mode: update in place, delete and re-post, or none."
    )
    marker: str = Field("pr-report", description="Report kind in the hidden comment marker.")
    check_run: bool = Field(True, description="Publish a check run with the verdict.")
    fold_unchanged: bool = Field(True, description="Fold unchanged metrics into <details>.")
    max_rows: int = Field(200, gt=0, description="Rows shown per table before cutting.")
    precision: int = Field(4, ge=0, le=12, description="Significant digits shown for numbers.")
    trend: bool = Field(False, description="Add a 'trend on main' section from metric history.")

    @field_validator("template")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        return None if v is None else _check_repo_path(v)


class FeatureTest(_Strict):
    test: Literal["psi", "ks", "wasserstein", "chisquare", "jensenshannon"] | None = Field(
        None, description="Statistical test for this feature (default chosen by type and size)."
    )
    threshold: float | None = Field(None, description="Drift threshold of that test.")


class OnDrift(_Strict):
    issue: bool = Field(True, description="Open or update one issue per model on drift.")
    labels: list[str] = Field(
        default_factory=lambda: ["mlops-ci", "drift"], description="Labels of that issue."
    )
    dispatch: str | None = Field(
        None, description="Workflow file to dispatch on drift (e.g. `retrain.yml`)."
    )


class MonitorConfig(_Strict):
    reference: str = Field(
        "auto", description="Reference data path, or `auto` = training data of the stage holder."
    )
    current: str | None = Field(None, description="Current data: path, glob, DVC path or URL.")
    stage: str = Field("production", description="Stage whose model is monitored.")
    features: list[str] = Field(default_factory=list, description="Columns (default: all shared).")
    target: str | None = Field(None, description="Label column, for model quality.")
    prediction: str | None = Field(None, description="Prediction column, if present.")
    drift_share: float = Field(
        0.5, gt=0, le=1, description="Dataset drift when this share of features drift."
    )
    tests: dict[str, FeatureTest] = Field(
        default_factory=dict, description="Per-feature test and threshold overrides."
    )
    quality_gates: dict[str, Gate] = Field(
        default_factory=dict, description="Allowed degradation of model quality metrics."
    )
    on_drift: OnDrift = Field(
        default_factory=OnDrift, description="What happens when drift is found."
    )


ParamValue = str | int | float | bool | None | list[Any]


class ExperimentsConfig(_Strict):
    """Parameter sweeps: `mlops-ci sweep plan | run | merge` (see docs/experiments.md)."""

    grid: dict[str, list[ParamValue]] = Field(
        default_factory=dict,
        description="Values per dotted param key (`train.model.max_depth: [3, 5]`); "
        "every combination is one run.",
    )
    sets: list[dict[str, ParamValue]] = Field(
        default_factory=list,
        description="Explicit param sets, each one run, after the grid's runs.",
    )
    params_file: str | None = Field(
        None,
        description="Params file a key without `FILE:` is written to "
        "(default: the first params file, else `params.yaml`).",
    )
    metric: str | None = Field(
        None,
        description="Primary metric that ranks the runs (dotted key, optionally `file:key`; "
        "default: the first gated metric).",
    )
    direction: Literal["higher", "lower"] | None = Field(
        None,
        description="Which way the primary metric is better (default: its gate's, else higher).",
    )
    max_runs: int = Field(
        20, gt=0, le=256, description="Refuse a sweep with more runs (a matrix holds 256 jobs)."
    )

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[ParamValue]]) -> dict[str, list[ParamValue]]:
        import json

        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key {key!r} has no values")
            seen = [json.dumps(x, sort_keys=True, default=str) for x in values]
            if len(set(seen)) != len(seen):
                raise ValueError(f"grid key {key!r} lists a value twice")
        return v

    @field_validator("sets")
    @classmethod
    def _sets(cls, v: list[dict[str, ParamValue]]) -> list[dict[str, ParamValue]]:
        for i, item in enumerate(v):
            if not item:
                raise ValueError(f"set {i} is empty")
        return v

    @field_validator("params_file")
    @classmethod
    def _params_file(cls, v: str | None) -> str | None:
        return None if v is None else _check_repo_path(v)

    @model_validator(mode="after")
    def _plan_fits(self) -> ExperimentsConfig:
        from mlops_ci.core.experiments import SweepError, plan

        if self.grid or self.sets:
            try:
                plan(self.grid, self.sets, max_runs=self.max_runs)
            except SweepError as exc:
                raise ValueError(str(exc)) from None
        return self


class Config(_Strict):
    """The whole of `mlops-ci.yaml`."""

    version: Literal[1] = Field(1, description="Config format version.")
    pipeline: PipelineConfig = Field(
        default_factory=PipelineConfig, description="How the pipeline runs in CI."
    )
    baseline: Literal["git", "dvc", "reproduce", "none"] = Field(
        "dvc",
        description=(
            "Base values: `git` reads committed files only; `dvc` also reads DVC outputs at the "
            "base through the cache and remote; `reproduce` runs the base pipeline; `none`."
        ),
    )
    default_branch: str | None = Field(None, description="Default branch (default: detected).")
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig, description="Metrics files and their quality gates."
    )
    params: ParamsConfig = Field(default_factory=ParamsConfig, description="Params files to diff.")
    plots: PlotsConfig = Field(default_factory=PlotsConfig, description="Plots in the PR report.")
    data: DataConfig = Field(
        default_factory=DataConfig, description="DVC-tracked data: diff and update."
    )
    models: dict[str, ModelConfig] = Field(default_factory=dict, description="Registry models.")
    report: ReportConfig = Field(
        default_factory=ReportConfig, description="The PR report and how it is posted."
    )
    monitor: MonitorConfig = Field(
        default_factory=MonitorConfig, description="Drift and quality monitoring."
    )
    experiments: ExperimentsConfig = Field(
        default_factory=ExperimentsConfig,
        description="Parameter sweeps fanned out as a GitHub Actions matrix.",
    )

    @field_validator("models")
    @classmethod
    def _model_names(cls, v: dict[str, ModelConfig]) -> dict[str, ModelConfig]:
        for name in v:
            bare = name.split(":", 1)[-1]
            if not _NAME_RE.match(bare):
                raise ValueError(
                    f"model name {name!r} is not a valid GTO name "
                    "(letters, digits, '-', '_', '/'; starts and ends with a letter or digit)"
                )
        return v

    def model(self, name: str) -> ModelConfig:
        """The config of one model; a model not listed gets the defaults."""
        if name in self.models:
            return self.models[name]
        return ModelConfig()

    def gates_for_model(self, name: str) -> dict[str, Gate]:
        model = self.model(name)
        return model.gates or self.metrics.gates


class LoadedConfig(BaseModel):
    """A config and where it came from (for messages and `validate`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: Config
    path: Path | None
    root: Path
    sources: dict[str, str] = Field(default_factory=dict)


# --- YAML loading: safe, with line numbers, duplicate keys and tabs rejected ----------


def _yaml_load_with_lines(text: str, filename: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Safe-load YAML and return the data plus a map from key paths to line numbers."""
    import yaml

    lines: dict[tuple[str, ...], int] = {}

    class _Loader(yaml.SafeLoader):
        pass

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

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)

    # Record the line of every key path by walking the node tree once (iteratively, with
    # a budget: aliases make a tree of a few lines expand to billions of nodes).
    def walk(root: yaml.Node) -> None:
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

    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is not None:
            walk(node)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ConfigError(
            f"{filename}: nested too deeply (more than {MAX_DEPTH} levels)", file=filename
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{filename}:{line}" if line else filename
        hint = None
        if "\t" in text and ("tab" in str(problem).lower() or "'\\t'" in str(problem)):
            problem = f"{problem} (YAML does not allow tabs for indentation)"
            hint = "indent with spaces"
        raise ConfigError(f"{where}: {problem}", hint=hint, file=filename, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: invalid YAML: {_first_line(exc)}", file=filename) from None
    return data, lines


def _first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break (YAML appends a position)."""
    return str(exc).strip().split("\n", 1)[0]


def _known_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at `path` (for key suggestions)."""
    model: type[BaseModel] | None = Config
    for part in path:
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            # Inside a dict of models (models.NAME, gates.KEY, tests.FEATURE): skip the key.
            continue
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def format_validation_error(
    exc: ValidationError, filename: str, lines: Mapping[tuple[str, ...], int]
) -> ConfigError:
    """The first validation problem as one line: file:line: field: what was expected."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    field = ".".join(p if isinstance(p, str) and p.isprintable() else repr(p) for p in loc)
    field = field or "(top level)"
    line = None
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(str(p) for p in loc[:n]))
        if line:
            break
    where = f"{filename}:{line}" if line else filename
    hint = None
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        key = str(loc[-1])
        choices = _known_keys(parent) if parent else []
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
        message = f"{where}: {field}: unknown key"
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif choices:
            hint = "valid keys here: " + ", ".join(choices)
    else:
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = ""
        if err["type"] not in ("missing", "value_error") and not isinstance(value, dict | list):
            shown = f" (got {value!r})"[:120]
        message = f"{where}: {field}: {msg}{shown}"
    extra = len(exc.errors()) - 1
    if extra:
        hint = (hint + "; " if hint else "") + f"{extra} more problem(s) after fixing this one"
    return ConfigError(message, hint=hint, file=filename, line=line)


def find_config(root: Path) -> Path | None:
    for name in CONFIG_FILENAMES:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def parse_config(text: str | bytes, filename: str = "mlops-ci.yaml") -> Config:
    """Parse config text; raise one ConfigError line on any problem."""
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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `mlops-ci.yaml`, for editors and docs."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlops-ci.yaml"
    return schema
