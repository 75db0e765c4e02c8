"""`mlops-ci verify`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlops_ci.commands.options import root_option


@click.command()
@click.option("--ref", default="HEAD", show_default=True, help="Commit, branch or tag to check.")
@click.option("--remote", help="DVC remote to check (default: the repository's default remote).")
@root_option("Repository root.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(ref: str, remote: str | None, root: Path, as_json: bool) -> None:
    """Check that a commit can be reproduced from the DVC remote.

    Every output its dvc.lock and .dvc files record must be in the remote (checked
    without downloading), and git-tracked metrics must match dvc.lock's hashes.
    Exit 2 when not, listing what is missing.
    """
    from mlops_ci.errors import RefusedError
    from mlops_ci.services.shared.verify import verify as run_verify

    result = run_verify(root, ref, remote)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        where = f" in {result.remote}" if result.remote else ""
        click.echo(f"{ref} ({result.commit[:8]}): checked {len(result.checked)} outputs{where}")
        for item in result.missing:
            click.echo(f"  missing  {item.path}  {item.md5}  ({item.reason})")
        for mismatch in result.mismatched:
            click.echo(
                f"  differs  {mismatch.path}: dvc.lock {mismatch.locked}, git {mismatch.actual}"
            )
    if not result.ok:
        hint = (
            "run `dvc repro`, commit dvc.lock and the files it changed, then `dvc push`"
            if result.mismatched
            else "run `dvc push` from a checkout of that commit with its outputs"
        )
        raise RefusedError(result.summary(), hint=hint)
    if not as_json:
        click.echo("ok: every output is in the remote and git matches dvc.lock")
