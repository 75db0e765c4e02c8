"""Files we produce, written whole or not at all.

Every report, bundle, card, config and workflow mlops-ci writes goes through here, so a
crash, a full disk or Ctrl-C never leaves a half-written file where a reader (a person,
the next job, `git add`) would take it for a finished one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[BinaryIO, Path]]:
    # Same directory as the target, so `os.replace` is a rename on one file system.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line endings) to `path` through a temporary file."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and `os.replace`."""
    with _temporary_beside(path) as (handle, _tmp):
        handle.write(data)


@contextmanager
def writing_atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary handle for a file written in pieces: `path` appears whole on success."""
    with _temporary_beside(path) as (handle, _tmp):
        yield handle


def copy_atomic(source: Path, dest: Path) -> None:
    """Copy `source` to `dest` so that `dest` is either the old file or the whole copy."""
    with _temporary_beside(dest) as (handle, _tmp), source.open("rb") as reader:
        shutil.copyfileobj(reader, handle, 1 << 20)
