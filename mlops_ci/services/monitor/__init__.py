"""The monitoring journey: current data against the data the stage's model was trained on.

Steps: find who holds the stage (registry) → read the reference and the current
data (`reference`; the reference through DVC at the holder's commit) → per-feature
drift (`core.drift`) and, where labels exist, model quality (`quality`) → `drift.md`
(rendered by `report.drift`) and `drift.json` (`request`) → on GitHub one issue per
model (opened or reopened on drift, updated on every run, closed with a comment when
the drift clears) and an optional retrain dispatch, at most once while a retrain pull
request is open (`issue`). The command tells the runner (action outputs, job summary).
"""

from __future__ import annotations

from mlops_ci.services.monitor.journey import (
    models_to_monitor,
    monitor_model,
    output_directory,
    run_monitor,
    write_outputs,
)
from mlops_ci.services.monitor.reference import training_data_paths
from mlops_ci.services.monitor.request import (
    DEFAULT_OUTPUT,
    SCHEMA,
    SCHEMA_VERSION,
    DataSource,
    GitHubOutcome,
    MonitorOutcome,
    MonitorRequest,
    Publish,
    drift_json,
    feature_json,
)

__all__ = [
    "DEFAULT_OUTPUT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "DataSource",
    "GitHubOutcome",
    "MonitorOutcome",
    "MonitorRequest",
    "Publish",
    "drift_json",
    "feature_json",
    "models_to_monitor",
    "monitor_model",
    "output_directory",
    "run_monitor",
    "training_data_paths",
    "write_outputs",
]
