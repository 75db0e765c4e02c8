"""Fit a Markdown report into GitHub's size limits without breaking its layout.

GitHub refuses an issue or PR comment longer than 65,536 characters and a check
run `output.summary`/`output.text` longer than 65,535. A report that is too long
is cut at a line break, never inside a table row or an open fenced block (an
open fence is closed, as are open `<details>` sections), and a note with a link
to the full report is appended. The hidden marker that identifies a sticky
comment is always kept, so the next run still finds the comment.

Pure: no I/O.
"""

from __future__ import annotations

import re

COMMENT_LIMIT = 65_536
CHECK_RUN_FIELD_LIMIT = 65_535

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DETAILS_OPEN = re.compile(r"<details\b", re.IGNORECASE)
_DETAILS_CLOSE = re.compile(r"</details\s*>", re.IGNORECASE)


def truncation_note(full_report_url: str | None) -> str:
    """The note appended to a cut report."""
    if full_report_url:
        return (
            "\n\n> [!NOTE]\n> This report was cut to fit GitHub's size limit. "
            f"[Read the full report]({full_report_url}).\n"
        )
    return (
        "\n\n> [!NOTE]\n> This report was cut to fit GitHub's size limit; "
        "the full report is in the workflow run's artifacts.\n"
    )


def fit(
    body: str,
    *,
    limit: int = COMMENT_LIMIT,
    full_report_url: str | None = None,
    marker: str | None = None,
) -> str:
    """Return `body` unchanged when it fits `limit`, else a clean cut of it.

    The result is never longer than `limit` characters, ends with the truncation
    note, and contains `marker` when one is given.
    """
    if len(body) <= limit and (marker is None or marker in body):
        return body
    if len(body) <= limit and marker is not None:
        # Marker missing but there is room: keep the body whole.
        joined = f"{marker}\n{body}"
        if len(joined) <= limit:
            return joined

    note = truncation_note(full_report_url)
    lines = body.splitlines(keepends=True)

    fence: str | None = None  # the opening fence characters while a block is open
    details_depth = 0
    length = 0
    has_marker = False
    best: tuple[int, str] | None = None  # (line count, closing text)

    def closing(fence_open: str | None, depth: int) -> str:
        text = ""
        if fence_open is not None:
            text += f"\n{fence_open}\n"
        if depth > 0:
            text += "\n" + "</details>\n" * depth
        return text

    def marker_cost(present: bool) -> int:
        return 0 if marker is None or present else len(marker) + 1

    # Candidate cut points are after each complete line.
    for index, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        match = _FENCE.match(stripped)
        if match:
            token = match.group(1)
            if fence is None:
                fence = token
            elif (
                token[0] == fence[0]
                and len(token) >= len(fence)
                and not stripped.strip()[len(token) :].strip()
            ):
                fence = None
        elif fence is None:
            details_depth += len(_DETAILS_OPEN.findall(stripped))
            details_depth -= len(_DETAILS_CLOSE.findall(stripped))
            details_depth = max(details_depth, 0)
        length += len(line)
        if marker is not None and marker in stripped:
            has_marker = True
        if not line.endswith(("\n", "\r")):
            break  # the last line has no break after it: not a clean boundary
        tail = closing(fence, details_depth)
        if length + len(tail) + len(note) + marker_cost(has_marker) > limit:
            break
        best = (index + 1, tail)

    if best is None:
        head = ""
        tail = ""
        marker_present = False
    else:
        count, tail = best
        head = "".join(lines[:count])
        marker_present = marker is not None and marker in head

    result = head.rstrip("\r\n") + tail + note
    if marker is not None and not marker_present:
        result = f"{marker}\n{result}"
    if len(result) > limit:
        # Only reachable when the note and marker alone exceed a tiny limit.
        result = result[:limit]
    return result
