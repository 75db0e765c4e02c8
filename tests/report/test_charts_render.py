"""Every kind of chart the reports draw, parsed and drawn by the real Mermaid renderer.

GitHub draws the charts with Mermaid; a chart it cannot parse shows as an error box in
every comment. Each test builds a report through its real rendering code from data
like a project's (hostile names included: quotes, brackets, Mermaid syntax, unicode,
newlines), takes the Markdown's ```mermaid blocks and renders them with mermaid-cli
(the `render_mermaid` fixture: skipped locally without it, a failure under CI).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops_ci.core.markers import comment_marker

Render = Callable[..., list[Path]]

# Names as a project (or a fork's pull request) may spell them.
HOSTILE = [
    'val["acc"]',
    "précision@5 — macro ✓",
    "loss (train); drop",
    "%%{init: {}}%% x",
    'x-axis [1, 2] --> "end"',
    "latency `ms` #35; <b>",
    "throughput\nrows/s",
    "r" * 200,
]


def charts_of(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, re.DOTALL)


def bar_kinds(charts: list[str]) -> tuple[int, int]:
    """(bar charts with a base line, bar charts without)."""
    bars = [c for c in charts if "xychart-beta horizontal" in c]
    with_line = sum(1 for c in bars if "    line [" in c)
    return with_line, len(bars) - with_line


def line_charts(charts: list[str]) -> list[str]:
    return [c for c in charts if "xychart-beta\n" in c]


# --- the PR report: metric bars, plot lines, the trend on main ------------------------


def history(commits: int, metrics: list[str], branch: str) -> Any:
    from mlops_ci.core.metric_history import HistoryCommit, MetricHistory

    rows = [
        HistoryCommit(
            sha=f"{i:040x}",
            time=f"2026-01-{1 + i % 28:02d}T12:00:00+00:00",
            subject=f'fix "{metrics[0]}" [#{i}] — ✓',
            values={m: (k + 1) * (0.9 + 0.05 * math.sin(i)) - k for k, m in enumerate(metrics)},
        )
        for i in range(commits)
    ]
    return MetricHistory(branch, "refs/heads/" + branch, ["metrics.json"], metrics, rows)


def pr_document() -> Any:
    from mlops_ci.core.metric_history import history_json
    from mlops_ci.report.document import (
        BaselineColumn,
        GateRow,
        MetricRow,
        PlotRow,
        PlotSeries,
        ReportDocument,
    )

    def row(file: str, key: str, base: float | None, head: float, status: str) -> MetricRow:
        delta = None if base is None else head - base
        pct = None if not base or delta is None else delta / abs(base) * 100
        return MetricRow(
            file=file, key=key, base=base, head=head, status=status, delta=delta, delta_pct=pct
        )

    metrics = [
        # Around 1: one chart, head as bars and base as a line (a negative head too).
        row("metrics.json", HOSTILE[0], 0.89, 0.91, "changed"),
        row("metrics.json", HOSTILE[1], 0.7, 0.65, "changed"),
        row("metrics.json", HOSTILE[2], 0.5, -0.42, "changed"),
        row("metrics.json", HOSTILE[3], 0.3, 0.31, "changed"),
        row("metrics.json", HOSTILE[4], 0.05, 0.06, "changed"),
        # Around 1000, one of them new: a chart of head values only.
        row("eval/scores.json", HOSTILE[5], 1200.0, 1234.5, "changed"),
        row("eval/scores.json", HOSTILE[6], None, 2048.0, "added"),
        # Around 1e12: values too large for a short decimal.
        row("eval/scores.json", HOSTILE[7], 1e12, 1.5e12, "changed"),
        row("eval/scores.json", "rows", 3e12, 2.5e12, "changed"),
        # One key in two files, and two long names that differ only at the end.
        row("metrics.json", "auc", 0.8, 0.82, "changed"),
        row("eval/scores.json", "auc", 0.75, 0.7, "changed"),
        row("metrics.json", "eval.test.precision_macro_avg", 0.6, 0.62, "changed"),
        row("metrics.json", "eval.test.precision_micro_avg", 0.61, 0.6, "changed"),
    ]
    production = BaselineColumn(
        name='production "v1"',
        version="1.2.0",
        metrics=[
            row("metrics.json", HOSTILE[0], 0.95, 0.91, "changed"),
            row("metrics.json", HOSTILE[2], 0.1, -0.42, "changed"),
        ],
    )
    gates = [
        GateRow(gate=f"{HOSTILE[0]} >= 0.9", metric=HOSTILE[0], file="metrics.json",
                verdict="pass", reason="0.91 >= 0.9"),
        GateRow(gate=f"{HOSTILE[6]} > 0", metric=HOSTILE[6], file="eval/scores.json",
                verdict="pass", reason="2048 > 0"),
    ]  # fmt: skip
    xs = [i / 29 for i in range(30)]
    roc = PlotRow(
        id="plots/roc.json",
        title='ROC "curve" [val] %%',
        x="fpr (%)",
        y="tpr; ✓",
        head=PlotSeries(xs=xs, ys=[x**0.3 for x in xs]),
        base=PlotSeries(xs=xs, ys=[x**0.5 for x in xs]),
    )
    steps = list(range(200))
    loss = PlotRow(
        id='plots/loss "train".csv',
        x="step#",
        y="loss `log`",
        head=PlotSeries(xs=steps, ys=[3e-4 * math.exp(-s / 50) - 1e-4 for s in steps]),
    )
    trend = history(12, [HOSTILE[0], HOSTILE[2]], 'main"[x]')
    return ReportDocument(
        base={"ref": 'main"', "sha": "a" * 40},
        head={"ref": "feature/[x]", "sha": "b" * 40},
        metrics=metrics,
        gates=gates,
        verdict="pass",
        plots=[roc, loss],
        trend=history_json(trend),
        baselines=[production],
    )


def test_pr_report_charts_render(render_mermaid: Render) -> None:
    from mlops_ci.report.document import RenderOptions
    from mlops_ci.report.render import render_markdown

    markdown = render_markdown(pr_document(), RenderOptions(marker=comment_marker("ci", "pr")))
    charts = charts_of(markdown)
    titles = [re.search(r'title "(.*)"', c).group(1) for c in charts]  # type: ignore[union-attr]
    bars = [c for c in charts if "xychart-beta horizontal" in c]
    # Change charts first: per scale group against the base, then against production;
    # then one value chart per scale group. Bars only: no line joins metrics.
    assert titles[:7] == [
        "Change, head minus base - values -0.42 to 0.95",
        "Change, head minus base - values near 1e3",
        "Change, head minus base - values near 1e12",
        "Change, head minus production _v1_ - values -0.42 to 0.95",
        "Values - values -0.42 to 0.95, head blue, base orange",
        "Values - values near 1e3, head blue, base orange",
        "Values - values near 1e12, head blue, base orange",
    ]
    assert len(bars) == 7
    assert not any("    line [" in c for c in bars)
    labels = [re.findall(r'"([^"]*)"', c.split("x-axis [")[1].split("\n")[0]) for c in bars]
    assert all(len(set(row)) == len(row) for row in labels)
    # The key in two files is named with its file; long names keep their distinct ends.
    assert {"metrics.json/auc", "eval/scores.json/auc"} <= set(labels[0])
    assert {"eval.test.pr_n_macro_avg", "eval.test.pr_n_micro_avg"} <= set(labels[0])
    # A negative value is drawn from zero: the axis reaches below it, and a mask series
    # (the third, in the background colour) covers the bar up to it.
    change = charts[0]
    assert re.search(r'y-axis "head minus base" -0\.9\d+ --> 0\.0\d+', change)
    assert change.count("    bar [") == 3
    lines = line_charts(charts)
    # The ROC plot (head and base), the loss plot (head only), two trend metrics.
    assert [c.count("    line [") for c in lines] == [2, 1, 1, 1]
    assert len(render_mermaid(markdown, "PR report")) == len(charts) == 11


# --- the drift report: raw distance scores, or severities of mixed tests ---------------


def findings(reference: dict[str, Any], current: dict[str, Any]) -> Any:
    from mlops_ci.core.drift import detect_drift
    from mlops_ci.report.drift import DataShown, DriftFindings

    return DriftFindings(
        model='churn "v2" [prod]',
        stage="production",
        version="1.2.0",
        commit="c" * 40,
        drift=detect_drift(reference, current),
        quality=None,
        quality_note=None,
        reference=DataShown("data/ref [2026].csv", len(next(iter(reference.values())))),
        current=DataShown('s3://bucket/"current".parquet', len(next(iter(current.values())))),
        generated_at="2026-02-01T12:00:00+00:00",
    )


def test_drift_report_charts_render(render_mermaid: Render) -> None:
    from mlops_ci.core.drift import Column
    from mlops_ci.report.drift import render_report

    rng = np.random.default_rng(7)
    names = [*HOSTILE, *(f"feature_{i:02d}" for i in range(17))]
    # Large samples: every feature by Wasserstein distance, drawn as raw scores.
    big_ref = {n: Column.numeric(rng.normal(0, 1, 3000)) for n in names}
    big_cur = {n: Column.numeric(rng.normal(i / 5, 1 + i / 10, 3000)) for i, n in enumerate(names)}
    raw = render_report(findings(big_ref, big_cur))
    # Small samples, numbers and categories: KS and chi-squared p-values, drawn as
    # severities; a p-value of 0 (infinitely severe) is capped.
    small_ref = {
        HOSTILE[0]: Column.numeric(rng.normal(0, 1, 400)),
        HOSTILE[1]: Column.categorical(["a", "b", "c"] * 100),
        HOSTILE[4]: Column.numeric(np.arange(400.0)),
    }
    small_cur = {
        HOSTILE[0]: Column.numeric(rng.normal(0.3, 1, 400)),
        HOSTILE[1]: Column.categorical(["a"] * 290 + ["zebra ✓"] * 10),
        HOSTILE[4]: Column.numeric(np.arange(400.0) + 1e6),
    }
    mixed = render_report(findings(small_ref, small_cur))
    (raw_chart,) = charts_of(raw)
    (mixed_chart,) = charts_of(mixed)
    assert "wasserstein score by feature" in raw_chart
    axis = raw_chart.split("x-axis [")[1].split("\n")[0]
    assert axis.count('", "') == 19  # the 20 most severe features
    assert "Drift severity by feature" in mixed_chart
    assert "1000000" in mixed_chart
    assert len(render_mermaid(raw + mixed, "drift report")) == 2


# --- the sweep leaderboard: effect of each swept parameter -----------------------------


def leaderboard(direction: str) -> Any:
    from mlops_ci.report.leaderboard import Leaderboard, LeaderboardRow

    keys = ["train.model.name", "train.lr", 'train."odd" key[0]']
    models = ['res"net[50]', "vit — ✓", "%%{x}%%"]
    rows = [
        LeaderboardRow(
            id=f"run-{i}",
            status="ok",
            set={keys[0]: models[i % 3], keys[1]: 10 ** -(i % 4), keys[2]: i % 2 == 0},
            primary=0.8 + 0.01 * i if direction == "higher" else 1200 - 10 * i,
        )
        for i in range(12)
    ]
    rows.append(LeaderboardRow(id="run-failed", status="failed", error='boom "x"', set={}))
    return Leaderboard(metric=HOSTILE[0], direction=direction, keys=keys, rows=rows)


def test_leaderboard_charts_render(render_mermaid: Render) -> None:
    from mlops_ci.report.leaderboard import render_leaderboard

    markdown = "".join(
        render_leaderboard(leaderboard(d), marker=comment_marker("sweep", "sweep"))
        for d in ("higher", "lower")
    )
    charts = charts_of(markdown)
    # One chart per swept parameter per board: best run as bars, the mean as a line.
    assert bar_kinds(charts) == (6, 0)
    assert len(render_mermaid(markdown, "leaderboard")) == 6


# --- metric history: one line per metric -----------------------------------------------


def test_metric_history_charts_render(render_mermaid: Render) -> None:
    from mlops_ci.report.history import render_history_markdown

    long = history(80, HOSTILE[:5], 'feature/"x"[y] ✓')
    shortest = history(2, ["auc"], "main")
    markdown = render_history_markdown(
        long, directions={HOSTILE[0]: "higher", HOSTILE[2]: "lower"}
    ) + render_history_markdown(shortest, heading='Trend "since" [v1]')
    charts = charts_of(markdown)
    assert len(line_charts(charts)) == len(charts) == 5  # four of five, then one
    assert len(render_mermaid(markdown, "metric history")) == 5


def test_a_chart_mermaid_cannot_parse_fails_naming_it(render_mermaid: Render) -> None:
    """The renderer is a real check: a broken chart fails, named, with Mermaid's error."""
    good = "```mermaid\nxychart-beta\n    bar [1, 2]\n```\n"
    broken = '```mermaid\nxychart-beta\n    title "lost"\n    x-axis ["a", "b"\n```\n'
    with pytest.raises(pytest.fail.Exception) as failure:
        render_mermaid(good + broken + good, "sample")
    message = str(failure.value)
    assert message.startswith('sample: Mermaid cannot render chart 2 of 3 (title "lost")')
    assert "Parse error" in message
