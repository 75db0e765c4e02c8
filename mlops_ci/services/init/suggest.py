"""What `mlops-ci init` writes into `mlops-ci.yaml`, inferred from `dvc.yaml`: the metrics
files with a suggested gate per metric whose name says which way is better, the params
files, and a model for each model-like output."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from mlops_ci.config import parse_config
from mlops_ci.errors import MlopsCIError

CONFIG_FILENAME = "mlops-ci.yaml"

MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".onnx", ".pt", ".pth")

# Metric name words -> which way is better. Matched against the words of the last
# part of a dotted key (`test.roc_auc` -> `roc`, `auc`).
_HIGHER_WORDS = frozenset(
    {"accuracy", "acc", "f1", "auc", "roc", "precision", "recall", "r2", "map", "iou",
     "dice", "bleu", "rouge", "ndcg", "score", "sensitivity", "specificity"}
)  # fmt: skip
_LOWER_WORDS = frozenset(
    {"loss", "error", "err", "rmse", "mse", "mae", "mape", "logloss", "perplexity", "wer",
     "cer", "latency"}
)  # fmt: skip
# A relative regression allowed by the suggested gates; a starting point to tune.
SUGGESTED_MAX_DROP_PCT = 5
_SAFE_SCALAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


@dataclass(frozen=True)
class SuggestedGate:
    metric: str
    direction: Literal["higher", "lower"]


def direction_for(metric: str) -> Literal["higher", "lower"] | None:
    """Which way is better for a metric, guessed from its name; None when unsure."""
    leaf = metric.rsplit(".", 1)[-1].rsplit(":", 1)[-1].lower()
    words = set(re.split(r"[^a-z0-9]+", leaf)) - {""}
    if words & _LOWER_WORDS or leaf in _LOWER_WORDS:
        return "lower"
    if words & _HIGHER_WORDS or leaf in _HIGHER_WORDS:
        return "higher"
    return None


def yaml_scalar(value: str) -> str:
    """A string as a YAML scalar: plain when unambiguous, else double-quoted."""
    if _SAFE_SCALAR.match(value) and value.lower() not in _YAML_WORDS:
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def _metric_keys(root: Path, files: Iterable[str]) -> dict[str, list[str]]:
    """Numeric metric keys per metrics file present in the working tree."""
    from mlops_ci.core.formats import parse_metrics
    from mlops_ci.core.metrics import flatten, is_number

    found: dict[str, list[str]] = {}
    for name in files:
        path = root / name
        if not path.is_file():
            continue
        try:
            data = parse_metrics(path.read_bytes(), name)
        except MlopsCIError:
            continue  # a metrics file we cannot read gets no suggested gates
        keys = [key for key, value in flatten(data).items() if key and is_number(value)]
        found[name] = keys
    return found


def suggest_gates(metrics_by_file: Mapping[str, Sequence[str]]) -> list[SuggestedGate]:
    """A gate per metric whose name says which way is better (pure)."""
    seen: dict[str, int] = {}
    for keys in metrics_by_file.values():
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
    gates: list[SuggestedGate] = []
    for file, keys in metrics_by_file.items():
        for key in keys:
            direction = direction_for(key)
            if direction is None:
                continue
            # The same key in two files is named with its file, `file:key`.
            name = key if seen[key] == 1 else f"{file}:{key}"
            gates.append(SuggestedGate(name, direction))
    return gates


def _model_name(path: str, taken: set[str]) -> str:
    stem = PurePosixPath(path).stem
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", stem).strip("-_") or "model"
    if not name[0].isalnum():
        name = "m" + name
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    taken.add(candidate)
    return candidate


def suggest_config(root: Path) -> str:
    """The text of `mlops-ci.yaml` for the project at `root`, from its `dvc.yaml`."""
    from mlops_ci.dvcfile import read_dvc_yaml

    declared = read_dvc_yaml(root)
    metrics = _metric_keys(root, declared.metrics)
    gates = suggest_gates(metrics)
    params = declared.params or (["params.yaml"] if (root / "params.yaml").is_file() else [])
    model_outs = [out for out in declared.outs if out.lower().endswith(MODEL_SUFFIXES)]

    lines = [
        "# mlops-ci configuration, written by `mlops-ci init`.",
        "# Check it with `mlops-ci validate`; `mlops-ci schema` prints its JSON Schema.",
        "version: 1",
        "",
        "pipeline:",
        "  run: dvc repro",
        "",
    ]
    lines.append("metrics:")
    if declared.metrics:
        lines.append("  # Files: read from dvc.yaml (" + ", ".join(declared.metrics) + ").")
    else:
        lines.append("  # dvc.yaml declares no metrics: list your metrics files here.")
        lines.append("  files: []")
    if gates:
        lines.append("  # Suggested from the metrics found; tune min/max/max_drop to your model.")
        lines.append("  gates:")
        for gate in gates:
            lines.append(f"    {yaml_scalar(gate.metric)}:")
            lines.append(f"      direction: {gate.direction}")
            lines.append(f"      max_drop_pct: {SUGGESTED_MAX_DROP_PCT}")
    else:
        lines.append("  gates: {}")
    lines.append("")
    lines.append("params:")
    if params:
        lines.append("  files:")
        lines.extend(f"    - {yaml_scalar(p)}" for p in params)
    else:
        lines.append("  files: []")
    lines.append("")
    if model_outs:
        lines.append("models:")
        taken: set[str] = set()
        for out in model_outs:
            lines.append(f"  {_model_name(out, taken)}:")
            lines.append(f"    path: {yaml_scalar(out)}")
            lines.append("    stages: [staging, production]")
    else:
        lines.append("# No model file (.pkl, .joblib, .onnx, .pt) among the dvc.yaml outs:")
        lines.append("# add your models here to register, release and promote them.")
        lines.append("models: {}")
    text = "\n".join(lines) + "\n"
    parse_config(text, CONFIG_FILENAME)  # what init writes, validate must accept
    return text
