"""The pydantic models of every section of `mlops-ci.yaml`, and its JSON Schema.

Every model forbids unknown keys (a typo must not silently change behaviour) and
paths must stay inside the repository. Reading the file is in `loading`.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlops_ci.config.deploy import DeployConfig
from mlops_ci.config.evaluation import EvaluationConfig
from mlops_ci.config.experiments import ExperimentsConfig

SCHEMA_VERSION = 1

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
    vs: str = Field(
        "merge-base",
        description="PR report: the baseline `max_drop*` compare with: `merge-base`, a "
        "registry stage (`production`: its holder's metrics) or `branch-tip`.",
    )
    min_gain: float | None = Field(
        None, ge=0, description="Smallest required improvement over the base, absolute."
    )
    significance: Literal["off", "required"] = Field(
        "off",
        description="`required`: a regression fails, and an improvement counts, only when "
        "its bootstrap interval excludes 0 (needs `evaluation.file`).",
    )

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
    run_cache: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Restore unchanged stages from DVC's run-cache instead of running them "
        "(`dvc repro --pull`; `dvc push --run-cache` after): auto = when a remote is "
        "configured and `pull` is not `never`.",
    )


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
        """The GitHub environment that guards `stage`."""
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
    baselines: list[str] = Field(
        default_factory=lambda: ["production"],
        description="Metric columns besides the merge base: registry stages (the holder's "
        "metrics, from its register tag or commit; left out while no version holds it) "
        "and `branch-tip` (the base branch's tip).",
    )
    model: str | None = Field(
        None,
        description="The model whose stage holders `baselines` name (default: the only "
        "model in `models:`, else the only one holding the stage).",
    )

    @field_validator("baselines")
    @classmethod
    def _baselines(cls, v: list[str]) -> list[str]:
        for name in v:
            if name == "merge-base" or not _NAME_RE.match(name):
                raise ValueError(f"{name!r} is no baseline: a stage name or `branch-tip`")
        if len(set(v)) != len(v):
            raise ValueError("baselines must be unique")
        return v

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
    max_memory: int | str | None = Field(
        None,
        description="Data (estimated at 8 bytes a value) beyond which the monitor streams it "
        "through quantile sketches: bytes or `4GiB`/`512MB` (default: a quarter of RAM).",
    )

    @field_validator("max_memory")
    @classmethod
    def _max_memory(cls, v: int | str | None) -> int | None:
        from mlops_ci.core.sizes import parse_size

        return None if v is None else parse_size(v)


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
    evaluation: EvaluationConfig = Field(
        default_factory=EvaluationConfig,
        description="Per-example evaluation rows: bootstrap intervals of metric deltas.",
    )
    deploy: DeployConfig = Field(
        default_factory=DeployConfig, description="Serving, its promotion proof and KServe."
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
        """The gates a version of `name` must pass: its own, else `metrics.gates`."""
        model = self.model(name)
        return model.gates or self.metrics.gates


class LoadedConfig(BaseModel):
    """A config and where it came from (for messages and `validate`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    config: Config
    path: Path | None
    root: Path
    sources: dict[str, str] = Field(default_factory=dict)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `mlops-ci.yaml`, for editors and docs."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlops-ci.yaml"
    return schema
