"""A released model's signature: its input schema and a sample of inputs with outputs.

The training data is what `dvc.lock` at the released commit records as the data deps
of the stage that writes the model (`core.dvcfiles.training_data`), read through DVC
at that commit (a split directory gives its training part), as the monitor reads its
`auto` reference. The schema (`core.signature`) lists the model's inputs: the
columns its `feature_names_in_` names, else every column but the target
(`monitor.target`). A seeded sample of rows goes through the model's `predict` (and
`predict_proba`); `sample.json` keeps the inputs and the outputs, floats exact.
Anything unreadable gives one line saying why, and no signature: a release without
one still ships.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.core.signature import Feature, Signature, as_value, infer_labels, infer_numeric
from mlops_ci.errors import MlopsCIError

if TYPE_CHECKING:
    from mlops_ci.adapters.tables import Table
    from mlops_ci.services.shared.registry import Registry

SAMPLE_ROWS = 20
SAMPLE_SEED = 0


class NoSignature(Exception):
    """Why a signature cannot be made (one line)."""


@dataclass
class SignatureAssets:
    signature: Signature
    sample: dict[str, Any]

    def files(self) -> dict[str, bytes]:
        """`signature.json` and `sample.json` (feature order kept, floats as repr)."""
        return {
            "signature.json": _dump(self.signature.to_dict()),
            "sample.json": _dump(self.sample),
        }


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode("utf-8")


def training_files_at(root: Path, commit: str, model_path: str | None) -> tuple[Any, list[str]]:
    """(DVC filesystem at ``commit``, the training data files of the model there)."""
    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.adapters.tables import training_tables
    from mlops_ci.core.dvcfiles import training_data
    from mlops_ci.core.lockfile import read_lock

    raw = Git(root).show_file(commit, "dvc.lock")
    if raw is None:
        raise NoSignature(f"dvc.lock is absent at {commit[:12]}")
    deps = training_data(read_lock(raw.decode("utf-8", "replace")), model_path)
    if not deps:
        raise NoSignature(f"dvc.lock at {commit[:12]} has no stage writing {model_path} with data")
    fs = Dvc(root).fs_at_rev(commit)
    files = training_tables(fs, deps)
    if not files:
        raise NoSignature(f"no CSV or Parquet file among {', '.join(deps)} at {commit[:12]}")
    return fs, files


def _load_model(path: Path) -> Any:
    """The model object (an onnxruntime session for `.onnx`). Unpickling runs code:
    only the project's own released file."""
    from mlops_ci.adapters.released_model import model_format

    if model_format(path) == "onnx":
        import onnxruntime

        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    import joblib

    return joblib.load(path)


def _schema(table: Table, model: Any, target: str | None, files: list[str]) -> Signature:
    def feature(name: str) -> Feature:
        column = table.columns[name]
        if column.kind == "numeric":
            return infer_numeric(name, column.values)
        return infer_labels(name, column.categories, column.values)

    declared = getattr(model, "feature_names_in_", None)
    if declared is not None:
        inputs = [str(n) for n in declared]
        absent = [n for n in inputs if n not in table.columns]
        if absent:
            raise NoSignature(f"the model's feature {absent[0]!r} is not in the training data")
        rest = [c for c in table.columns if c not in inputs]
        target = target if target in table.columns else (rest[0] if len(rest) == 1 else None)
    else:
        inputs = [c for c in table.columns if c != target]
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, int) and expected != len(inputs):
        hint = (
            " (set monitor.target to the label column)"
            if not target
            else ""
            if target in table.columns
            else f" (monitor.target {target!r} is not one of its columns)"
        )
        raise NoSignature(
            f"the model takes {expected} features; the training data has {len(inputs)} inputs"
            + hint
        )
    target_feature = feature(target) if target and target in table.columns else None
    return Signature(tuple(feature(n) for n in inputs), target_feature, tuple(files))


def _sample(table: Table, model: Any, signature: Signature, size: int, seed: int) -> list[Any]:
    """Seeded rows of the training data with the model's outputs, scored by the code the
    server scores with (`LoadedModel.score`): what the server must answer."""
    import numpy as np

    from mlops_ci.adapters.released_model import LoadedModel

    rng = np.random.default_rng(seed)
    picked = sorted(
        int(i) for i in rng.choice(table.rows, size=min(size, table.rows), replace=False)
    )
    columns = {f.name: table.labels(f.name) for f in signature.features}
    rows = [{f.name: as_value(f, columns[f.name][i]) for f in signature.features} for i in picked]
    fmt = "onnx" if type(model).__name__ == "InferenceSession" else "sklearn"
    scorer = LoadedModel(model, signature, fmt)
    predictions, proba = scorer.score({n: [r[n] for r in rows] for n in signature.names})
    outputs: dict[str, Any] = {"predict": predictions}
    if proba is not None:
        outputs["predict_proba"] = proba
    return [
        {"row": index, "inputs": row, "outputs": {k: v[n] for k, v in outputs.items()}}
        for n, (index, row) in enumerate(zip(picked, rows, strict=True))
    ]


def signature_at(
    reg: Registry,
    commit: str,
    model_path: str,
    model_file: Path,
    *,
    target: str | None = None,
    size: int = SAMPLE_ROWS,
    seed: int = SAMPLE_SEED,
) -> SignatureAssets:
    """The signature of the model file (as released from ``commit``) and its sample.

    Raises `NoSignature` with one line when the data or the model cannot be used.
    """
    from mlops_ci.adapters.tables import read_files

    try:
        fs, files = training_files_at(reg.root, commit, model_path)
        table = read_files(fs, files, source=", ".join(files), root=reg.root, revision=commit)
    except NoSignature:
        raise
    except MlopsCIError as exc:
        raise NoSignature(f"the training data cannot be read: {exc.message}") from None
    except Exception as exc:  # DVC's own errors: one line, the release goes on
        raise NoSignature(f"the training data cannot be read: {_first_line(exc)}") from None
    try:
        model = _load_model(model_file)
    except Exception as exc:  # any unpickling failure: one line
        raise NoSignature(f"{model_path} cannot be loaded: {_first_line(exc)}") from None
    signature = _schema(table, model, target, files)
    try:
        rows = _sample(table, model, signature, size, seed)
    except Exception as exc:  # the model refusing its own data: one line
        raise NoSignature(
            f"the model cannot predict its training rows: {_first_line(exc)}"
        ) from None
    sample = {"commit": commit, "seed": seed, "source": files, "rows": rows}
    return SignatureAssets(signature, sample)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
