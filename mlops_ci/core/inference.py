"""Open Inference Protocol (V2) tensors, checked against a released model's signature.

A request carries its rows in one of two shapes, both as MLServer and KServe accept them:

- one input per feature, named as the feature, shape `[n]` (or `[n, 1]`) — the
  "columns" form every client can build from a data frame;
- one 2-D input of shape `[n, k]`, the features in the signature's order — the form of
  a numpy client; only for models whose features are all numeric.

`decode_inputs` turns either into columns of plain values in the signature's order, or
raises `RequestProblem` with one line naming the input, the field and what was expected,
so the server can answer 400 and go on. `encode_outputs` turns the model's outputs back
into V2 output tensors. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.signature import Feature, Signature

#: V2 datatypes by what they can carry.
INTEGER_TYPES = frozenset(
    {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
)
FLOAT_TYPES = frozenset({"FP16", "FP32", "FP64"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
DATATYPES = NUMERIC_TYPES | {"BOOL", "BYTES"}
#: Rows one request may carry; more is a client's mistake, not a load to take.
DEFAULT_MAX_ROWS = 100_000


class RequestProblem(ValueError):
    """A request the model cannot take, as one line (input, field, what was expected)."""


@dataclass(frozen=True)
class Tensor:
    """One V2 input as plain data (what the wire carries, before any checking)."""

    name: str
    shape: tuple[int, ...]
    datatype: str
    data: Sequence[Any]


def _accepts(feature: Feature, datatype: str) -> bool:
    if feature.dtype == "float":
        return datatype in NUMERIC_TYPES
    if feature.dtype == "integer":
        # A float tensor of whole numbers is how most clients send integers.
        return datatype in NUMERIC_TYPES
    if feature.dtype == "boolean":
        return datatype == "BOOL"
    return datatype == "BYTES"


def _expected_types(feature: Feature) -> str:
    if feature.dtype in ("float", "integer"):
        return "a numeric datatype (FP64, FP32, INT64, ...)"
    return "BOOL" if feature.dtype == "boolean" else "BYTES"


def _flat(tensor: Tensor) -> list[Any]:
    """The tensor's data as one flat list (V2 allows row-major flat or nested data)."""
    out: list[Any] = []
    stack: list[Any] = [tensor.data]
    # Bounded by the data's own size: each element is visited once.
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _value(feature: Feature, raw: Any) -> Any:
    """A wire value as the feature's plain value (bytes as text)."""
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if feature.dtype == "float" and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return raw


def _rows_of(tensor: Tensor, where: str) -> int:
    shape = tensor.shape
    if not shape or any(not isinstance(d, int) or d < 0 for d in shape):
        raise RequestProblem(f"{where}: shape {list(shape)}: expected non-negative sizes")
    return shape[0]


def _column(feature: Feature, tensor: Tensor, max_rows: int) -> list[Any]:
    where = f"input {tensor.name!r}"
    rows = _rows_of(tensor, where)
    if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        raise RequestProblem(
            f"{where}: shape {list(tensor.shape)}: expected [rows] or [rows, 1] for one feature"
        )
    if rows > max_rows:
        raise RequestProblem(f"{where}: {rows} rows: at most {max_rows} per request")
    if not _accepts(feature, tensor.datatype):
        raise RequestProblem(
            f"{where}: datatype {tensor.datatype}: feature {feature.name!r} is "
            f"{feature.dtype}, expected {_expected_types(feature)}"
        )
    values = _flat(tensor)
    if len(values) != rows:
        raise RequestProblem(
            f"{where}: shape {list(tensor.shape)} says {rows} values, data has {len(values)}"
        )
    column = [_value(feature, v) for v in values]
    for index, value in enumerate(column):
        problem = feature.problem(value)
        if problem is not None:
            raise RequestProblem(f"row {index}, field {feature.name!r}: {problem}")
    return column


