"""What `dvc repro` did to each stage, read from the lines it prints.

DVC says, per stage, one of:

    Running stage 'train':
    Stage 'train' is cached - skipping run, checking out outputs
    Stage 'prepare' didn't change, skipping

The second is a restore from DVC's run-cache: the command did not run, its outputs
came from an earlier run with the same command, dependencies and params. Nothing
else tells "restored" from "ran and produced the same outputs" (both leave the same
`dvc.lock`), so the log is the source. A stage that ran lasted from its `Running`
line to the next line DVC prints after a stage (`Updating lock file`, the next
stage's line) or to the end of the command.

Pure: timestamped lines in, a summary out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RUNNING = re.compile(r"Running stage '(?P<stage>[^']+)':")
_CACHED = re.compile(r"Stage '(?P<stage>[^']+)' is cached - skipping run, checking out outputs")
_UNCHANGED = re.compile(r"Stage '(?P<stage>[^']+)' didn't change, skipping")
# Printed when a stage is done (DVC writes its lock entry), or before the next stage.
_STAGE_END = re.compile(r"Updating lock file '[^']+'|'[^']+' didn't change, skipping")


@dataclass
class ReproLog:
    """Stages that ran (with the seconds they took, when known), were restored, or were
    up to date, in the order DVC reported them."""

    ran: dict[str, float | None] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def is_marker(line: str) -> bool:
    """Whether `line` is one `read_repro_log` needs (the rest need not be kept)."""
    text = _clean(line)
    return any(p.fullmatch(text) for p in (_RUNNING, _CACHED, _UNCHANGED, _STAGE_END))


def _clean(line: str) -> str:
    return _ANSI.sub("", line).strip().rsplit("\r", 1)[-1].strip()


def read_repro_log(events: Iterable[tuple[float, str]], end: float | None = None) -> ReproLog:
    """Summarise `(time, line)` pairs of a `dvc repro` run; `end`: when the command ended."""
    log = ReproLog()
    running: tuple[str, float] | None = None

    def finish(at: float | None) -> None:
        nonlocal running
        if running is not None:
            name, started = running
            log.ran[name] = max(at - started, 0.0) if at is not None else None
            running = None

    for at, line in events:
        text = _clean(line)
        if match := _RUNNING.fullmatch(text):
            finish(at)
            running = (match["stage"], at)
            log.ran[match["stage"]] = None
        elif match := _CACHED.fullmatch(text):
            finish(at)
            log.restored.append(match["stage"])
        elif match := _UNCHANGED.fullmatch(text):
            finish(at)
            log.unchanged.append(match["stage"])
        elif _STAGE_END.fullmatch(text):
            finish(at)
    finish(end)
    return log
