"""What `validate` says it understood: a short plain-text summary of a loaded config."""

from __future__ import annotations

from mlops_ci.config import Gate, LoadedConfig


def _gate_words(gate: Gate) -> str:
    parts = [f"{gate.direction} is better"]
    if gate.min is not None:
        parts.append(f"min {gate.min:g}")
    if gate.max is not None:
        parts.append(f"max {gate.max:g}")
    if gate.max_drop is not None:
        parts.append(f"may drop {gate.max_drop:g}")
    if gate.max_drop_pct is not None:
        parts.append(f"may drop {gate.max_drop_pct:g}%")
    if not gate.required:
        parts.append("optional")
    return ", ".join(parts)


def describe(loaded: LoadedConfig) -> str:
    """A person-readable summary of the config, with where each default came from."""
    cfg = loaded.config
    where = str(loaded.path) if loaded.path else "no mlops-ci.yaml (defaults and dvc.yaml)"
    lines = [f"config: {where} is valid"]
    src = loaded.sources
    metrics_from = f" (from {src['metrics.files']})" if "metrics.files" in src else ""
    params_from = f" (from {src['params.files']})" if "params.files" in src else ""
    lines.append(
        f"pipeline: `{cfg.pipeline.run}`; pull {cfg.pipeline.pull}; lock {cfg.pipeline.lock}"
    )
    lines.append(f"baseline: {cfg.baseline}")
    lines.append(f"metrics files: {', '.join(cfg.metrics.files) or 'none'}{metrics_from}")
    lines.append(f"params files: {', '.join(cfg.params.files) or 'none'}{params_from}")
    if cfg.metrics.gates:
        lines.append("gates:")
        lines.extend(f"  {key}: {_gate_words(g)}" for key, g in cfg.metrics.gates.items())
    else:
        lines.append("gates: none (the report shows changes but never fails)")
    if cfg.models:
        lines.append("models:")
        for name, model in cfg.models.items():
            stages = " → ".join(model.stages)
            path = model.path or "(no file)"
            lines.append(
                f"  {name}: {path}; stages {stages}; promotion order {model.promotion.order}"
            )
    else:
        lines.append("models: none")
    lines.append(
        f"report: comment {cfg.report.comment}; check run {'on' if cfg.report.check_run else 'off'}"
    )
    mon = cfg.monitor
    lines.append(
        f"monitor: reference {mon.reference}; current {mon.current or 'not set'}; "
        f"drift when ≥{mon.drift_share:g} of features drift"
    )
    return "\n".join(lines)
