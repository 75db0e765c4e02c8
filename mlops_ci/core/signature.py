"""A model's input schema as data: ordered features, their types, the target.

A `Signature` is what a release records of the inputs its model was trained on
(`signature.json`): the features in the order the model takes them, each with a
dtype (`integer`, `float`, `boolean`, `string`, or `category` with its categories)
and whether it may be missing, plus the target column when it is known. It round
trips through JSON (`to_dict` / `from_dict`), and `validate` checks input rows
against it, naming the first wrong field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

Dtype = Literal["integer", "float", "boolean", "string", "category"]
DTYPES: tuple[str, ...] = ("integer", "float", "boolean", "string", "category")
SCHEMA_VERSION = 1
#: A text column with at most this many distinct values is a category.
CATEGORY_LIMIT = 50
_BOOLEAN_LABELS = {"true": True, "false": False, "True": True, "False": False}


class SignatureError(ValueError):
    """A signature document that is not one (field and what was expected)."""


@dataclass(frozen=True)
class Feature:
    """One input column."""

    name: str
    dtype: Dtype
    categories: tuple[str, ...] = ()
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype, "nullable": self.nullable}
        if self.dtype == "category":
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Feature:
        if not isinstance(data, Mapping):
            raise SignatureError(f"{where}: expected a mapping with name and dtype")
        name, dtype = data.get("name"), data.get("dtype")
        if not isinstance(name, str) or not name:
            raise SignatureError(f"{where}.name: expected a non-empty string")
        if dtype not in DTYPES:
            raise SignatureError(f"{where}.dtype: expected one of {', '.join(DTYPES)}")
        categories = data.get("categories", [])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise SignatureError(f"{where}.categories: expected a list of strings")
        nullable = data.get("nullable", False)
        if not isinstance(nullable, bool):
            raise SignatureError(f"{where}.nullable: expected true or false")
        return cls(name, cast("Dtype", dtype), tuple(categories), nullable)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this feature, or None."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None if self.nullable else "expected a value, got nothing"
        expected = self._check(value)
        return None if expected is None else f"expected {expected}, got {value!r}"

    def _check(self, value: Any) -> str | None:
        if self.dtype == "boolean":
            return None if isinstance(value, bool) else "true or false"
        if self.dtype == "integer":
            whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            return None if whole and not isinstance(value, bool) else "an integer"
        if self.dtype == "float":
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            return None if number and math.isfinite(value) else "a finite number"
        if self.dtype == "category":
            if isinstance(value, str) and value in self.categories:
                return None
            shown = ", ".join(self.categories[:10]) + (", ..." if len(self.categories) > 10 else "")
            return f"one of {shown}"
        return None if isinstance(value, str) else "a string"


@dataclass(frozen=True)
class Signature:
    """The inputs a model takes, in order, and the column it predicts when known."""

    features: tuple[Feature, ...]
    target: Feature | None = None
    source: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "features": [f.to_dict() for f in self.features],
            "target": self.target.to_dict() if self.target else None,
            "source": list(self.source),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Signature:
        if not isinstance(data, Mapping):
            raise SignatureError("signature: expected a mapping")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise SignatureError(f"schema_version: expected {SCHEMA_VERSION}")
        raw = data.get("features")
        if not isinstance(raw, list) or not raw:
            raise SignatureError("features: expected a non-empty list")
        features = tuple(Feature.from_dict(f, f"features[{i}]") for i, f in enumerate(raw))
        if len({f.name for f in features}) != len(features):
            raise SignatureError("features: names must be unique")
        target = data.get("target")
        source = data.get("source", [])
        if not isinstance(source, list) or not all(isinstance(s, str) for s in source):
            raise SignatureError("source: expected a list of strings")
        return cls(
            features,
            Feature.from_dict(target, "target") if target is not None else None,
            tuple(source),
        )

    def validate(self, rows: Sequence[Mapping[str, Any]]) -> str | None:
        """The first problem of ``rows`` as one line (row, field, what was expected), or
        None when every row has exactly the features, each of its type."""
        known = set(self.names)
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                return f"row {index}: expected an object of features"
            for feature in self.features:
                if feature.name not in row:
                    return f"row {index}, field {feature.name!r}: missing"
                problem = feature.problem(row[feature.name])
                if problem is not None:
                    return f"row {index}, field {feature.name!r}: {problem}"
            extra = [name for name in row if name not in known]
            if extra:
                return f"row {index}, field {extra[0]!r}: not an input of the model"
        return None


# --- inference from columns -------------------------------------------------------------


def infer_numeric(name: str, values: npt.NDArray[Any]) -> Feature:
    """A numeric column (float64, NaN = missing): integer when every value is whole."""
    present = values[~np.isnan(values)]
    nullable = bool(present.size < values.size)
    whole = present.size > 0 and bool(np.all(np.isfinite(present) & (present == np.round(present))))
    return Feature(name, "integer" if whole else "float", (), nullable)


def infer_labels(name: str, categories: Sequence[str], codes: npt.NDArray[Any]) -> Feature:
    """A text column (category codes, -1 = missing): boolean, category or string."""
    nullable = bool(np.any(codes < 0))
    labels = tuple(str(c) for c in categories)
    if labels and all(label in _BOOLEAN_LABELS for label in labels):
        return Feature(name, "boolean", (), nullable)
    if len(labels) <= CATEGORY_LIMIT:
        return Feature(name, "category", tuple(sorted(labels)), nullable)
    return Feature(name, "string", (), nullable)


def as_value(feature: Feature, value: Any) -> Any:
    """A table value as the plain JSON value the feature's type says (None = missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if feature.dtype == "integer":
        return int(value)
    if feature.dtype == "float":
        return float(value)
    if feature.dtype == "boolean":
        return _BOOLEAN_LABELS.get(str(value), bool(value))
    return str(value)


def plain(value: Any) -> Any:
    """A model output (numpy scalar or array) as plain JSON values; floats stay exact."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
