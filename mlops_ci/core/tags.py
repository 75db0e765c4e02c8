"""The registry's tag grammar: GTO-compatible git tag names, parsed and formatted.

One grammar in one place. A tag name is one of:

- ``name@vX.Y.Z``         register version ``vX.Y.Z`` (SemVer 2.0, pre-release and build allowed)
- ``name@vX.Y.Z!``        deregister that version
- ``name#stage#N``        assign ``stage`` to the version at the tag's commit
- ``name#stage!#N``       unassign ``stage``
- ``name@deprecated``     deprecate the artifact

Any of them may end in ``#N``, a counter; GTO writes it on stage tags. ``N`` is one more
than the highest counter on any tag of the same artifact. An artifact name is
``[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?``, optionally prefixed by a directory for a
monorepo: ``dir:name`` in the registry, written ``dir=name`` inside a tag. Names that do
not match are not registry tags and are ignored (``parse_tag`` returns ``None``).

Pure: no git, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

NAME_PATTERN = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
# GTO's directory prefix allows dots as well; it is separated by ':' (name) or '=' (tag).
DIRNAME_PATTERN = r"[a-zA-Z0-9\-_./]+"
SEPARATOR_IN_NAME = ":"
SEPARATOR_IN_TAG = "="

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER_PATTERN = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<prerelease>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

_NAME_RE = re.compile(rf"{NAME_PATTERN}\Z")
_FULLNAME_RE = re.compile(rf"(?:{DIRNAME_PATTERN}{SEPARATOR_IN_NAME})?{NAME_PATTERN}\Z")
_SEMVER_RE = re.compile(rf"v{SEMVER_PATTERN}\Z")
_TAG_RE = re.compile(
    rf"(?P<artifact>(?:{DIRNAME_PATTERN}{SEPARATOR_IN_TAG})?{NAME_PATTERN})"
    r"(?:"
    rf"(?:#(?P<stage>{NAME_PATTERN})|@(?P<version>v{SEMVER_PATTERN}))(?P<cancel>!?)"
    r"|@(?P<special>deprecated|created)"
    r")"
    r"(?:#(?P<counter>[0-9]+))?\Z"
)

Bump = Literal["major", "minor", "patch"]


class Action(StrEnum):
    """What a registry tag records."""

    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"


def is_valid_name(value: str) -> bool:
    """True for a plain artifact or stage name (no directory prefix)."""
    return _NAME_RE.match(value) is not None


def is_valid_artifact(value: str) -> bool:
    """True for an artifact name, optionally with a ``dir:`` monorepo prefix."""
    return _FULLNAME_RE.match(value) is not None


def artifact_to_tag(name: str) -> str:
    """``dir:name`` → ``dir=name`` (the form used inside tag names)."""
    return name.replace(SEPARATOR_IN_NAME, SEPARATOR_IN_TAG)


def tag_to_artifact(value: str) -> str:
    """``dir=name`` → ``dir:name``."""
    return value.replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)


def _identifier_key(part: str) -> tuple[int, int, str]:
    # SemVer 2.0 §11: numeric identifiers sort numerically and below alphanumeric ones.
    if part.isdigit():
        return (0, int(part), "")
    return (1, 0, part)


@dataclass(frozen=True, order=False)
class SemVer:
    """A SemVer 2.0 version written with a leading ``v`` (``v1.2.3-rc.1+build.5``)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``vX.Y.Z[-pre][+build]``; raise ValueError otherwise."""
        match = _SEMVER_RE.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a version: expected v + SemVer 2.0, e.g. v1.2.0 or v2.0.0-rc.1"
            )
        pre = match["prerelease"]
        build = match["build"]
        return cls(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"]),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return _SEMVER_RE.match(text) is not None

    def __str__(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def precedence(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Sort key by SemVer 2.0 precedence (build metadata does not count)."""
        return (
            self.major,
            self.minor,
            self.patch,
            0 if self.prerelease else 1,
            tuple(_identifier_key(p) for p in self.prerelease),
        )

    def bump(self, part: Bump) -> SemVer:
        """The next release: pre-release and build are dropped."""
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if part == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        raise ValueError(f"unknown bump {part!r}: expected major, minor or patch")


