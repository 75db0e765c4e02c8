"""Model quality on labelled current data: predictions (a prediction column, or the
stage holder's model scoring the data), scored and compared with what was recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_ci.core.quality import QualityReport
from mlops_ci.errors import MlopsCIError
from mlops_ci.services.monitor.reference import Holder, load_model
from mlops_ci.services.monitor.request import MonitorRequest

if TYPE_CHECKING:
    import numpy as np

    from mlops_ci.adapters.tables import Table
    from mlops_ci.config import Config
    from mlops_ci.services.shared.registry import Registry


def _model_predictions(
    request: MonitorRequest,
    config: Config,
    *,
    model: str,
    holder: Holder | None,
    reference: Table,
    current: Table,
) -> tuple[np.ndarray[Any, Any] | None, str | None]:
    """(predictions, None): the stage holder's model (or --model-path) scoring the
    current data; or (None, why it could not)."""
    import numpy as np

    from mlops_ci.errors import DvcError

    monitor = config.monitor
    try:
        loaded = load_model(request, holder, config.model(model).path)
    except DvcError as exc:  # the model file is not reachable: drift still counts
        return None, exc.message
    if loaded is None:
        return None, "no model file to score (set models.<name>.path or --model-path)"
    names = getattr(loaded, "feature_names_in_", None)
    features = (
        [str(n) for n in names]
        if names is not None
        else [n for n in reference.columns if n not in (monitor.target, monitor.prediction)]
    )
    missing = [n for n in features if n not in current.columns]
    if missing:
        return None, f"the current data lacks model features: {', '.join(missing[:5])}"
    if any(current.columns[n].kind != "numeric" for n in features):
        return None, "the model's features include text columns; add a prediction column"
    matrix = np.column_stack([current.columns[n].values for n in features])
    usable = ~np.isnan(matrix).any(axis=1)
    predicted = np.full(matrix.shape[0], np.nan, dtype=object)
    try:
        predicted[usable] = loaded.predict(matrix[usable])
    except Exception as exc:
        return None, f"the model could not score the current data: {exc}".splitlines()[0]
    return predicted, None


def _recorded_metrics(
    registry: Registry | None, model: str, holder: Holder | None
) -> dict[str, Any]:
    """The metrics the holder's version recorded at its commit (none when unreadable)."""
    if registry is None or holder is None:
        return {}
    from mlops_ci.services.shared.registry import flat_metrics, read_metrics_at

    try:
        return flat_metrics(read_metrics_at(registry, model, holder.commit))
    except MlopsCIError:
        return {}


def model_quality(
    request: MonitorRequest,
    config: Config,
    *,
    model: str,
    holder: Holder | None,
    registry: Registry | None,
    reference: Table,
    current: Table,
) -> tuple[QualityReport | None, str | None]:
    """(quality report, None), or (None, why quality was not measured)."""
    import numpy as np

    from mlops_ci.core import quality as core

    monitor = config.monitor
    target = monitor.target
    if not target:
        return None, None
    if target not in current.columns:
        return None, f"no `{target}` column in the current data"
    truth = current.labels(target)
    if monitor.prediction and monitor.prediction in current.columns:
        predicted = current.labels(monitor.prediction)
    else:
        scored, note = _model_predictions(
            request, config, model=model, holder=holder, reference=reference, current=current
        )
        if scored is None:
            return None, note
        predicted = scored
    recorded = _recorded_metrics(registry, model, holder)
    gates = dict(monitor.quality_gates) or dict(config.gates_for_model(model))
    try:
        task, metrics, rows, skipped = core.score(np.asarray(truth), np.asarray(predicted))
    except ValueError as exc:
        return None, str(exc)
    return core.compare(task, metrics, recorded, gates, rows=rows, skipped_rows=skipped), None
