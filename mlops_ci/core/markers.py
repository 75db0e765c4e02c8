"""The hidden HTML markers that let a re-run find what an earlier run wrote.

A sticky PR comment, a model's drift issue and a model's registry-policy issue each
carry one marker; the next run looks for exactly that text. The formats are a contract
with every comment and issue already on GitHub, so they live here, once, with a parser
that inverts each builder (checked by round-trip tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT_UNSAFE = re.compile(r"[^A-Za-z0-9._/@+ -]")
_DRIFT_MODEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]")
_POLICY_MODEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/:=]")
_MODEL_CHARS = 100

_COMMENT = re.compile(r"<!-- mlops-ci:([A-Za-z0-9._/@+ -]+):([A-Za-z0-9._/@+ -]+) -->")
_ISSUE = re.compile(r"<!-- mlops-ci:(drift|registry-policy) model=([A-Za-z0-9_.\-/:=]+) -->")


@dataclass(frozen=True)
class Marker:
    """What a marker says: its kind (`comment`, `drift`, `registry-policy`) and owner."""

    kind: str
    #: For a comment: the workflow; for an issue: the model.
    owner: str
    #: For a comment: the report kind (`report`, `sweep`, ...); empty for an issue.
    detail: str = ""


def comment_marker(workflow: str, kind: str) -> str:
    """The marker of one sticky comment: one per workflow and report kind."""
    safe_workflow = _COMMENT_UNSAFE.sub("-", workflow).strip() or "workflow"
    safe_kind = _COMMENT_UNSAFE.sub("-", kind).strip() or "report"
    return f"<!-- mlops-ci:{safe_workflow}:{safe_kind} -->"


def drift_issue_marker(model: str) -> str:
    """The marker that finds a model's drift issue again."""
    safe = _DRIFT_MODEL_UNSAFE.sub("_", model)[:_MODEL_CHARS] or "model"
    return f"<!-- mlops-ci:drift model={safe} -->"


def registry_policy_issue_marker(model: str) -> str:
    """The marker that finds a model's registry-policy issue again."""
    safe = _POLICY_MODEL_UNSAFE.sub("_", model)[:_MODEL_CHARS] or "model"
    return f"<!-- mlops-ci:registry-policy model={safe} -->"


def parse_marker(text: str) -> Marker | None:
    """The first mlops-ci marker in `text`, or None.

    The two grammars cannot overlap (`=` never appears in a comment marker), so the
    order of the two searches does not change the answer.
    """
    issue = _ISSUE.search(text)
    if issue:
        return Marker(kind=issue.group(1), owner=issue.group(2))
    comment = _COMMENT.search(text)
    if comment:
        return Marker(kind="comment", owner=comment.group(1), detail=comment.group(2))
    return None