@dataclass(frozen=True)
class RegistryTag:
    """One parsed registry tag name."""

    artifact: str
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None
    semver: SemVer | None = field(default=None, compare=False, repr=False)

    def format(self) -> str:
        """The tag name; ``parse_tag(t.format()) == t``."""
        return format_tag(
            self.artifact, self.action, version=self.version, stage=self.stage, counter=self.counter
        )


def parse_tag(name: str) -> RegistryTag | None:
    """Parse a tag name; ``None`` when it is not a registry tag (GTO ignores it too).

    ``name@created`` matches GTO's pattern but records no action GTO can index, so it is
    ignored here.
    """
    match = _TAG_RE.match(name)
    if match is None:
        return None
    artifact = tag_to_artifact(match["artifact"])
    counter = int(match["counter"]) if match["counter"] is not None else None
    cancel = match["cancel"] == "!"
    if match["version"] is not None:
        version = match["version"]
        return RegistryTag(
            artifact,
            Action.DEREGISTER if cancel else Action.REGISTER,
            version=version,
            counter=counter,
            semver=SemVer.parse(version),
        )
    if match["stage"] is not None:
        return RegistryTag(
            artifact,
            Action.UNASSIGN if cancel else Action.ASSIGN,
            stage=match["stage"],
            counter=counter,
        )
    if match["special"] == "deprecated":
        return RegistryTag(artifact, Action.DEPRECATE, counter=counter)
    return None


def format_tag(
    artifact: str,
    action: Action,
    *,
    version: str | None = None,
    stage: str | None = None,
    counter: int | None = None,
) -> str:
    """Write a registry tag name; raise ValueError when a part is invalid."""
    if not is_valid_artifact(artifact):
        raise ValueError(
            f"{artifact!r} is not a valid artifact name: letters, digits, '-', '_', '/'; "
            "starting and ending with a letter or digit (monorepo: dir:name)"
        )
    base = artifact_to_tag(artifact)
    if action in (Action.REGISTER, Action.DEREGISTER):
        if version is None or not SemVer.is_valid(version):
            raise ValueError(f"{version!r} is not a version: expected v + SemVer 2.0")
        text = f"{base}@{version}" + ("!" if action is Action.DEREGISTER else "")
    elif action in (Action.ASSIGN, Action.UNASSIGN):
        if stage is None or not is_valid_name(stage):
            raise ValueError(f"{stage!r} is not a valid stage name")
        text = f"{base}#{stage}" + ("!" if action is Action.UNASSIGN else "")
    elif action is Action.DEPRECATE:
        text = f"{base}@deprecated"
    else:  # pragma: no cover - exhaustive over Action
        raise ValueError(f"unknown action {action!r}")
    if counter is not None:
        if counter < 0:
            raise ValueError("a counter is a non-negative integer")
        text += f"#{counter}"
    return text


def next_counter(artifact: str, tag_names: Iterable[str]) -> int:
    """1 + the highest counter on any tag of ``artifact`` (1 when none has a counter)."""
    highest = 0
    for name in tag_names:
        parsed = parse_tag(name)
        if parsed is not None and parsed.artifact == artifact and parsed.counter is not None:
            highest = max(highest, parsed.counter)
    return highest + 1


def next_version(existing: Iterable[str], bump: Bump) -> str:
    """The version after the highest of ``existing`` (``v0.0.0`` when there is none)."""
    highest: SemVer | None = None
    for text in existing:
        if not SemVer.is_valid(text):
            continue
        candidate = SemVer.parse(text)
        if highest is None or candidate.precedence() > highest.precedence():
            highest = candidate
    return str((highest or SemVer(0, 0, 0)).bump(bump))
