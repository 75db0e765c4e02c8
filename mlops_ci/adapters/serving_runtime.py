"""The MLServer runtime of a released model: our glue on a maintained server.

MLServer owns the HTTP and gRPC servers, the Open Inference Protocol endpoints, health,
metadata, worker processes and metrics; this class only loads the released file (its
sha256 checked first), checks each request against the release's signature
(`core.inference`: a wrong field is a 400 naming it, and the server goes on), scores,
and hands rows to the inference log when one is configured.

`model-settings.json` (written by `services.shared.model_repository`) carries, under
`parameters.extra`: `sha256` of the model file, `format` (`sklearn` or `onnx`),
`signature` (file name beside the model), `max_rows` per request and `log`
(`path`, `sample`, `rotate_rows`) for the inference log.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path
from typing import Any

from mlserver import MLModel
from mlserver.errors import MLServerError
from mlserver.types import (
    InferenceRequest,
    InferenceResponse,
    MetadataTensor,
    ResponseOutput,
)
from mlserver.utils import get_model_uri

from mlops_ci.core.inference import (
    DEFAULT_MAX_ROWS,
    RequestProblem,
    Tensor,
    decode_inputs,
    encode_outputs,
)
from mlops_ci.core.signature import Signature

#: The inference log is flushed at least this often, so a stopped worker loses little.
LOG_FLUSH_SECONDS = 10.0
_BAD_REQUEST = 400


class ReleasedModel(MLModel):  # type: ignore[misc]  # MLServer ships no type hints
    """A released scikit-learn or ONNX model behind the Open Inference Protocol."""

    async def load(self) -> bool:
        from mlops_ci.adapters.released_model import load_model, verify

        extra: dict[str, Any] = dict(self.settings.parameters.extra or {})
        path = Path(await get_model_uri(self.settings))
        expected = str(extra.get("sha256") or "")
        if not expected:
            raise MLServerError(f"{self.name}: model-settings.json has no sha256 for {path.name}")
        verify(path, expected)
        signature_file = path.parent / str(extra.get("signature") or "signature.json")
        signature = Signature.from_dict(json.loads(signature_file.read_text("utf-8")))
        self._loaded = load_model(path, signature, fmt=extra.get("format"))
        self._max_rows = int(extra.get("max_rows") or DEFAULT_MAX_ROWS)
        self._log = _open_log(extra.get("log"), self.name, self.version or "")
        if self._log is not None:
            # MLServer stops on SIGTERM without unloading its models: the rows still
            # buffered are written when the process exits.
            atexit.register(self._log.close)
        self._flushed = time.monotonic()
        self.inputs = [
            MetadataTensor(name=f.name, datatype=_wire_type(f.dtype), shape=[-1])
            for f in signature.features
        ]
        self.outputs = [
            MetadataTensor(name="predict", datatype=self._loaded.label_datatype, shape=[-1])
        ]
        if self._loaded.has_proba:
            self.outputs.append(
                MetadataTensor(name="predict_proba", datatype="FP64", shape=[-1, -1])
            )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        tensors = [
            Tensor(i.name, tuple(i.shape), _datatype(i.datatype), _data(i.data))
            for i in payload.inputs
        ]
        try:
            columns = decode_inputs(tensors, self._loaded.signature, max_rows=self._max_rows)
            predictions, proba = self._loaded.score(columns)
        except RequestProblem as exc:
            raise MLServerError(str(exc), _BAD_REQUEST) from None
        except (ValueError, TypeError) as exc:
            # The signature let the rows through and the model still refused them.
            raise MLServerError(f"the model cannot score these rows: {exc}", _BAD_REQUEST) from None
        if self._log is not None:
            self._record(columns, predictions, proba)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=[ResponseOutput(**o) for o in encode_outputs(predictions, proba)],
        )

    async def unload(self) -> bool:
        if getattr(self, "_log", None) is not None:
            self._log.close()
        return True

    def _record(self, columns: Any, predictions: list[Any], proba: Any) -> None:
        import pyarrow as pa

        outputs: dict[str, Any] = {"prediction": predictions}
        if proba is not None:
            labels = self._loaded.classes or list(range(len(proba[0]) if proba else 0))
            for j, label in enumerate(labels):
                outputs[f"proba_{label}"] = [row[j] for row in proba]
        try:
            self._log.record(pa.table(dict(columns)), pa.table(outputs))
            if time.monotonic() - self._flushed > LOG_FLUSH_SECONDS:
                self._log.flush()
                self._flushed = time.monotonic()
        except Exception as exc:  # the log must never cost an answer
            sys.stderr.write(f"mlops-ci: inference log: {exc}\n")


def _datatype(datatype: Any) -> str:
    return str(getattr(datatype, "value", datatype))


def _data(data: Any) -> list[Any]:
    root = getattr(data, "root", data)
    return root if isinstance(root, list) else [root]


def _wire_type(dtype: str) -> str:
    return {"float": "FP64", "integer": "INT64", "boolean": "BOOL"}.get(dtype, "BYTES")


def _open_log(config: Any, model: str, version: str) -> Any:
    if not isinstance(config, dict) or not config.get("path"):
        return None
    from mlops_ci.adapters.inference_log import InferenceLog

    return InferenceLog(
        str(config["path"]),
        model=model,
        version=version,
        sample=float(config.get("sample", 1.0)),
        rotate_rows=int(config.get("rotate_rows", 10_000)),
    )
