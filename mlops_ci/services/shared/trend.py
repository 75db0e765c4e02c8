"""The trend of the gated metrics on the base branch, shown in the PR report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_ci.config import LoadedConfig
from mlops_ci.errors import MlopsCIError


def collect_trend(root: Path, loaded: LoadedConfig, branch: str | None) -> dict[str, Any]:
    """`report.trend`: the gated metrics over the newest commits of the base branch."""
    from mlops_ci.core.metric_history import history_json
    from mlops_ci.services.shared.metric_history import metric_history

    config = loaded.config
    branch = (branch or config.default_branch or "").removeprefix("origin/") or None
    try:
        history = metric_history(
            root,
            branch,
            list(config.metrics.gates) or None,
            20,
            files=list(config.metrics.files),
            config_path=loaded.path,
        )
    except MlopsCIError as exc:
        return {"branch": branch or "", "error": exc.message}
    return history_json(history)
