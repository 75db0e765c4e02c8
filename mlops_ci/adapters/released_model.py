"""A released model file, checked and loaded, that scores columns of plain values.

The server, the promotion proof and the release's recorded sample all score through
`LoadedModel.score`, so the sample a release records is what the server must answer.
The file's sha256 is checked *before* anything is unpickled: a pickle runs code, so
only the exact bytes the release recorded are ever loaded.

scikit-learn models come as pickle/joblib files; ONNX files (`.onnx`) run on
onnxruntime, whose output is the label and, for classifiers, the class probabilities.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.core.signature import Signature, plain
from mlops_ci.errors import InputError, RefusedError


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def model_format(path: Path | str) -> str:
    """`onnx` for an `.onnx` file, else `sklearn` (pickle or joblib)."""
    return "onnx" if str(path).lower().endswith(".onnx") else "sklearn"


def verify(path: Path, expected_sha256: str) -> None:
    """Refuse a model file whose bytes are not the ones the release recorded."""
    actual = sha256_of(path)
    if actual != expected_sha256.lower():
        raise RefusedError(
            f"{path.name}: sha256 {actual} differs from the release's {expected_sha256}",
            hint="the model file was changed after its release; it is not loaded",
        )


@dataclass
class LoadedModel:
    """A model that takes columns in its signature's order and gives plain outputs."""

    model: Any
    signature: Signature
    format: str = "sklearn"
    classes: list[Any] = field(default_factory=list)

    @property
    def has_proba(self) -> bool:
        if self.format == "onnx":
            return len(self.model.get_outputs()) > 1
        return callable(getattr(self.model, "predict_proba", None))

    @property
    def label_datatype(self) -> str:
        """The V2 datatype of the `predict` output, as the answers carry it."""
        from mlops_ci.core.inference import datatype_of

        if self.format == "onnx":
            kind = str(self.model.get_outputs()[0].type)
            if "string" in kind:
                return "BYTES"
            if "bool" in kind:
                return "BOOL"
            return "FP64" if ("float" in kind or "double" in kind) else "INT64"
        # A model without classes is a regressor: its predictions are numbers.
        return datatype_of(self.classes) if self.classes else "FP64"

    def _matrix(self, columns: Mapping[str, Sequence[Any]]) -> Any:
        import numpy as np

        names = self.signature.names
        numeric = all(f.dtype in ("integer", "float") for f in self.signature.features)
        if numeric:
            # numpy reads None as NaN in a float array: one conversion per column.
            by_feature = np.array([columns[n] for n in names], dtype=np.float64)
            return np.ascontiguousarray(by_feature.T)
        matrix = np.empty((len(columns[names[0]]), len(names)), dtype=object)
        for j, name in enumerate(names):
            matrix[:, j] = list(columns[name])
        return matrix

    def score(
        self, columns: Mapping[str, Sequence[Any]]
    ) -> tuple[list[Any], list[list[float]] | None]:
        """(predictions, class probabilities or None) as plain values, floats exact."""
        matrix = self._matrix(columns)
        if self.format == "onnx":
            return self._score_onnx(matrix)
        with warnings.catch_warnings():
            # A model fitted on a named frame warns about a plain array: same columns,
            # same order (the signature's), so the warning says nothing here.
            warnings.simplefilter("ignore", UserWarning)
            predictions = plain(self.model.predict(matrix))
            proba = plain(self.model.predict_proba(matrix)) if self.has_proba else None
        return predictions, proba

    def _score_onnx(self, matrix: Any) -> tuple[list[Any], list[list[float]] | None]:
        import numpy as np

        first = self.model.get_inputs()[0]
        kind = np.float64 if "double" in str(first.type) else np.float32
        outputs = self.model.run(None, {first.name: matrix.astype(kind)})
        predictions = plain(np.asarray(outputs[0]).reshape(-1))
        if len(outputs) < 2:
            return predictions, None
        raw = outputs[1]
        if isinstance(raw, list) and raw and isinstance(raw[0], dict):
            # ZipMap output: one {class: probability} per row, classes in model order.
            keys = list(raw[0])
            return predictions, [[float(row[k]) for k in keys] for row in raw]
        return predictions, plain(np.asarray(raw, dtype=np.float64))


def _classes(model: Any, fmt: str) -> list[Any]:
    if fmt == "onnx":
        return []
    found = getattr(model, "classes_", None)
    return [] if found is None else list(plain(found))


def load_model(path: Path, signature: Signature, *, fmt: str | None = None) -> LoadedModel:
    """Load a model file (already verified): joblib/pickle, or ONNX on onnxruntime."""
    kind = fmt or model_format(path)
    try:
        if kind == "onnx":
            import onnxruntime

            model: Any = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        else:
            import joblib

            model = joblib.load(path)
    except ImportError as exc:
        raise InputError(
            f"{path.name}: {kind} models need {exc.name}",
            hint="install the serving extra: pip install 'mlops-ci[serve]'",
        ) from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path.name}: not a loadable {kind} model: {reason[:300]}") from None
    return LoadedModel(model, signature, kind, _classes(model, kind))
