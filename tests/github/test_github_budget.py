"""The size budget for comments and check run output (pure: no server needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.report.budget import CHECK_RUN_FIELD_LIMIT, COMMENT_LIMIT, fit

MARKER = "<!-- mlops-ci:ci:report -->"
URL = "https://github.com/o/r/actions/runs/1"
CLOSERS = {"```", "~~~", "```python", "</details>"}


def test_a_body_within_the_limit_is_unchanged() -> None:
    body = f"{MARKER}\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert fit(body, marker=MARKER, full_report_url=URL) == body


def test_a_long_table_is_cut_between_rows_with_a_note_and_link() -> None:
    rows = "".join(f"| metric_{i} | {i} |\n" for i in range(5000))
    body = f"{MARKER}\n## Metrics\n\n| name | value |\n|---|---|\n{rows}"
    out = fit(body, limit=10_000, marker=MARKER, full_report_url=URL)
    assert len(out) <= 10_000
    assert out.startswith(MARKER)
    assert f"[Read the full report]({URL})" in out
    before_note = out.split("\n\n> [!NOTE]")[0]
    assert before_note.splitlines()[-1].startswith("| metric_")
    assert before_note.splitlines()[-1].endswith("|")


def test_an_open_fence_is_closed_before_the_note() -> None:
    body = "intro\n```text\n" + "".join(f"log line {i}\n" for i in range(3000))
    out = fit(body, limit=5_000, full_report_url=URL)
    assert len(out) <= 5_000
    head = out.split("\n\n> [!NOTE]")[0]
    assert head.count("```") == 2
    assert head.rstrip().endswith("```")


def test_a_closed_fence_is_not_closed_again() -> None:
    body = "```\ncode\n```\n" + "".join(f"line {i}\n" for i in range(3000))
    head = fit(body, limit=2_000).split("\n\n> [!NOTE]")[0]
    assert head.count("```") == 2


def test_open_details_sections_are_closed() -> None:
    body = "<details><summary>All metrics</summary>\n\n" + "".join(f"- m{i}\n" for i in range(5000))
    head = fit(body, limit=3_000).split("\n\n> [!NOTE]")[0]
    assert head.rstrip().endswith("</details>")


def test_a_marker_at_the_end_is_kept_by_moving_it_to_the_top() -> None:
    body = "".join(f"line {i}\n" for i in range(10_000)) + MARKER + "\n"
    out = fit(body, limit=COMMENT_LIMIT, marker=MARKER)
    assert out.startswith(MARKER)
    assert out.count(MARKER) == 1
    assert len(out) <= COMMENT_LIMIT


def test_without_a_url_the_note_points_at_the_run_artifacts() -> None:
    out = fit("x\n" * 40_000, limit=CHECK_RUN_FIELD_LIMIT)
    assert len(out) <= CHECK_RUN_FIELD_LIMIT
    assert "artifacts" in out


lines = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Zl", "Zp", "Cc"]), max_size=80),
        st.sampled_from(["```", "```python", "~~~", "| a | b |", "<details>", "</details>"]),
    ),
    max_size=400,
)


@settings(max_examples=150, deadline=None, database=None)
@given(lines=lines, limit=st.integers(min_value=400, max_value=5_000))
def test_the_result_always_fits_and_keeps_the_marker(lines: list[str], limit: int) -> None:
    body = MARKER + "\n" + "\n".join(lines) + "\n"
    out = fit(body, limit=limit, marker=MARKER, full_report_url=URL)
    assert len(out) <= limit
    assert MARKER in out
    if len(body) <= limit:
        assert out == body
    else:
        assert "[Read the full report]" in out
        # What is kept is the start of the body, cut at a line break, plus closers.
        kept = out.split("\n\n> [!NOTE]")[0].splitlines()
        while kept and (not kept[-1].strip() or kept[-1].strip() in CLOSERS):
            kept.pop()
        assert body.startswith("\n".join(kept))
