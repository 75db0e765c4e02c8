"""A pydantic validation error of `mlops-ci.yaml` as one `ConfigError` line.

The line names the file, the field (dotted), the YAML line where it is known and,
for an unknown key, the closest valid key at that place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from mlops_ci.config.models import Config
from mlops_ci.errors import ConfigError


def _known_keys(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at `path` (for key suggestions)."""
    model: type[BaseModel] | None = Config
    for part in path:
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            # Inside a dict of models (models.NAME, gates.KEY, tests.FEATURE): skip the key.
            continue
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def format_validation_error(
    exc: ValidationError, filename: str, lines: Mapping[tuple[str, ...], int]
) -> ConfigError:
    """The first validation problem as one line: file:line: field: what was expected."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    field = ".".join(p if isinstance(p, str) and p.isprintable() else repr(p) for p in loc)
    field = field or "(top level)"
    line = None
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(str(p) for p in loc[:n]))
        if line:
            break
    where = f"{filename}:{line}" if line else filename
    hint = None
    if err["type"] == "extra_forbidden":
        import difflib  # only an unknown key needs it; not loaded with the package

        parent = _model_at(loc[:-1])
        key = str(loc[-1])
        choices = _known_keys(parent) if parent else []
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.5)
        message = f"{where}: {field}: unknown key"
        if close:
            message += f"; did you mean {close[0]!r}?"
        elif choices:
            hint = "valid keys here: " + ", ".join(choices)
    else:
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        shown = ""
        if err["type"] not in ("missing", "value_error") and not isinstance(value, dict | list):
            shown = f" (got {value!r})"[:120]
        message = f"{where}: {field}: {msg}{shown}"
    extra = len(exc.errors()) - 1
    if extra:
        hint = (hint + "; " if hint else "") + f"{extra} more problem(s) after fixing this one"
    return ConfigError(message, hint=hint, file=filename, line=line)
