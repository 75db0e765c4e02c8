"""Metric charts: grouping by scale, distinct labels, bars from zero, and their text form
for a terminal (which prints no Mermaid source)."""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path

import pytest

from mlops_ci.report.mermaid import Bar, BarPoint, bar_chart, bar_rows, chart_labels
from mlops_ci.report.metric_charts import ChartMetric, metric_charts, scale_groups
from mlops_ci.report.text_charts import draw_chart, parse_chart, replace_mermaid


def axis_labels(chart: str) -> list[str]:
    return re.findall(r'"([^"]*)"', chart.split("x-axis [")[1].split("\n", maxsplit=1)[0])


def series(chart: str) -> list[list[float]]:
    return [
        [float(v) for v in values.split(", ")] for values in re.findall(r"    bar \[(.*)\]", chart)
    ]


# --- grouping by scale -------------------------------------------------------------------


def test_scores_share_one_group_and_other_scales_their_own() -> None:
    metrics = [
        ChartMetric("acc", 0.91, 0.89),
        ChartMetric("f1", 0.7, 0.65),
        ChartMetric("loss", 1.8, 2.3),  # below 10: on the scores' axis
        ChartMetric("margin", -0.42, 0.5),
        ChartMetric("latency_ms", 1234.5, 1200.0),
        ChartMetric("rows", 20_000.0, 19_000.0),  # within one order of magnitude of 1234
        ChartMetric("bytes", 3e12, 2.5e12),
        ChartMetric("lr", 0.0003, 0.0003),  # tiny: its own group
    ]
    groups = {name: [m.name for m in group] for name, group in scale_groups(metrics)}
    assert groups == {
        "values -0.42 to 2.3": ["acc", "f1", "loss", "margin"],
        "values near 1e3": ["latency_ms", "rows"],
        "values near 1e12": ["bytes"],
        "values near 1e-4": ["lr"],
    }
    only_scores = scale_groups([ChartMetric("acc", 0.9, 0.8), ChartMetric("zero", 0.0, 0.0)])
    assert [name for name, _ in only_scores] == ["scores 0 to 1"]


def test_non_finite_metrics_are_left_out() -> None:
    metrics = [ChartMetric("a", float("nan"), 1.0), ChartMetric("b", 0.5, float("inf"))]
    assert scale_groups(metrics) == []
    assert metric_charts(metrics) == []


def test_change_charts_per_baseline_then_value_charts() -> None:
    metrics = [
        ChartMetric("acc", 0.91, 0.89, (0.95, None)),
        ChartMetric("f1", 0.7, 0.7, (0.6, 0.7)),  # unchanged against the base
        ChartMetric("new", 0.5, None, (None, None)),
    ]
    charts = metric_charts(metrics, ["production", "main tip"])
    titles = [re.search(r'title "(.*)"', c).group(1) for c in charts]  # type: ignore[union-attr]
    assert titles == [
        "Change, head minus base - scores 0 to 1",
        "Change, head minus production - scores 0 to 1",
        "Values - scores 0 to 1, head blue, base orange",
    ]  # nothing changed against `main tip`: no chart
    assert axis_labels(charts[0]) == ["acc"]
    # Largest change first, blue up and orange down.
    assert axis_labels(charts[1]) == ["f1", "acc"]
    assert series(charts[1])[0][0] == pytest.approx(0.1)
    assert axis_labels(charts[2]) == ["acc", "acc base", "f1", "f1 base", "new"]
    assert all("    line [" not in c for c in charts)


# --- labels ------------------------------------------------------------------------------


def test_labels_stay_distinct_when_cut_or_cleaned() -> None:
    names = [
        "eval.test.precision_macro_average",
        "eval.test.precision_micro_average",
        'val["acc"]',
        "val[_acc_]",  # cleaned to the same text as the one before
        "r" * 200,
        "r" * 201,
    ]
    labels = chart_labels(names)
    assert len(set(labels)) == len(labels) == 6
    assert all(len(label) <= 24 for label in labels)
    assert labels[0] == "eval.test.pr_n_macro_average"[:12] + "_" + "n_macro_average"[-11:]
    assert labels[0] != labels[1]
    assert labels[2] == "val__acc__"
    assert labels[3] == "val__acc___2"
    assert labels[5].endswith("_2")


def test_a_chart_of_repeated_names_keeps_every_bar() -> None:
    chart = bar_rows("t", [Bar("acc", 0.9), Bar("acc", 0.8), Bar("acc", 0.7)])
    assert axis_labels(chart) == ["acc", "acc_2", "acc_3"]
    assert series(chart) == [[0.9, 0.8, 0.7]]


# --- negative values ---------------------------------------------------------------------


