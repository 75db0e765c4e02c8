"""The report's GitHub half, done by a later process that holds the token.

Under the action, `report` runs the pull request's pipeline in a step whose process
tree never had the token: a stage cannot find it in its own environment nor in any
ancestor's `/proc/<pid>/environ`. That step leaves the report in the directory named
by `MLOPS_CI_PUBLISH_DIR` (the run context's `publish_dir`); the action's next step,
with the token, runs `mlops-ci publish --from DIR`, which posts it.

What the first step left came from a process tree that ran the pull request's code,
so it is read as untrusted data: two regular files, a size cap, strict schemas. The
comment is rendered again from the data (every string escaped), and where the report
belongs (repository, pull request, head commit) comes from this run's event, not
from the files. The gate exit is deferred too: `publish` exits 2 after posting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_ci.adapters.files import write_atomic
from mlops_ci.config import load_config
from mlops_ci.errors import InputError
from mlops_ci.report.render import ReportDocument, render_markdown
from mlops_ci.services.report.document import render_options
from mlops_ci.services.shared.job import Job
from mlops_ci.services.shared.publish import publish_to_github

PUBLISH_JSON = "publish.json"
DOCUMENT_JSON = "report.json"
MAX_BYTES = 4 * 1024 * 1024
_M = TypeVar("_M", bound=BaseModel)


class PublishRequest(BaseModel):
    """`publish.json`: what the token-free step asks the publishing step to do."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(1, ge=1, le=1)
    fail_on_gate: bool = False


@dataclass
class DeferredOutcome:
    """What `mlops-ci publish` posted."""

    document: ReportDocument
    markdown: str
    fail_on_gate: bool
    comment_url: str | None = None


def defer_publish(directory: Path, document: ReportDocument, *, fail_on_gate: bool) -> None:
    """Leave the report for `mlops-ci publish --from DIRECTORY`."""
    write_atomic(directory / DOCUMENT_JSON, document.model_dump_json() + "\n")
    request = PublishRequest(fail_on_gate=fail_on_gate)
    write_atomic(directory / PUBLISH_JSON, request.model_dump_json() + "\n")


def _read(directory: Path, name: str) -> bytes:
    path = directory / name
    if path.is_symlink() or not path.is_file():
        raise InputError(
            f"{directory}: no {name} (or it is not a regular file)",
            hint="run `mlops-ci report` with MLOPS_CI_PUBLISH_DIR set first",
        )
    if path.stat().st_size > MAX_BYTES:
        raise InputError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def _parse(directory: Path, name: str, model: type[_M]) -> _M:
    try:
        return model.model_validate_json(_read(directory, name))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise InputError(f"{directory / name}: invalid: {where}: {err['msg']}"[:300]) from None


def read_deferred(directory: Path) -> tuple[PublishRequest, ReportDocument]:
    """Validate and parse the two files the token-free step left (nothing else is read)."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such directory")
    return (
        _parse(directory, PUBLISH_JSON, PublishRequest),
        _parse(directory, DOCUMENT_JSON, ReportDocument),
    )


def publish_deferred(
    directory: Path, job: Job, *, root: Path, config_path: Path | None = None
) -> DeferredOutcome:
    """Post the report a token-free `report` left in `directory`: comment and check run."""
    ctx = job.context
    if ctx.token is None:
        raise InputError(
            "mlops-ci publish needs a GitHub token",
            hint="set MLOPS_CI_GITHUB_TOKEN (the action passes its github-token input)",
        )
    job.actions.mask(ctx.token.get_secret_value())
    request, untrusted = read_deferred(directory)
    loaded = load_config(root.resolve(), config_path)
    head = ctx.head_sha or untrusted.head.sha
    document = untrusted.model_copy(
        update={
            "repository": ctx.repository or untrusted.repository,
            "pr_number": ctx.pr_number,
            "run_url": ctx.run_url or None,
            "head": untrusted.head.model_copy(update={"sha": head}),
        }
    )
    summary_url = f"{ctx.run_url}#summary" if ctx.run_url else None
    markdown = render_markdown(document, render_options(loaded, ctx, summary_url))
    outcome = DeferredOutcome(document, markdown, request.fail_on_gate)
    outcome.comment_url = publish_to_github(
        document, markdown, ctx, loaded.config, job.progress, head_sha=head or None
    )
    return outcome
