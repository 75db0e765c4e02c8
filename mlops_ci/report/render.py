"""The PR report's Markdown, and the one sandboxed Jinja2 environment of every template.

The report is rendered from its data (`report.document.ReportDocument`) in a
sandboxed Jinja2 environment whose every `{{ }}` output is escaped unless it was
produced by our own escaping (so a user template that prints a raw metric name is
still safe). Release notes, model cards and drift issues use the same environment
through `render_packaged`.

This module also gathers the report's public names (the document's rows, the
options, `build_context`), so importers need only `report.render`.

Pure: no I/O except reading the packaged template (or the text of a user's).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from markupsafe import Markup

from mlops_ci.core.metrics import format_value
from mlops_ci.errors import ConfigError
from mlops_ci.report.budget import fit
from mlops_ci.report.document import (
    DEFAULT_TEMPLATE,
    SCHEMA_VERSION,
    DataDiff,
    DataEntry,
    GateRow,
    MetricRow,
    PlotRow,
    PlotSeries,
    RenderOptions,
    ReportDocument,
    Reproducibility,
    Revision,
)
from mlops_ci.report.escape import md_code, md_text, plain
from mlops_ci.report.pr_context import build_context, verdict_line

__all__ = [
    "DEFAULT_TEMPLATE",
    "SCHEMA_VERSION",
    "DataDiff",
    "DataEntry",
    "GateRow",
    "MetricRow",
    "PlotRow",
    "PlotSeries",
    "RenderOptions",
    "ReportDocument",
    "Reproducibility",
    "Revision",
    "build_context",
    "packaged_template",
    "render_markdown",
    "render_packaged",
    "summary_line",
    "template_environment",
    "verdict_line",
]


def template_environment(
    *, text_limit: int = 500, number: Callable[[Any], str] = format_value
) -> Any:
    """The one sandboxed Jinja2 environment of every template we render.

    Everything a template prints is escaped as Markdown text unless it is `Markup` we
    built ourselves; numbers go through `number`. Filters: `md` (escaped text), `code`
    (an inline code span) and `plain` (escaped, formatting stripped).
    """
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return number(value)
        return md_text(value, text_limit)

    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    md: Callable[[Any], Markup] = lambda v: Markup(md_text(v, text_limit))  # noqa: E731, S704
    code: Callable[[Any], Markup] = lambda v: Markup(md_code(v, 500))  # noqa: E731, S704
    env.filters["md"] = md
    env.filters["code"] = code
    env.filters["plain"] = lambda v: Markup(md_text(plain(v), text_limit))  # noqa: S704
    return env


def render_packaged(name: str, context: Mapping[str, Any], **options: Any) -> str:
    """Render one of the templates shipped in `mlops_ci/report/templates/`."""
    env = template_environment(**options)
    return str(env.from_string(packaged_template(name)).render(**context))


@functools.lru_cache(maxsize=8)
def _compiled(source: str) -> Any:
    return template_environment().from_string(source)


def packaged_template(name: str = DEFAULT_TEMPLATE) -> str:
    return resources.files("mlops_ci.report").joinpath("templates", name).read_text("utf-8")


def render_markdown(doc: ReportDocument, options: RenderOptions) -> str:
    """The report as Markdown, fitted to GitHub's comment size limit.

    A user template (`options.template_text`) must print `{{ marker }}`; without
    it the sticky comment could never be found again, so that is an error.
    """
    from jinja2 import TemplateError

    source = options.template_text
    if source is None:
        source = packaged_template(options.template_name)
    elif "marker" not in source:
        raise ConfigError(
            f"{options.template_name}: the report template must contain {{{{ marker }}}}",
            hint="add `{{ marker }}` on the first line of the template",
            file=options.template_name,
        )
    context = build_context(doc, options)
    try:
        template = _compiled(source)
        body = template.render(**context)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(
            f"{options.template_name}: cannot render the report template: {exc.message or exc}",
            file=options.template_name,
            line=line,
        ) from None
    except (ArithmeticError, TypeError, ValueError, RecursionError, MemoryError) as exc:
        # A user template can still fail at run time: the sandbox's range limit, an
        # `include` with no loader, `1 + "a"`, a string too large to build.
        if options.template_text is None:
            raise
        reason = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
        raise ConfigError(
            f"{options.template_name}: cannot render the report template: {reason}"[:500],
            file=options.template_name,
        ) from None
    if options.marker not in body:
        raise ConfigError(
            f"{options.template_name}: the rendered report lacks the marker {{{{ marker }}}}",
            hint="print `{{ marker }}` unconditionally in the template",
            file=options.template_name,
        )
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return fit(
        body, limit=options.limit, full_report_url=options.full_report_url, marker=options.marker
    )


def summary_line(doc: ReportDocument) -> str:
    """A one-line plain-text verdict (for the check run title and the terminal)."""
    failed = doc.failed_gates
    if failed:
        return f"{len(failed)} of {len(doc.gates)} gate(s) failed"
    if doc.gates:
        return f"all {sum(1 for g in doc.gates if g.verdict == 'pass')} gate(s) pass"
    return "no gates configured"
