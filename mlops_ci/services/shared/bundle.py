"""The fork bundle: one schema for the side that writes it and the side that reads it.

`mlops-ci report --publish artifact` writes a bundle on a fork's pull request and
`mlops-ci post` reads it in the base repository. Both go through this module: the same
file names, the same size cap and the same strict models. `write_bundle` validates what
it writes with the model `read_bundle` applies, so a report can never save a bundle the
poster would refuse (the fork's pull request would silently get no comment).

Read side: everything is untrusted. Only `report.json` and `metadata.json` are read
(never a symlink, never Markdown), both together at most `MAX_BUNDLE_BYTES`, JSON with
a duplicated key is refused before any model sees it, and the models refuse unknown
fields, booleans where numbers belong and missing ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)

from mlops_ci.adapters.files import write_atomic
from mlops_ci.context import RunContext
from mlops_ci.errors import InputError
from mlops_ci.report.render import ReportDocument

BUNDLE_DIR = "bundle"
REPORT_JSON = "report.json"
METADATA_JSON = "metadata.json"
BUNDLE_FILES = (REPORT_JSON, METADATA_JSON)
MAX_BUNDLE_BYTES = 4 * 1024 * 1024

_SHA = r"^[0-9a-f]{40}$"
_REPO = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"
_RUN_ID = re.compile(r"^[1-9][0-9]{0,19}$")


def _run_id(value: Any) -> str:
    """A workflow run id, as GitHub numbers them: digits, as a number or a string."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not _RUN_ID.match(str(value)):
        raise ValueError("expected the id of the workflow run (a positive number)")
    return str(value)


class BundleMetadata(BaseModel):
    """`metadata.json`: which repository, pull request, commit and run the bundle is for.

    Strict: a boolean is no PR number (`true` is not PR #1), a run id must be there, and
    numbers are not read from strings.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    # Not `Literal[1]`: a literal also matches `true`, since True == 1 in Python.
    schema_version: Annotated[StrictInt, Field(ge=1, le=1)] = 1
    repository: Annotated[StrictStr, Field(pattern=_REPO)]
    pr_number: Annotated[StrictInt, Field(gt=0, lt=10**9)]
    head_sha: Annotated[StrictStr, Field(pattern=_SHA)]
    run_id: Annotated[str, BeforeValidator(_run_id)]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key[:80]!r}")
        seen[key] = value
    return seen


def _no_bare_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (write it as the string {name!r})")


def check_json(raw: bytes, where: str) -> None:
    """Raise `InputError` unless `raw` is one JSON document with no key given twice."""
    try:
        json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_bare_constants)
    except RecursionError:
        raise InputError(f"{where}: invalid: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(f"{where}: invalid JSON: {str(exc)[:200]}") from None


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as `field.path: message`."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {err['msg']}"[:300]


def parse_metadata(raw: bytes, where: str) -> BundleMetadata:
    check_json(raw, where)
    try:
        return BundleMetadata.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(f"{where}: invalid: {first_error(exc)}") from None


def parse_report(raw: bytes, where: str) -> ReportDocument:
    check_json(raw, where)
    try:
        return ReportDocument.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(f"{where}: invalid: {first_error(exc)}") from None


def _too_big(bundle: Path) -> InputError:
    return InputError(
        f"{bundle}: the bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MiB"
    )


def read_bundle(bundle: Path) -> tuple[BundleMetadata, ReportDocument]:
    """Validate a bundle's shape and size and parse its two files (nothing else is read)."""
    if not bundle.is_dir():
        raise InputError(f"{bundle}: no such bundle directory")
    total = 0
    texts: dict[str, bytes] = {}
    for name in BUNDLE_FILES:
        path = bundle / name
        if path.is_symlink() or not path.is_file():
            raise InputError(f"{bundle}: the bundle lacks {name} (or it is not a regular file)")
        total += path.stat().st_size
        if total > MAX_BUNDLE_BYTES:
            raise _too_big(bundle)
        with path.open("rb") as handle:
            texts[name] = handle.read(MAX_BUNDLE_BYTES + 1)
    if sum(len(text) for text in texts.values()) > MAX_BUNDLE_BYTES:
        raise _too_big(bundle)  # it grew while we read it
    metadata = parse_metadata(texts[METADATA_JSON], f"{bundle}/{METADATA_JSON}")
    document = parse_report(texts[REPORT_JSON], f"{bundle}/{REPORT_JSON}")
    return metadata, document


def bundle_texts(document: ReportDocument, ctx: RunContext) -> dict[str, bytes]:
    """The two files of the bundle for this run, checked as `post` will check them."""
    fields: dict[str, Any] = {
        "schema_version": 1,
        "repository": ctx.repository,
        "pr_number": ctx.pr_number,
        "head_sha": ctx.head_sha or document.head.sha,
        "run_id": ctx.run_id,
    }
    texts = {
        REPORT_JSON: (document.model_dump_json() + "\n").encode(),
        METADATA_JSON: (json.dumps(fields, indent=2) + "\n").encode(),
    }
    try:
        parse_metadata(texts[METADATA_JSON], METADATA_JSON)
        parse_report(texts[REPORT_JSON], REPORT_JSON)
    except InputError as exc:
        raise InputError(
            f"cannot write the fork bundle, `mlops-ci post` would refuse it: {exc.message}",
            hint="--publish artifact needs GITHUB_REPOSITORY, GITHUB_RUN_ID, the pull "
            "request's event and its head commit, as a pull_request run has them",
        ) from None
    if sum(len(text) for text in texts.values()) > MAX_BUNDLE_BYTES:
        raise InputError(
            f"cannot write the fork bundle: the report is larger than "
            f"{MAX_BUNDLE_BYTES // (1024 * 1024)} MiB, which `mlops-ci post` refuses",
            hint="fewer metrics, or a lower plots.max_points in mlops-ci.yaml, make it smaller",
        )
    return texts


def write_bundle(output_dir: Path, document: ReportDocument, ctx: RunContext) -> Path:
    """The fork bundle: report data and where it belongs; never Markdown."""
    texts = bundle_texts(document, ctx)
    bundle = output_dir / BUNDLE_DIR
    for name, text in texts.items():
        write_atomic(bundle / name, text.decode())
    return bundle
