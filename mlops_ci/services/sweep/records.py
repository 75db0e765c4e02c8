"""A cell's bundle: `record.json` (schema version 1) and copies of its metrics files.

Bundles come back from matrix jobs as artifacts, so `merge` reads them as untrusted
data: regular files only, size-capped, strictly validated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_ci.adapters.files import write_atomic
from mlops_ci.core import experiments as core_exp
from mlops_ci.errors import InputError

RECORD_JSON = "record.json"
FILES_DIR = "files"
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_RECORDS = 512


class RunRecord(BaseModel):
    """`record.json` of one cell (schema version 1)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    id: str = Field(max_length=64)
    status: Literal["ok", "failed"]
    error: str | None = Field(None, max_length=4000)
    set: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    stages: dict[str, str] = Field(default_factory=dict)
    code_sha: str | None = Field(None, max_length=64)
    ref: str | None = Field(None, max_length=1000)
    pipeline: str | None = Field(None, max_length=2000)
    started_at: str | None = Field(None, max_length=64)
    run_seconds: float | None = None
    environment: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not core_exp.CELL_ID.match(value):
            raise ValueError("expected letters, digits, '.', '_' or '-' (at most 64)")
        return value

    @field_validator("metrics", "params")
    @classmethod
    def _files(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, data in value.items():
            if not isinstance(data, dict):
                raise ValueError(f"{name}: expected a mapping of values")
        return value


def write_record(bundle: Path, record: RunRecord) -> Path:
    """Write `record.json` into `bundle`; returns its path."""
    path = bundle / RECORD_JSON
    text = json.dumps(record.model_dump(mode="python"), indent=2, allow_nan=True, default=str)
    write_atomic(path, text + "\n")
    return path


def read_record(path: Path) -> RunRecord:
    """One record.json, as untrusted data: a regular file, size-capped, strictly validated."""
    if path.is_symlink() or not path.is_file():
        raise InputError(f"{path}: not a regular file")
    with path.open("rb") as handle:
        raw = handle.read(MAX_RECORD_BYTES + 1)
    if len(raw) > MAX_RECORD_BYTES:
        raise InputError(f"{path}: larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})".splitlines()[0]) from None
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"{path}: invalid record: {where}: {err['msg']}"[:400]) from None


def find_records(dirs: Sequence[Path]) -> list[Path]:
    """Every `record.json` in the given bundles or directories of bundles."""
    found: list[Path] = []
    for directory in dirs:
        if directory.is_file() and directory.name == RECORD_JSON:
            found.append(directory)
            continue
        if not directory.is_dir():
            raise InputError(f"{directory}: no such bundle directory")
        direct = directory / RECORD_JSON
        if direct.is_file():
            found.append(direct)
            continue
        nested = sorted(p for p in directory.rglob(RECORD_JSON) if not p.is_symlink())
        if not nested:
            raise InputError(f"{directory}: no {RECORD_JSON} in it or below it")
        found.extend(nested)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if len(unique) > MAX_RECORDS:
        raise InputError(f"{len(unique)} bundles: more than {MAX_RECORDS}")
    return unique


def unreadable_record(path: Path, why: str) -> RunRecord:
    """A `failed` record for a bundle that could not be read, named after its directory."""
    name = path.parent.name or "bundle"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60] or "bundle"
    return RunRecord(id=safe if safe[0].isalnum() else f"b{safe}"[:64], status="failed", error=why)
