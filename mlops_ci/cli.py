"""The `mlops-ci` command line: a thin layer from click to the services.

Commands live in `mlops_ci.commands.*` and are imported only when used, so that
`mlops-ci --help` stays fast: heavy libraries (DVC, PyGithub, scikit-learn) are
imported inside the services, never at module import time.
"""

from __future__ import annotations

import importlib
import sys

import click

from mlops_ci import __version__
from mlops_ci.errors import EXIT_UNEXPECTED, MlopsCIError

# name -> "module:attribute", in the order `--help` lists them.
COMMANDS: dict[str, str] = {
    "init": "mlops_ci.commands.init:init",
    "validate": "mlops_ci.commands.config:validate",
    "schema": "mlops_ci.commands.config:schema",
    "report": "mlops_ci.commands.report:report",
    "post": "mlops_ci.commands.report:post",
    "publish": "mlops_ci.commands.publish:publish",
    "register": "mlops_ci.commands.registry:register",
    "release": "mlops_ci.commands.registry:release",
    "promote": "mlops_ci.commands.registry:promote",
    "rollback": "mlops_ci.commands.registry:rollback",
    "deprecate": "mlops_ci.commands.registry:deprecate",
    "registry": "mlops_ci.commands.registry:registry",
    "history": "mlops_ci.commands.registry:history",
    "on-tag": "mlops_ci.commands.on_tag:on_tag",
    "on-merge": "mlops_ci.commands.on_merge:on_merge",
    "verify": "mlops_ci.commands.verify:verify",
    "monitor": "mlops_ci.commands.monitor:monitor",
    "predict": "mlops_ci.commands.predict:predict",
    "deploy-manifest": "mlops_ci.commands.deploy:deploy_manifest",
    "serve": "mlops_ci.commands.serve:serve",
    "retrain": "mlops_ci.commands.monitor:retrain",
    "sweep": "mlops_ci.commands.sweep:sweep",
    "metrics": "mlops_ci.commands.metrics:metrics",
    "demo": "mlops_ci.commands.demo:demo",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # A command whose module is not part of this build is simply not offered.
            if exc.name == module_name:
                return None
            raise
        command = getattr(module, attr, None)
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="mlops-ci", help="Show the version and exit."
)
@click.option(
    "--traceback",
    is_flag=True,
    envvar="MLOPS_CI_TRACEBACK",
    help="On an unexpected failure, print the full Python traceback (for bug reports).",
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """GitHub-native MLOps: PR reports with quality gates, a git-tag model
    registry, releases, promotion and drift monitoring, on git, DVC and GitHub.

    Exit codes: 0 ok, 1 bad input, 2 a gate or policy said no, 3 unexpected failure.
    """
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def _wants_traceback(argv: list[str]) -> bool:
    import os

    return "--traceback" in argv or os.environ.get("MLOPS_CI_TRACEBACK", "") not in ("", "0")


def _skip_final_collection() -> None:
    """At exit, freeze the heap so the interpreter's last garbage collection skips it.

    Finalization traverses every object the command made (tens of milliseconds after a
    report of 10,000 metrics); the process is ending, so nothing is left to reclaim.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the process's entry point: it ends when the command does
        _skip_final_collection()
    try:
        cli.main(args=args, prog_name="mlops-ci", standalone_mode=False)
    except MlopsCIError as exc:
        from mlops_ci.output import report_error

        report_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        # Bad input like any other: one line, and where to look.
        message = " ".join(exc.format_message().split())
        click.echo(f"error: {message}", err=True)
        where = exc.ctx.command_path if exc.ctx is not None else "mlops-ci"
        click.echo(f"hint: see `{where} --help`", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if _wants_traceback(args):
            raise
        from mlops_ci.output import report_unexpected

        report_unexpected(exc)
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(0)
