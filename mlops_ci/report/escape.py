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

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
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
_TRANSLATE = {ord(k): v for k, v in _MD_ENTITIES.items()} | {
    ord(c): "\\" + c for c in _MD_BACKSLASH
}

__all__ = ["ZWJ", "md_code", "md_text", "mermaid_label", "plain"]


def plain(text: object, limit: int | None = None) -> str:
    """One line of text with control and bidi characters removed, cut at `limit`."""
    value = _NEWLINES.sub(" ", str(text))
    value = _CONTROL.sub("", value)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)] + "…"
    return value


def md_text(text: object, limit: int | None = 200) -> str:
    """Escape untrusted text for Markdown prose and table cells.

    HTML is written as entities, Markdown punctuation is backslash-escaped,
    `|` and backticks become entities (safe in table cells), @mentions get a
    zero-width joiner, and the text stays on one line.
    """
    value = plain(text, limit)
    value = value.translate(_TRANSLATE)
    return _MENTION.sub("@" + ZWJ, value)


def md_code(text: object, limit: int | None = 200) -> str:
    """Untrusted text as an inline code span that cannot break out or break a table.

    The fence is one backtick longer than the longest run inside; `|` is escaped
    (GitHub's table parser honours `\\|` inside code spans).
    """
    value = plain(text, limit).replace("|", "\\|")
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