def _by_name(
    tensors: Sequence[Tensor], signature: Signature, max_rows: int
) -> dict[str, list[Any]]:
    known = {f.name: f for f in signature.features}
    seen: set[str] = set()
    for tensor in tensors:
        if tensor.name not in known:
            raise RequestProblem(
                f"input {tensor.name!r}: not a feature of the model "
                f"(expected {', '.join(signature.names[:8])}"
                + (", ..." if len(signature.names) > 8 else "")
                + ")"
            )
        if tensor.name in seen:
            raise RequestProblem(f"input {tensor.name!r}: given twice")
        seen.add(tensor.name)
    missing = [n for n in signature.names if n not in seen]
    if missing:
        raise RequestProblem(f"field {missing[0]!r}: missing (one input per feature)")
    given = {t.name: t for t in tensors}
    columns = {f.name: _column(f, given[f.name], max_rows) for f in signature.features}
    counts = {len(c) for c in columns.values()}
    if len(counts) > 1:
        sizes = ", ".join(f"{n}: {len(c)}" for n, c in list(columns.items())[:4])
        raise RequestProblem(f"inputs have different numbers of rows ({sizes})")
    return columns


def _matrix(tensor: Tensor, signature: Signature, max_rows: int) -> dict[str, list[Any]]:
    where = f"input {tensor.name!r}"
    width = len(signature.features)
    rows = _rows_of(tensor, where)
    if len(tensor.shape) != 2 or tensor.shape[1] != width:
        raise RequestProblem(
            f"{where}: shape {list(tensor.shape)}: expected [rows, {width}] "
            f"(the model's {width} features in order), or one input per feature"
        )
    if rows > max_rows:
        raise RequestProblem(f"{where}: {rows} rows: at most {max_rows} per request")
    if tensor.datatype not in NUMERIC_TYPES:
        raise RequestProblem(
            f"{where}: datatype {tensor.datatype}: expected a numeric datatype (FP64, ...)"
        )
    values = _flat(tensor)
    if len(values) != rows * width:
        raise RequestProblem(
            f"{where}: shape {list(tensor.shape)} says {rows * width} values, "
            f"data has {len(values)}"
        )
    columns: dict[str, list[Any]] = {}
    for j, feature in enumerate(signature.features):
        column = [_value(feature, v) for v in values[j::width]]
        for index, value in enumerate(column):
            problem = feature.problem(value)
            if problem is not None:
                raise RequestProblem(f"row {index}, field {feature.name!r}: {problem}")
        columns[feature.name] = column
    return columns


def decode_inputs(
    tensors: Sequence[Tensor], signature: Signature, *, max_rows: int = DEFAULT_MAX_ROWS
) -> dict[str, list[Any]]:
    """Columns of plain values in the signature's order; `RequestProblem` otherwise."""
    if not tensors:
        raise RequestProblem("inputs: expected at least one input tensor")
    for tensor in tensors:
        if tensor.datatype not in DATATYPES:
            raise RequestProblem(
                f"input {tensor.name!r}: datatype {tensor.datatype!r} is not a V2 datatype"
            )
    numeric = all(f.dtype in ("float", "integer") for f in signature.features)
    single = len(tensors) == 1 and tensors[0].name not in {f.name for f in signature.features}
    if single and numeric and len(signature.features) > 1:
        return _matrix(tensors[0], signature, max_rows)
    return _by_name(tensors, signature, max_rows)


# --- outputs ---------------------------------------------------------------------------


def datatype_of(values: Sequence[Any]) -> str:
    """The V2 datatype of plain output values."""
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def encode_outputs(
    predictions: Sequence[Any], probabilities: Sequence[Sequence[float]] | None
) -> list[dict[str, Any]]:
    """V2 output tensors: `predict` `[n]`, and `predict_proba` `[n, classes]` when known."""
    rows = len(predictions)
    kind = datatype_of(predictions)
    data = [str(v) for v in predictions] if kind == "BYTES" else list(predictions)
    outputs: list[dict[str, Any]] = [
        {"name": "predict", "shape": [rows], "datatype": kind, "data": data}
    ]
    if probabilities is not None:
        width = len(probabilities[0]) if rows else 0
        flat = [float(p) for row in probabilities for p in row]
        outputs.append(
            {"name": "predict_proba", "shape": [rows, width], "datatype": "FP64", "data": flat}
        )
    return outputs


