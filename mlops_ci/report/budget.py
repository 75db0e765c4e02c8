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


class _OpenBlocks:
    """The fenced block and `<details>` sections open after the lines seen so far."""

    def __init__(self) -> None:
        self.fence: str | None = None  # the opening fence characters while a block is open
        self.details = 0

    def feed(self, stripped: str) -> None:
        match = _FENCE.match(stripped)
        if match:
            token = match.group(1)
            if self.fence is None:
                self.fence = token
            elif (
                token[0] == self.fence[0]
                and len(token) >= len(self.fence)
                and not stripped.strip()[len(token) :].strip()
            ):
                self.fence = None
        elif self.fence is None:
            self.details += len(_DETAILS_OPEN.findall(stripped))
            self.details -= len(_DETAILS_CLOSE.findall(stripped))
            self.details = max(self.details, 0)

    def closing(self) -> str:
        """What closes every open block, so that a cut leaves valid Markdown."""
        text = ""
        if self.fence is not None:
            text += f"\n{self.fence}\n"
        if self.details > 0:
            text += "\n" + "</details>\n" * self.details
        return text


def _best_cut(lines: list[str], room: int, marker: str | None) -> tuple[int, str] | None:
    """(lines kept, closing text) of the longest clean cut that fits `room`, or None.

    Candidate cut points are after each complete line; a marker not yet kept costs
    its own line, since it will be put first.
    """
    blocks = _OpenBlocks()
    length = 0
    has_marker = False
    best: tuple[int, str] | None = None
    for index, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        blocks.feed(stripped)
        length += len(line)
        if marker is not None and marker in stripped:
            has_marker = True
        if not line.endswith(("\n", "\r")):
            break  # the last line has no break after it: not a clean boundary
        tail = blocks.closing()
        marker_cost = 0 if marker is None or has_marker else len(marker) + 1
        if length + len(tail) + marker_cost > room:
            break
        best = (index + 1, tail)
    return best


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
    best = _best_cut(lines, limit - len(note), marker)
    head, tail = ("", "") if best is None else ("".join(lines[: best[0]]), best[1])
    result = head.rstrip("\r\n") + tail + note
    if marker is not None and marker not in head:
        result = f"{marker}\n{result}"
    if len(result) > limit:
        # Only reachable when the note and marker alone exceed a tiny limit.
        result = result[:limit]
    return result
