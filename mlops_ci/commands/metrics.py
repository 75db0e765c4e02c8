"""`mlops-ci metrics history`: metric values over the commits of a branch.

(`mlops-ci history MODEL` is the registry's history of a model; metric history
lives here, under `metrics`.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from mlops_ci.commands.options import config_option, root_option


@click.group("metrics")
def metrics() -> None:
    """Metrics over time: `mlops-ci metrics history`."""


@metrics.command("history")
@click.option(
    "--metric",
    "-m",
    "selected",
    multiple=True,
    metavar="M",
    help="A metric to show, by key or FILE:key (repeatable; default: all).",
)
@click.option("--branch", "-b", help="Branch to follow (default: the default branch).")
@click.option(
    "--last",
    "-n",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="How many of the newest commits.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--markdown", "as_markdown", is_flag=True, help="Print Markdown with a Mermaid chart."
)
@config_option()
@root_option("The repository.")
def history(  # noqa: PLR0917 - one parameter per option
    selected: tuple[str, ...],
    branch: str | None,
    last: int,
    as_json: bool,
    as_markdown: bool,
    config_path: Path | None,
    root: Path,
) -> None:
    """Metric values over the newest commits of a branch (first parent), read from
    git in one pass: a table here, Markdown for reports, or JSON for scripts."""
    from mlops_ci.config import load_config
    from mlops_ci.core.metric_history import history_json
    from mlops_ci.report.history import render_history_markdown
    from mlops_ci.services.shared.metric_history import metric_history

    config = load_config(root, config_path).config
    if branch is None:
        from mlops_ci.adapters.git import Git

        branch = config.default_branch or Git(root).default_branch()
    result = metric_history(
        root,
        branch,
        list(selected) or None,
        last,
        files=list(config.metrics.files),
        config_path=config_path,
    )
    directions = _directions(config.metrics.gates, result.metrics)
    if as_json:
        from mlops_ci.commands.console import echo_json

        echo_json(json.dumps(history_json(result), indent=2))
        return
    if as_markdown:
        from mlops_ci.commands.console import echo

        markdown = render_history_markdown(
            result, precision=config.report.precision, directions=directions
        )
        echo(markdown, reveal=False, nl=False)
        return
    _table(result, config.report.precision, directions)


def _directions(gates: dict[str, Any], names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        key = name.rsplit(":", 1)[-1]
        gate = gates.get(name) or gates.get(key)
        if gate is not None:
            found[name] = gate.direction
    return found


def _table(result: Any, precision: int, directions: dict[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from mlops_ci.commands.console import cell, print_rich
    from mlops_ci.core.metrics import format_value, is_number

    # Wide enough for every column even when the output is not a terminal.
    needed = 24 + (34 if len(result.metrics) <= 4 else 0)
    needed += sum(max(min(len(m), 14), 10) + 3 for m in result.metrics)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, needed))
    # Branch, subjects and metric names are untrusted: cleaned cells, never rich markup.
    table = Table(title=cell(f"Metrics on {result.branch} (oldest first)"), title_justify="left")
    table.add_column("commit", style="dim", no_wrap=True, min_width=8)
    table.add_column("date", no_wrap=True, min_width=10)
    if len(result.metrics) <= 4:
        table.add_column("subject", overflow="ellipsis", max_width=32, no_wrap=True)
    for metric in result.metrics:
        table.add_column(
            cell(metric),
            justify="right",
            min_width=min(len(metric), 10),
            max_width=14,
            overflow="fold",
        )
    previous: dict[str, Any] = {}
    for commit in result.commits:
        cells: list[Text | str] = [commit.sha[:8], commit.time[:10]]
        if len(result.metrics) <= 4:
            cells.append(cell(commit.subject))
        for metric in result.metrics:
            if metric not in commit.values:
                cells.append("—")
                continue
            value = commit.values[metric]
            text = Text(format_value(value, precision))
            before: Any = previous.get(metric)
            if (
                is_number(value)
                and is_number(before)
                and math.isfinite(value)
                and math.isfinite(before)
                and value != before
            ):
                rose = value > before
                text.append(" ▲" if rose else " ▼")
                better = directions.get(metric)
                if better:
                    good = rose == (better == "higher")
                    text.stylize("green" if good else "red")
            previous[metric] = value
            cells.append(text)
        table.add_row(*cells)
    print_rich(table, width=console.width)
    for name, why in result.missing.items():
        print_rich(cell(f"{name}: {why}", style="yellow"), width=console.width)