def same_outputs(expected: Any, actual: Any, *, tolerance: float = 1e-9) -> str | None:
    """Where two outputs (plain values, nested lists) differ, or None when they agree:
    equal labels, and floats within `tolerance` (absolute, or relative beyond 1)."""
    if isinstance(expected, (list, tuple)) or isinstance(actual, (list, tuple)):
        if not isinstance(expected, (list, tuple)) or not isinstance(actual, (list, tuple)):
            return f"expected {expected!r}, got {actual!r}"
        if len(expected) != len(actual):
            return f"expected {len(expected)} values, got {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            problem = same_outputs(e, a, tolerance=tolerance)
            if problem is not None:
                return f"[{index}] {problem}"
        return None
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        if isinstance(expected, bool) or isinstance(actual, bool):
            return None if expected == actual else f"expected {expected!r}, got {actual!r}"
        e, a = float(expected), float(actual)
        # Equal infinities differ by NaN, so equality is asked first.
        if e == a or (math.isnan(e) and math.isnan(a)):
            return None
        # Beside an infinity a relative tolerance is infinite too: it must be exact.
        if math.isfinite(e) and abs(e - a) <= tolerance * max(1.0, abs(e)):
            return None
        return f"expected {e!r}, got {a!r} (difference {abs(e - a):.3g})"
    return None if expected == actual else f"expected {expected!r}, got {actual!r}"


def sample_problem(
    rows: Sequence[Mapping[str, Any]],
    predictions: Sequence[Any],
    probabilities: Sequence[Sequence[float]] | None,
    *,
    tolerance: float = 1e-9,
) -> str | None:
    """Where outputs differ from a release sample's recorded ones (`sample.json` rows,
    each with `outputs.predict` and maybe `outputs.predict_proba`), naming the sample
    row; None when every row agrees (`same_outputs`). ``probabilities`` None: the
    scorer has no `predict_proba`, and only labels are compared."""
    for index, row in enumerate(rows):
        expected = row["outputs"]
        problem = same_outputs(
            [expected["predict"]], list(predictions[index : index + 1]), tolerance=tolerance
        )
        # None: the scorer gives no probabilities, so there are none to compare; an
        # answer that lacks them where the sample has them is a difference.
        if problem is None and "predict_proba" in expected and probabilities is not None:
            got = probabilities[index] if index < len(probabilities) else None
            problem = same_outputs(expected["predict_proba"], got, tolerance=tolerance)
        if problem is not None:
            return f"sample row {index} (data row {row.get('row')}): {problem}"
    return None


def tensors_from(body: Mapping[str, Any]) -> list[Tensor]:
    """The inputs of a V2 request body (a mapping, as JSON gives it), shape-checked."""
    raw = body.get("inputs")
    if not isinstance(raw, list):
        raise RequestProblem("inputs: expected a list of input tensors")
    out: list[Tensor] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise RequestProblem(f"inputs[{index}]: expected an object")
        name, shape = item.get("name"), item.get("shape")
        datatype, data = item.get("datatype"), item.get("data")
        if not isinstance(name, str):
            raise RequestProblem(f"inputs[{index}].name: expected a string")
        if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
            raise RequestProblem(f"input {name!r}: shape: expected a list of integers")
        if not isinstance(datatype, str):
            raise RequestProblem(f"input {name!r}: datatype: expected a string")
        if not isinstance(data, list):
            raise RequestProblem(f"input {name!r}: data: expected a list")
        out.append(Tensor(name, tuple(shape), datatype, data))
    return out


def request_body(columns: Mapping[str, Sequence[Any]], signature: Signature) -> dict[str, Any]:
    """A V2 request body carrying `columns` (one input per feature), as a client sends."""
    inputs = []
    for feature in signature.features:
        data = list(columns[feature.name])
        if feature.dtype == "boolean":
            kind = "BOOL"
        elif feature.dtype in ("float", "integer"):
            kind = "FP64" if feature.dtype == "float" or feature.nullable else "INT64"
        else:
            kind = "BYTES"
        inputs.append({"name": feature.name, "shape": [len(data)], "datatype": kind, "data": data})
    return {"inputs": inputs}
