"""Registry commands: `register`, `release`, `promote`, `rollback`, `deprecate`,
`registry` and `history`.

Services are imported inside each command so that `mlops-ci --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from mlops_ci.commands.options import root_option

if TYPE_CHECKING:
    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.core.tags import Bump
    from mlops_ci.services.shared.job import Job

_JSON_HELP = "Print the result as JSON."
_PUSH_HELP = "Push the new tag to origin (one tag per push; never forced)."


_root_option = root_option()


def _emit_json(data: Any) -> None:
    # Indented for a person at a terminal; compact (and C-encoded, so fast) for a pipe.
    import sys

    indent = 2 if sys.stdout.isatty() else None
    from mlops_ci.commands.console import echo_json

    echo_json(json.dumps(data, indent=indent, default=str))


def set_step_outputs(
    actions: ActionsRuntime, summary: str | None = None, **values: str | None
) -> None:
    """Step outputs (`tag`, `version`, `stage`, `gate`) and a summary line, on a runner.

    The one place the registry journeys (and `on-tag`, `on-merge`) set their outputs:
    only where the runner reads them (GITHUB_OUTPUT is set, or on a runner).
    """
    if actions.output_file is None and not actions.on_runner:
        return
    for name, value in values.items():
        actions.set_output(name, value or "")
    if summary:
        actions.append_summary(summary + "\n")


def _runtime() -> ActionsRuntime:
    """The Actions runtime alone, for commands that need nothing else of the run."""
    import os

    from mlops_ci.adapters.actions import ActionsRuntime

    return ActionsRuntime.from_environ(os.environ)


def _job() -> Job:
    """The run this command is part of, read once."""
    from mlops_ci.services.shared.job import Job

    return Job.from_environ()


def _describe_tag(outcome: Any, verb: str) -> str:
    state = "created" if outcome.created else "already existed"
    text = f"{verb}: tag {outcome.tag} {state} at {outcome.commit[:12]}"
    if outcome.pushed:
        text += " and is on origin"
    elif outcome.created:
        text += f" (local; push with: git push origin 'refs/tags/{outcome.tag}')"
    return text


@click.command()
@click.argument("model")
@click.option("--version", "version", help="Version to register, e.g. v1.2.0 (SemVer with v).")
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    help="Register the next major/minor/patch version (default: the model's `bump`).",
)
@click.option("--ref", default="HEAD", show_default=True, help="Commit (or ref) to register.")
@click.option("--message", "-m", help="First line of the tag message.")
@click.option("--push", is_flag=True, help=_PUSH_HELP)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def register(
    *,
    model: str,
    version: str | None,
    bump: str | None,
    ref: str,
    message: str | None,
    push: bool,
    as_json: bool,
    root: Path,
) -> None:
    """Register a version of MODEL: the annotated tag MODEL@vX.Y.Z, carrying the metrics."""
    from mlops_ci.services.shared.registry import register as do_register

    outcome = do_register(
        root,
        model,
        version=version,
        bump=cast("Bump | None", bump),
        ref=ref,
        message=message,
        push=push,
    )
    set_step_outputs(_runtime(), tag=outcome.tag, version=outcome.version)
    if as_json:
        _emit_json(outcome.as_dict())
        return
    click.echo(_describe_tag(outcome, f"registered {model} {outcome.version}"))


@click.command()
@click.argument("model")
@click.option("--stage", required=True, help="Stage to assign, e.g. staging or production.")
@click.option("--version", "version", help="Version to promote (default: the latest).")
@click.option("--push", is_flag=True, help=_PUSH_HELP)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def promote(
    *, model: str, stage: str, version: str | None, push: bool, as_json: bool, root: Path
) -> None:
    """Promote a version of MODEL to a stage (tag MODEL#STAGE#N) after the policy allows it.

    Refused (exit 2) when the stage is not allowed, the order is strict and the version
    skipped a stage, its gates fail, or its commit is not on the default branch.
    """
    from mlops_ci.services.shared.promote import promote as do_promote

    job = _job()
    outcome = do_promote(root, model, stage, version=version, push=push, context=job.context)
    gates = outcome.extra.get("gates") or []
    verdict = (
        "fail" if any(g["verdict"] == "fail" for g in gates) else ("pass" if gates else "none")
    )
    set_step_outputs(
        job.actions,
        f"Promoted `{model}` {outcome.version} to **{stage}** (tag `{outcome.tag}`).",
        tag=outcome.tag,
        version=outcome.version,
        stage=stage,
        gate=verdict,
    )
    if as_json:
        _emit_json(outcome.as_dict())
        return
    if outcome.extra.get("noop"):
        click.echo(f"{model} {outcome.version} already holds {stage} (tag {outcome.tag})")
    else:
        click.echo(_describe_tag(outcome, f"promoted {model} {outcome.version} to {stage}"))
    _echo_github(outcome.extra.get("github"))


@click.command()
@click.argument("model")
@click.option("--stage", required=True, help="Stage to roll back.")
@click.option("--to", "to_version", help="Version to return to (default: the previous holder).")
@click.option("--push", is_flag=True, help=_PUSH_HELP)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def rollback(
    *, model: str, stage: str, to_version: str | None, push: bool, as_json: bool, root: Path
) -> None:
    """Give STAGE of MODEL back to the previous holder, with a new tag (history is kept)."""
    from mlops_ci.services.shared.promote import rollback as do_rollback

    job = _job()
    outcome = do_rollback(root, model, stage, to_version=to_version, push=push, context=job.context)
    set_step_outputs(
        job.actions,
        f"Rolled back `{model}` **{stage}** to {outcome.version} (tag `{outcome.tag}`).",
        tag=outcome.tag,
        version=outcome.version,
        stage=stage,
    )
    if as_json:
        _emit_json(outcome.as_dict())
        return
    previous = outcome.extra.get("previous")
    if outcome.extra.get("noop"):
        click.echo(f"{model} {outcome.version} already holds {stage} (tag {outcome.tag})")
    else:
        click.echo(
            _describe_tag(
                outcome, f"rolled back {model} {stage} from {previous} to {outcome.version}"
            )
        )
    _echo_github(outcome.extra.get("github"))


@click.command()
@click.argument("model")
@click.option("--message", "-m", help="Tag message.")
@click.option("--push", is_flag=True, help=_PUSH_HELP)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def deprecate(model: str, message: str | None, push: bool, as_json: bool, root: Path) -> None:
    """Deprecate MODEL (tag MODEL@deprecated): it leaves the registry listing."""
    from mlops_ci.services.shared.registry import deprecate as do_deprecate

    outcome = do_deprecate(root, model, message=message, push=push)
    set_step_outputs(_runtime(), tag=outcome.tag)
    if as_json:
        _emit_json(outcome.as_dict())
        return
    click.echo(_describe_tag(outcome, f"deprecated {model}"))


@click.command("registry")
@click.argument("model", required=False)
@click.option("--deprecated", "include_deprecated", is_flag=True, help="Include deprecated models.")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def registry(model: str | None, include_deprecated: bool, as_json: bool, root: Path) -> None:
    """Show the registry: each model's latest version and who holds each stage."""
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.registry_view import registry_view

    views = registry_view(open_registry(root), model, include_deprecated=include_deprecated)
    if as_json:
        _emit_json({"models": views})
        return
    from rich.table import Table

    from mlops_ci.commands.console import cell, print_rich

    # Names, stages and taggers come from tags anyone with push access wrote: as cells.
    if model is None:
        stages = list(dict.fromkeys(s for v in views for s in v["stages"]))
        table = Table("model", "latest", title="Model registry")
        for stage in stages:
            table.add_column(cell(stage))
        for view in views:
            table.add_row(
                cell(view["name"] + (" (deprecated)" if view["deprecated"] else "")),
                cell(view["latest"] or "-"),
                *[cell(view["stages"].get(s) or "-") for s in stages],
            )
        print_rich(table)
        return
    view = views[0]
    table = Table("version", "commit", "stages", "active", "registered at", "by", title=cell(model))
    for v in view["versions"]:
        table.add_row(
            cell(v["version"][:20]),
            cell(v["commit"][:12]),
            cell(", ".join(v["stages"]) or "-"),
            "yes" if v["active"] else "no",
            cell(v["created_at"] or "-"),
            cell(v["author"] or "-"),
        )
    print_rich(table)
    print_rich(cell(f"latest: {view['latest'] or '-'}"))


@click.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def history(model: str, as_json: bool, root: Path) -> None:
    """Show every registry event of MODEL, oldest first (who, when, which tag)."""
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.registry_view import history_view

    events = history_view(open_registry(root), model)
    if as_json:
        _emit_json({"model": model, "events": events})
        return
    from rich.table import Table

    from mlops_ci.commands.console import cell, print_rich

    # Tagger names and tags are untrusted: cleaned, and never read as rich markup.
    table = Table("time", "event", "version", "stage", "tag", "commit", "by", title=cell(model))
    for e in events:
        table.add_row(
            cell(e["time"]),
            cell(e["action"]),
            cell(e["version"] or "-"),
            cell(e["stage"] or "-"),
            cell(e["tag"]),
            cell(str(e["commit"])[:12]),
            cell(e["author"] or "-"),
        )
    print_rich(table)


@click.command()
@click.option(
    "--tag",
    "tag",
    help="Version tag to release, e.g. model@v1.2.0 (default: the tag that triggered the run).",
)
@click.option("--dry-run", is_flag=True, help="Check and build the assets; publish nothing.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the assets (default: .mlops-ci/release/<tag>/).",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@_root_option
def release(tag: str | None, dry_run: bool, output: Path | None, as_json: bool, root: Path) -> None:
    """Release a registered version: verify the tag, check gates, fetch the model with
    DVC, render the model card, and publish a GitHub Release with the assets.

    Without a GitHub token the assets are written to --output.
    """
    from mlops_ci.services.shared.release import release as do_release

    job = _job()
    if tag is None:
        tag = job.context.tag
        if not tag:
            from mlops_ci.errors import InputError

            raise InputError("pass --tag MODEL@vX.Y.Z (no tag push or release triggered this run)")
    result = do_release(root, tag, dry_run=dry_run, output=output, context=job.context)
    published = f" ({result['url']})" if result.get("url") else ""
    set_step_outputs(
        job.actions,
        f"Released `{tag}`{published}: gates {result['gates']}, sha256 `{result['sha256']}`.",
        tag=tag,
        version=result["version"],
        gate=result["gates"],
    )
    if as_json:
        _emit_json(result)
        return
    from mlops_ci.commands.console import echo

    for line in result.get("lines", []):
        echo(line)


def _echo_github(info: Any) -> None:
    if not info:
        click.echo("(no GitHub token and repository: recorded locally only)")
        return
    from mlops_ci.commands.console import echo

    for key, value in info.items():
        echo(f"github: {key}: {value}")
