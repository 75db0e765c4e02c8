"""Rendering: escaping of hostile strings, Mermaid safety, templates, size, schema."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.config import Gate
from mlops_ci.core.gates import evaluate
from mlops_ci.core.metrics import diff
from mlops_ci.errors import ConfigError
from mlops_ci.report.escape import ZWJ, md_code, md_text, mermaid_label
from mlops_ci.report.mermaid import INIT
from mlops_ci.report.render import (
    DataDiff,
    DataEntry,
    MetricRow,
    PlotRow,
    PlotSeries,
    RenderOptions,
    ReportDocument,
    Revision,
    render_markdown,
)

MARKER = "<!-- mlops-ci:test:pr-report -->"
HOSTILE = [
    "<script>alert(1)</script>",
    "@org/team",
    "a|b|c",
    "```mermaid\ngraph TD; A-->B\n```",
    "`code` and ``more``",
    "[click](javascript:alert(1))",
    "![img](http://evil.example/x.png)",
    '"quoted"] ; %%{init}%% #quot;',
    "line\nbreak\r\nand\u2028more",
    "<img src=x onerror=alert(1)>",
    "\u202eevil\u202c",
    "$x^2$ ~~strike~~ **bold** #12",
]


def document(names: list[str], branch: str = "main") -> ReportDocument:
    base = {"metrics.json": {name: float(i) for i, name in enumerate(names)}}
    head = {"metrics.json": {name: float(i) + 1 for i, name in enumerate(names)}}
    result = diff(base, head)
    summary = evaluate(result, {names[0]: Gate(max_drop=0.1)} if names else {})
    return ReportDocument(
        base=Revision(ref=branch, sha="a" * 40),
        head=Revision(ref=branch, sha="b" * 40),
        metrics=[MetricRow.from_delta(r) for r in result.rows],
        params=[
            MetricRow.from_delta(r)
            for r in diff(
                {"p.yaml": dict.fromkeys(names, 1)}, {"p.yaml": {n: n for n in names}}
            ).rows
        ],
        data=DataDiff(
            available=True,
            entries=[DataEntry(path=n, status="modified", size_base=1, size_head=2) for n in names],
        ),
        plots=[
            PlotRow(id=n, title=n, x=n, y=n, head=PlotSeries(xs=[0, 0.5, 1], ys=[0, 0.8, 1]))
            for n in names[:2]
        ],
        notes=list(names),
    ).with_gates(summary)


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def assert_safe(markdown: str) -> None:
    outside_code = re.sub(r"```mermaid\n.*?\n```", "", markdown, flags=re.S)
    # Code spans show their content literally; check the rest.
    no_code = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", outside_code)
    # No raw HTML other than our own fixed tags.
    tags = set(re.findall(r"</?([A-Za-z][A-Za-z0-9]*)", no_code))
    assert tags <= {"details", "summary", "sub"}, tags
    assert "<!--" not in no_code.replace(MARKER, "")
    # No @mention survives without a zero-width joiner (outside code spans).
    assert not re.search(r"(?<![\w])@[A-Za-z0-9]", no_code)
    # Every table row has as many cells as its header.
    for block in re.split(r"\n\n", outside_code):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
            assert len(widths) == 1, rows
    # Mermaid blocks: only our fixed keywords, labels from the safe alphabet.
    for block in re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.S):
        init, *chart = block.splitlines()
        assert init == INIT
        for line in chart:
            assert re.fullmatch(
                r'xychart-beta( horizontal)?|    (title "[^"]*"'
                r'|x-axis (\[("[^"]*"(, )?)*\]|"[^"]*" [-\d.e]+ --> [-\d.e]+)'
                r'|y-axis "[^"]*" [-\d.e]+ --> [-\d.e]+|(bar|line) \[[-\d., e]*\])',
                line,
            ), line
    # Only our own Mermaid fences open or close a fenced block (a fence starts a line).
    fences = [line for line in markdown.splitlines() if re.match(r"^ {0,3}(```|~~~)", line)]
    assert all(line in ("```mermaid", "```") for line in fences), fences


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_neutralised(text: str) -> None:
    markdown = render_markdown(document([text, "ok"], branch=text), RenderOptions(marker=MARKER))
    assert_safe(markdown)
    assert markdown.startswith(MARKER)


def test_escape_primitives() -> None:
    assert md_text("<b>@org/team|x</b>") == f"&lt;b&gt;@{ZWJ}org/team&#124;x&lt;/b&gt;"
    assert md_code("a`b|c") == "`` a`b\\|c ``"
    assert md_code("`") == "`` ` ``"
    assert mermaid_label('a"]; %%{x}\n') == "a___ ___x_"
    assert "\n" not in md_text("a\nb")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=4, unique=True))
def test_random_text_renders_safely(names: list[str]) -> None:
    markdown = render_markdown(document(names, branch=names[0]), RenderOptions(marker=MARKER))
    assert_safe(markdown)


def test_verdict_first_and_changed_rows_first() -> None:
    result = diff(
        {"m.json": {"a": 1.0, "b": 2.0, "acc": 0.9}},
        {"m.json": {"a": 1.0, "b": 3.0, "acc": 0.8}},
    )
    summary = evaluate(result, {"acc": Gate(max_drop=0.01)})
    doc = ReportDocument(metrics=[MetricRow.from_delta(r) for r in result.rows]).with_gates(summary)
    markdown = render_markdown(doc, RenderOptions(marker=MARKER))
    lines = markdown.splitlines()
    assert lines[0] == MARKER
    verdict = next(line for line in lines[1:] if line.strip() and not line.startswith("#"))
    assert verdict.startswith("❌ **1 of 1 gate failed**: acc fell 0.1, allowed 0.01")
    table = markdown.split("### Metrics")[1]
    assert (
        table.index("| acc |")
        < table.index("| b |")
        < table.index("<details>")
        < table.index("| a |")
    )


def test_long_reports_fit_the_comment_limit() -> None:
    names = [f"metric_{i}" for i in range(10_000)]
    doc = document(names)
    markdown = render_markdown(doc, RenderOptions(marker=MARKER, max_rows=5000))
    assert len(markdown) <= 65_536
    assert MARKER in markdown
    assert markdown.count("<details>") == markdown.count("</details>")


def test_user_template_needs_the_marker() -> None:
    doc = document(["a"])
    with pytest.raises(ConfigError, match="marker"):
        render_markdown(doc, RenderOptions(marker=MARKER, template_text="# {{ verdict }}"))
    with pytest.raises(ConfigError, match="marker"):
        render_markdown(
            doc, RenderOptions(marker=MARKER, template_text="{% if false %}{{ marker }}{% endif %}")
        )


def test_user_template_output_is_escaped_even_when_raw() -> None:
    doc = document(["<script>@org/x|y</script>"])
    markdown = render_markdown(
        doc,
        RenderOptions(
            marker=MARKER,
            template_text="{{ marker }}\n{% for m in doc.metrics %}{{ m.key }}\n{% endfor %}",
        ),
    )
    assert "<script>" not in markdown
    assert f"@{ZWJ}org" in markdown


def test_user_template_cannot_reach_python_internals() -> None:
    doc = document(["a"])
    with pytest.raises(ConfigError):
        render_markdown(
            doc,
            RenderOptions(
                marker=MARKER,
                template_text="{{ marker }}{{ doc.__class__.__init__.__globals__['os'] }}",
            ),
        )


def test_report_json_schema_roundtrip_with_non_finite_numbers() -> None:
    result = diff({"m": {"a": 1.0, "b": math.inf}}, {"m": {"a": math.nan, "b": math.inf}})
    doc = ReportDocument(metrics=[MetricRow.from_delta(r) for r in result.rows])
    text = doc.model_dump_json()
    data = json.loads(text)  # strict JSON: no bare NaN
    assert data["schema_version"] == 1
    assert data["metrics"][0]["head"] == "NaN"
    back = ReportDocument.model_validate_json(text)
    assert math.isnan(back.metrics[0].head)
    assert back.metrics[1].base == math.inf


def test_metric_charts_are_bars_change_first() -> None:
    markdown = render_markdown(document(["acc", "f1"]), RenderOptions(marker=MARKER))
    change, values = re.findall(r"```mermaid\n(.*?)\n```", markdown, flags=re.S)[:2]
    assert 'title "Change, head minus base' in change
    assert 'x-axis ["acc", "f1"]' in change
    assert 'x-axis ["acc", "acc base", "f1", "f1 base"]' in values
    assert "    line [" not in change + values  # no line joins unrelated metrics


def test_bar_chart_axis_includes_zero_for_negative_values() -> None:
    from mlops_ci.report.mermaid import BarPoint, bar_chart

    chart = bar_chart("margins", [BarPoint("a", -0.5, -0.2), BarPoint("b", -2.0, -1.0)])
    low, high = re.search(r'y-axis "value" (\S+) --> (\S+)', chart).groups()  # type: ignore[union-attr]
    assert float(low) <= -2.0
    assert float(high) >= 0.0


ALLOWED_HTML = {
    "h2", "h3", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th",
    "td", "details", "summary", "sub", "ul", "li", "blockquote", "a",
}  # fmt: skip


def html_of(markdown: str) -> tuple[set[str], list[list[int]]]:
    """Render as a CommonMark + tables renderer with raw HTML allowed (like GitHub's input
    side, before its sanitiser): the tags produced, and the cell counts of every table."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.tables: list[list[int]] = []
            self.links: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.add(tag)
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append(0)
            elif tag in ("td", "th"):
                self.tables[-1][-1] += 1
            elif tag == "a":
                self.links.append(dict(attrs).get("href") or "")

    collect = Collect()
    collect.feed(html)
    assert not collect.links, collect.links  # no link at all without a run URL
    return collect.tags, collect.tables


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=3, unique=True))
def test_rendered_html_has_only_our_tags_and_whole_tables(names: list[str]) -> None:
    markdown = render_markdown(document(names, branch=names[0]), RenderOptions(marker=MARKER))
    tags, tables = html_of(markdown)
    assert tags <= ALLOWED_HTML, tags - ALLOWED_HTML
    for rows in tables:
        assert len(set(rows)) == 1, rows


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_in_rendered_html(text: str) -> None:
    markdown = render_markdown(document([text, "ok"], branch=text), RenderOptions(marker=MARKER))
    tags, tables = html_of(markdown)
    assert tags <= ALLOWED_HTML, tags - ALLOWED_HTML
    assert all(len(set(rows)) == 1 for rows in tables)


def test_template_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"my\.md\.j2: cannot render") as info:
        render_markdown(
            document(["a"]),
            RenderOptions(
                marker=MARKER,
                template_text="{{ marker }}\n{% for x in %}",
                template_name="my.md.j2",
            ),
        )
    assert info.value.line == 2
