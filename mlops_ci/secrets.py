"""Known secret values, so that no message we print can carry one.

The token is registered once when the run context is read; every line the CLI
prints for an error passes through `redact`. On a runner the value is also
masked with `::add-mask::` (see adapters/actions.py).
"""

from __future__ import annotations

_SECRETS: set[str] = set()

MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember a secret value (ignored when empty or too short to be one)."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Return `text` with every registered secret replaced by `***`."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
