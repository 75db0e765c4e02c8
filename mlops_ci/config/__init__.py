"""`mlops-ci.yaml`: pydantic models of every section, with defaults from `dvc.yaml`.

Loading is strict where a typo would silently change behaviour: unknown keys are
errors that name the closest valid key, YAML duplicate keys and tabs are errors,
and paths must stay inside the repository. Every error is one `ConfigError` line
naming the file, the field (dotted) and, where YAML knows it, the line.

`models` holds the sections and the JSON Schema, `loading` reads the file (YAML
with line numbers, then `dvc.yaml` defaults), `error_messages` turns a validation
error into that one line.
"""

from mlops_ci.config.deploy import DeployConfig, InferenceLogConfig
from mlops_ci.config.error_messages import format_validation_error
from mlops_ci.config.experiments import ExperimentsConfig, ParamValue
from mlops_ci.config.loading import (
    CONFIG_FILENAMES,
    MAX_DEPTH,
    MAX_NODES,
    apply_dvc_defaults,
    find_config,
    load_config,
    parse_config,
)
from mlops_ci.config.models import (
    SCHEMA_VERSION,
    Config,
    DataConfig,
    FeatureTest,
    Gate,
    LoadedConfig,
    MetricsConfig,
    ModelCard,
    ModelConfig,
    MonitorConfig,
    OnDrift,
    ParamsConfig,
    PipelineConfig,
    PlotsConfig,
    PromotionPolicy,
    ReportConfig,
    json_schema,
)

__all__ = [
    "CONFIG_FILENAMES",
    "MAX_DEPTH",
    "MAX_NODES",
    "SCHEMA_VERSION",
    "Config",
    "DataConfig",
    "DeployConfig",
    "ExperimentsConfig",
    "FeatureTest",
    "Gate",
    "InferenceLogConfig",
    "LoadedConfig",
    "MetricsConfig",
    "ModelCard",
    "ModelConfig",
    "MonitorConfig",
    "OnDrift",
    "ParamValue",
    "ParamsConfig",
    "PipelineConfig",
    "PlotsConfig",
    "PromotionPolicy",
    "ReportConfig",
    "apply_dvc_defaults",
    "find_config",
    "format_validation_error",
    "json_schema",
    "load_config",
    "parse_config",
]
