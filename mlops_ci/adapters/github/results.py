"""What each GitHub operation returns: plain frozen records, free of PyGithub objects,
so that callers never hold a live API object (or its token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CommentResult:
    id: int
    url: str
    action: Literal["created", "updated", "recreated", "unchanged"]


@dataclass(frozen=True)
class CheckRunResult:
    id: int
    url: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class AssetResult:
    id: int
    name: str
    size: int
    url: str
    action: Literal["uploaded", "reused", "replaced"]


@dataclass(frozen=True)
class ReleaseResult:
    id: int
    tag: str
    url: str
    draft: bool
    assets: tuple[AssetResult, ...] = ()


@dataclass(frozen=True)
class DeploymentResult:
    id: int
    ref: str
    sha: str
    environment: str
    url: str
    state: str | None = None


@dataclass(frozen=True)
class IssueResult:
    number: int
    url: str
    state: str
    action: Literal["created", "updated", "reopened", "closed", "unchanged"]


@dataclass(frozen=True)
class PullResult:
    number: int
    url: str
    created: bool