def test_negative_bars_are_drawn_from_zero_with_a_mask() -> None:
    chart = bar_rows("t", [Bar("up", 0.5, 0), Bar("down", -0.42, 1)])
    axis = re.search(r'y-axis "value" (\S+) --> (\S+)', chart)
    assert axis is not None
    low, high = float(axis[1]), float(axis[2])
    assert low < -0.42 < 0 < 0.5 < high
    blue, orange, mask = series(chart)
    # Blue: the axis minimum to 0.5; orange: the minimum to 0; the mask (background
    # colour, drawn last) covers the minimum to 0 and to -0.42: what shows is 0..0.5 and
    # -0.42..0.
    assert blue == [0.5, low]
    assert orange == [low, 0.0]
    assert mask == [0.0, -0.42]


def test_no_mask_without_negative_values() -> None:
    chart = bar_rows("t", [Bar("a", 0.5), Bar("b", 0.25, 1)])
    assert 'y-axis "value" 0 -->' in chart
    assert series(chart) == [[0.5, 0.0], [0.0, 0.25]]


def test_bar_chart_with_reference_line_masks_before_the_line() -> None:
    chart = bar_chart("margins", [BarPoint("a", -0.5, -0.2), BarPoint("b", 2.0, 1.0)])
    body = chart.split("\n")
    kinds = [
        line.split(" [")[0].strip() for line in body if line.startswith(("    bar", "    line"))
    ]
    # Head, an empty orange series, the mask, then the line (orange again in the palette).
    assert kinds == ["bar", "bar", "bar", "line"]
    assert series(chart)[2] == [-0.5, 0.0]


# --- text charts -------------------------------------------------------------------------


def test_text_bars_go_left_of_zero_for_negative_values() -> None:
    chart = parse_chart(bar_rows("Change", [Bar("up", 0.5, 0), Bar("down", -0.5, 1)]))
    assert chart is not None
    up, down = draw_chart(chart, width=20).splitlines()[2:4]
    zero_up, zero_down = up.index("│"), down.index("│")
    assert zero_up == zero_down
    assert up[zero_up + 1] == "█"
    assert "▒" not in up
    assert up.rstrip().endswith("0.5")
    assert down[zero_down - 1] == "▒"
    assert "█" not in down
    assert down.rstrip().endswith("-0.5")


def test_every_chart_kind_becomes_text() -> None:
    from mlops_ci.report.mermaid import line_chart

    metrics = [ChartMetric("acc", 0.91, 0.89), ChartMetric("margin", -0.42, 0.5)]
    blocks = [*metric_charts(metrics), bar_chart("drift", [BarPoint("x", 0.3, 0.1)])]
    blocks.append(line_chart("roc", "fpr", "tpr", [([0, 0.5, 1], [0, 0.8, 1])]) or "")
    markdown = "# r\n\n" + "\n\n".join(blocks) + "\n\n```mermaid\ngraph TD; A-->B\n```\n"
    text = replace_mermaid(markdown)
    assert "```mermaid" not in text
    assert "xychart" not in text
    assert "%%{init" not in text
    assert "(a chart not drawn in a terminal: untitled)" in text
    assert "acc base" in text
    assert "-0.42" in text
    assert "(line 0.1)" in text
    assert re.search(r"blue +▁\S*█  0 → 1", text)


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        into.append(chunk)


def test_a_terminal_gets_text_charts_not_mermaid_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Printed to a real pseudo-terminal, the report's charts are text; to a pipe or a
    file, the Markdown keeps its Mermaid blocks (that is what GitHub gets)."""
    from mlops_ci.commands.report import print_markdown

    chart = metric_charts([ChartMetric("acc", 0.91, 0.89), ChartMetric("margin", -0.42, 0.5)])
    markdown = "## report\n\n### Plots\n\n" + "\n\n".join(chart) + "\n"
    monkeypatch.setenv("COLUMNS", "120")
    primary, secondary = os.openpty()
    received: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(primary, received))
    reader.start()
    with open(secondary, "w", encoding="utf-8", closefd=True) as terminal:
        monkeypatch.setattr(sys, "stdout", terminal)
        print_markdown(markdown)
        terminal.flush()
    reader.join(timeout=30)
    os.close(primary)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(received).decode("utf-8", "replace"))
    assert "Change, head minus base" in shown
    assert "▒" in shown
    assert "│" in shown
    assert "xychart" not in shown
    assert "%%{init" not in shown
    assert "bar [" not in shown

    piped = tmp_path / "report.md"
    with piped.open("w", encoding="utf-8") as out:
        monkeypatch.setattr(sys, "stdout", out)
        print_markdown(markdown)
    assert piped.read_text("utf-8").count("```mermaid") == 2
