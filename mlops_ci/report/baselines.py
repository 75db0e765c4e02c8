"""The extra baseline columns of the metrics table: their labels and cells, escaped.

A column is labelled with what it is, its version, its commit and its age:
`production v1.2.0 (abc1234, 3 days ago)`. Its cells are the baseline's value and the
head's change from it.

Pure: a `ReportDocument` in, Markdown cells out.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from mlops_ci.core.metrics import format_delta, format_value, is_number
from mlops_ci.report.document import MetricRow, ReportDocument, Revision
from mlops_ci.report.escape import md_text

__all__ = ["age_text", "base_header", "baseline_cells", "baseline_headers"]

_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def age_text(seconds: int | None) -> str | None:
    """`3 days ago`, `1 hour ago`, `just now`; None when the age is unknown."""
    if seconds is None:
        return None
    for size, unit in _UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def _label(name: str, version: str | None, revision: Revision) -> Markup:
    """`name version (sha, age)`: the name and version escaped; the sha is hex (else left
    out) and the age our own words, so the parentheses need no escaping."""
    sha = (revision.sha or "")[:7]
    facts = [f for f in (sha if sha.isalnum() else "", age_text(revision.age_seconds)) if f]
    words = " ".join(md_text(w, 60) for w in (name, version) if w)
    return Markup(f"{words} ({', '.join(facts)})" if facts else words)  # noqa: S704


def base_header(doc: ReportDocument) -> Markup:
    """`base`, or with extra columns: `merge base (abc1234, 2 days ago)`."""
    if not doc.baselines:
        return Markup("base")
    return _label("merge base", None, doc.base)


def baseline_headers(doc: ReportDocument) -> list[Markup]:
    return [_label(c.name, c.version, c.revision) for c in doc.baselines]


def _cell(row: MetricRow | None, precision: int) -> dict[str, Markup]:
    if row is None or row.status == "removed":
        return {"value": Markup("—"), "delta": Markup("")}
    if row.status == "no_base":
        return {"value": Markup("*no value*"), "delta": Markup("")}
    if row.status == "added":
        return {"value": Markup("*new*"), "delta": Markup("")}
    value = row.base
    if is_number(value) or isinstance(value, bool) or value is None:
        shown = format_value(value, precision)
    else:
        shown = md_text(format_value(value, precision), 80)
    return {
        "value": Markup(shown),  # noqa: S704 - a number, or escaped just now
        "delta": Markup(format_delta(row.delta, precision)),  # noqa: S704 - a number
    }


def baseline_cells(
    doc: ReportDocument, precision: int
) -> Callable[[MetricRow], list[dict[str, Markup]]]:
    """For a metric row, its (value, Δ) cells in each extra column, in column order."""
    lookups = [{(m.file, m.key): m for m in c.metrics} for c in doc.baselines]

    def cells(row: MetricRow) -> list[dict[str, Markup]]:
        return [_cell(rows.get((row.file, row.key)), precision) for rows in lookups]

    return cells
