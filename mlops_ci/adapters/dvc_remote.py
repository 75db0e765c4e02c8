"""Which cached outputs a DVC remote holds, checked without downloading them.

The same question `dvc status --cloud` answers, asked for a commit's own `dvc.lock`
rather than the workspace: a released commit is reproducible only when every output
it records can be pulled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.core.lockfile import LockedFile
from mlops_ci.errors import DvcError


@dataclass(frozen=True)
class MissingOutput:
    path: str
    md5: str
    reason: str  # "not in remote" | "directory listing not found" | "file of directory missing"


class DvcRemote:
    """A DVC remote of the repository at `root` (the default remote unless named)."""

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.root = root
        self.name = name
        self._repo: Any = None
        self._remote: Any = None

    def __enter__(self) -> DvcRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._repo is not None:
            self._repo.close()

    def _open(self) -> Any:
        if self._remote is None:
            from dvc.exceptions import DvcException
            from dvc.repo import Repo

            try:
                self._repo = Repo(str(self.root))
                self._remote = self._repo.cloud.get_remote(self.name, command="verify")
            except DvcException as exc:
                message = str(exc).splitlines()[0]
                raise DvcError(
                    f"DVC remote: {message}", hint="dvc remote add -d NAME URL"
                ) from None
        return self._remote

    @property
    def url(self) -> str:
        remote = self._open()
        return str(getattr(remote, "path", ""))

    def _odb(self, legacy: bool) -> Any:
        remote = self._open()
        return remote.legacy_odb if legacy else remote.odb

    def _exist(self, oids: list[str], legacy: bool) -> set[str]:
        if not oids:
            return set()
        odb = self._odb(legacy)
        try:
            return set(odb.oids_exist(oids))
        except Exception as exc:  # the remote's own client errors (network, auth)
            raise DvcError(f"cannot query the DVC remote: {exc}".splitlines()[0]) from None

    def _dir_manifest(self, md5: str, legacy: bool) -> list[str] | None:
        odb = self._odb(legacy)
        path = odb.oid_to_path(md5)
        try:
            with odb.fs.open(path, "rb") as handle:
                entries = json.loads(handle.read())
        except (OSError, ValueError):
            return None
        return [str(e["md5"]) for e in entries if isinstance(e, dict) and e.get("md5")]

    def missing(self, outputs: Iterable[LockedFile]) -> list[MissingOutput]:
        """Outputs (and files inside directory outputs) the remote does not hold."""
        missing: list[MissingOutput] = []
        for legacy in (False, True):
            group = [o for o in outputs if o.md5 and o.legacy == legacy]
            present = self._exist(sorted({o.md5 for o in group if o.md5}), legacy)
            for out in group:
                assert out.md5 is not None
                if out.md5 not in present:
                    missing.append(MissingOutput(out.path, out.md5, "not in remote"))
                    continue
                if out.is_dir:
                    files = self._dir_manifest(out.md5, legacy)
                    if files is None:
                        missing.append(
                            MissingOutput(out.path, out.md5, "directory listing unreadable")
                        )
                        continue
                    inside = self._exist(sorted(set(files)), legacy)
                    absent = len(set(files) - inside)
                    if absent:
                        missing.append(
                            MissingOutput(
                                out.path, out.md5, f"{absent} file(s) of the directory missing"
                            )
                        )
        return missing
