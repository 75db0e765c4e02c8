"""Neutralising untrusted text before it reaches Markdown or Mermaid.

Branch names, metric names, param values, file names and commit messages come
from whoever opened the pull request. In the report they must stay plain text:
no raw HTML, no @mention that notifies people, no `|` that breaks a table row,
no backtick run that opens or closes code, no link or image syntax, no newline
that ends a table row, and no character that ends a Mermaid label.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re

# Zero-width joiner: `@` + ZWJ + `org` reads the same but GitHub does not link it.
ZWJ = "\u200d"

# C0 and C1 controls (ESC sequences, backspace, 8-bit CSI) and bidi controls.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]"
)
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
# Characters that change what a name looks like without being seen: zero-width
# spaces and joiners, the word joiner, the byte-order mark, and bidi controls.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u061c\u202a-\u202e\u2066-\u2069]")
# Terminal text: every C0/C1 control but tab and newline (CR ends a line, as runners read it).
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Characters with meaning in Markdown (and GitHub's extensions) escaped by entity or backslash.
_MD_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    '"': "&quot;",
}
_MD_BACKSLASH = set("\\*_[]()#!~$")
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
# What opens a list, a thematic break or a setext heading at the start of a block:
# `1.`, `1)`, `-`, `+` followed by a space (or nothing), and runs of `-`/`=`.
_BLOCK_START = re.compile(r"^(\s*)(?:(\d{1,9})([.)])(?=\s|$)|([-+=])(?=\s|[-=+\s]*$))")
_TRANSLATE = {ord(k): v for k, v in _MD_ENTITIES.items()} | {
    ord(c): "\\" + c for c in _MD_BACKSLASH
}

__all__ = [
    "ZWJ",
    "md_code",
    "md_text",
    "mermaid_label",
    "plain",
    "reveal_invisible",
    "terminal_text",
]


def reveal_invisible(text: str) -> str:
    """Zero-width and bidi characters written as `<U+200B>`: two names that differ only
    by one of them no longer look the same, and none can reorder what is shown."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def terminal_text(text: object, *, reveal: bool = True) -> str:
    """Untrusted text for a terminal or a runner's log: line ends normalised to `\\n`
    (a lone CR starts a line for a runner and overwrites one in a terminal), every other
    control character removed (no escape sequence reaches the terminal), and zero-width
    and bidi characters made visible. Tabs and newlines stay."""
    value = _TERMINAL_CONTROL.sub("", _NEWLINES.sub("\n", str(text)))
    return reveal_invisible(value) if reveal else value


def plain(text: object, limit: int | None = None) -> str:
    """One line of text with control and bidi characters removed, cut at `limit`."""
    value = _NEWLINES.sub(" ", str(text))
    value = _CONTROL.sub("", value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + "…"
    return value


def _escape_block_start(match: re.Match[str]) -> str:
    space, digits, dot, sign = match.groups()
    return f"{space}{digits}\\{dot}" if digits else f"{space}\\{sign}"


def md_text(text: object, limit: int | None = 200, *, name: bool = False) -> str:
    """Escape untrusted text for Markdown prose and table cells.

    HTML is written as entities, Markdown punctuation is backslash-escaped,
    `|` and backticks become entities (safe in table cells), @mentions get a
    zero-width joiner, and the text stays on one line. A `name` (metric, param,
    gate, feature) shows its zero-width and bidi characters as `<U+200B>`.
    """
    value = plain(reveal_invisible(str(text)) if name else text, limit)
    value = value.translate(_TRANSLATE)
    value = _BLOCK_START.sub(_escape_block_start, value)
    return _MENTION.sub("@" + ZWJ, value)


def md_code(text: object, limit: int | None = 200, *, table: bool = True) -> str:
    """Untrusted text as an inline code span that cannot break out or break a table.

    The fence is one backtick longer than the longest run inside. In a table cell
    `|` is escaped (GitHub's table parser honours `\\|` inside code spans); in prose
    (`table=False`) it stays, since there the backslash would be shown. Zero-width and
    bidi characters are shown as `<U+200B>` (code spans hold names, paths and refs).
    """
    value = plain(reveal_invisible(str(text)), limit)
    if table:
        value = value.replace("|", "\\|")
    if not value:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


_MERMAID_SAFE = re.compile(r"[^A-Za-z0-9 ,._/+\-=]")


def mermaid_label(text: object, limit: int = 40) -> str:
    """A label for a Mermaid chart: only letters, digits, spaces and `,._/+-=`.

    Quotes, brackets, semicolons, `#` entity codes, `%%` comments, backticks and
    newlines could end a label or the block, so they are replaced by `_`.
    """
    value = _MERMAID_SAFE.sub("_", plain(text))
    value = value.strip() or "_"
    if len(value) > limit:
        value = value[: limit - 1] + "_"
    return value
