"""The report's data diff against DVC's own: `dvc diff --json BASE` is the oracle.

Real git and DVC repositories: outputs tracked with `dvc add` and by a pipeline, every
kind of change (files and directories added, modified, deleted, renamed; files inside
nested directories; a DVC 1.x lock at the base; an empty cache). Ours reads the
recorded hashes and the cache's `.dir` manifests, DVC builds its index: they must say
the same (only the order of entries may differ).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_ci.adapters.dvc_cache import DvcCache, outputs_at_rev, outputs_in_workspace
from mlops_ci.adapters.git import Git
from mlops_ci.core.data_diff import diff_data, recorded_outputs
from mlops_ci.report.document import ReportDocument
from mlops_ci.report.render import RenderOptions, render_markdown
from mlops_ci.services.report.collect import collect_data_diff
from tests.conftest import GitRepo


class DvcRepo(GitRepo):
    """A git repository with DVC initialised (its own cache and index)."""

    def dvc(self, *args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "dvc", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def files(self, files: dict[str, str]) -> None:
        for path, text in files.items():
            self.write(path, text)

    def remove(self, *paths: str) -> None:
        for path in paths:
            target = self.root / path
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DvcRepo:
    # DVC remembers directory listings in its site cache: a private one per test, so an
    # emptied cache is empty for DVC too.
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "site-cache"))
    root = tmp_path / "repo"
    root.mkdir()
    r = DvcRepo(root)
    r.git("init", "-q", "-b", "main")
    r.dvc("init", "-q")
    return r


def normalise(report: dict[str, Any]) -> dict[str, list[Any]]:
    """Statuses → sorted paths (renames as (old, new)); empty statuses dropped."""
    out: dict[str, list[Any]] = {}
    for status, entries in report.items():
        paths = [
            (e["path"]["old"], e["path"]["new"]) if isinstance(e["path"], dict) else e["path"]
            for e in entries
        ]
        if paths:
            out[status] = sorted(paths)
    return out


def dvc_diff(repo: DvcRepo, base: str) -> dict[str, list[Any]]:
    text = repo.dvc("diff", "--json", base).strip()
    return normalise(json.loads(text) if text else {})


def ours(repo: DvcRepo, base: str) -> dict[str, list[Any]]:
    git = Git(repo.root)
    old, new = outputs_at_rev(git, base), outputs_in_workspace(git, repo.root)
    cache = DvcCache(repo.root)
    result = diff_data(old, new, cache.manifests([*old.values(), *new.values()]), cache.exists)
    return normalise(result.as_dvc_json())


def assert_same(repo: DvcRepo, base: str) -> dict[str, list[Any]]:
    expected = dvc_diff(repo, base)
    assert ours(repo, base) == expected
    return expected


def test_files_added_modified_deleted_renamed(repo: DvcRepo) -> None:
    repo.files({"a.csv": "1\n", "b.csv": "2\n", "c.csv": "3\n", "data/d.csv": "4\n"})
    repo.dvc("add", "-q", "a.csv", "b.csv", "c.csv", "data/d.csv")
    base = repo.commit("base")
    repo.files({"a.csv": "1 changed\n", "new.csv": "new\n"})
    repo.dvc("add", "-q", "a.csv", "new.csv")
    repo.remove("b.csv", "b.csv.dvc")
    # A rename: same content, its .dvc file moved and pointed at the new name.
    repo.git("mv", "c.csv.dvc", "data/c-renamed.csv.dvc")
    (repo.root / "c.csv").rename(repo.root / "data/c-renamed.csv")
    moved = repo.root / "data/c-renamed.csv.dvc"
    moved.write_text(moved.read_text().replace("path: c.csv", "path: c-renamed.csv"))
    expected = assert_same(repo, base)
    assert expected == {
        "added": ["new.csv"],
        "modified": ["a.csv"],
        "deleted": ["b.csv"],
        "renamed": [("c.csv", "data/c-renamed.csv")],
    }


def test_nothing_changed(repo: DvcRepo) -> None:
    repo.files({"a.csv": "1\n", "images/x/1.png": "p\n"})
    repo.dvc("add", "-q", "a.csv", "images")
    base = repo.commit("base")
    assert assert_same(repo, base) == {}


def _nested(prefix: str, n: int, tag: str = "") -> dict[str, str]:
    return {
        f"{prefix}/{d}/{sub}/f{i}.txt": f"{d}{sub}{i}{tag}\n"
        for d in "ab"
        for sub in ("s", "t/u")
        for i in range(n)
    }


def test_directories_and_files_inside_them(repo: DvcRepo) -> None:
    repo.files({**_nested("changed", 3), **_nested("gone", 2), **_nested("same", 2)})
    repo.dvc("add", "-q", "changed", "gone", "same")
    base = repo.commit("base")
    repo.write("changed/a/s/f0.txt", "edited\n")  # modified inside a nested directory
    repo.remove("changed/b/t/u/f1.txt")  # deleted
    repo.write("changed/b/new/deep/n.txt", "new\n")  # added in a new subdirectory
    (repo.root / "changed/a/t/u/f2.txt").rename(repo.root / "changed/moved.txt")  # renamed
    repo.files(_nested("fresh", 2, "+"))
    repo.dvc("add", "-q", "changed", "fresh")
    repo.remove("gone", "gone.dvc")
    expected = assert_same(repo, base)
    assert "changed/" in expected["modified"]
    assert "changed/a/s/f0.txt" in expected["modified"]
    assert ("changed/a/t/u/f2.txt", "changed/moved.txt") in expected["renamed"]
    assert {"fresh/", "changed/b/new/deep/n.txt"} <= set(expected["added"])
    assert {"gone/", "gone/a/t/u/f1.txt", "changed/b/t/u/f1.txt"} <= set(expected["deleted"])


def test_cache_elsewhere(repo: DvcRepo) -> None:
    """`cache.dir` in `.dvc/config.local` moves the cache; manifests are read there."""
    repo.dvc("config", "--local", "cache.dir", "../../shared-cache")
    repo.files(_nested("images", 2))
    repo.dvc("add", "-q", "images")
    base = repo.commit("base")
    repo.write("images/a/s/f0.txt", "edited\n")
    repo.dvc("add", "-q", "images")
    assert not (repo.root / ".dvc" / "cache").exists()
    assert assert_same(repo, base) == {"modified": ["images/", "images/a/s/f0.txt"]}


def test_renamed_directory(repo: DvcRepo) -> None:
    repo.files(_nested("old", 2))
    repo.dvc("add", "-q", "old")
    base = repo.commit("base")
    repo.git("mv", "old.dvc", "new.dvc")
    (repo.root / "old").rename(repo.root / "new")
    dvc_file = repo.root / "new.dvc"
    dvc_file.write_text(dvc_file.read_text().replace("path: old", "path: new"))
    expected = assert_same(repo, base)
    assert ("old/", "new/") in expected["renamed"]
    assert len(expected["renamed"]) == 1 + 8


def test_pipeline_outputs_and_uncached_metrics(repo: DvcRepo) -> None:
    script = (
        "import pathlib, sys\n"
        "n = int(sys.argv[1])\n"
        "for i in range(n):\n"
        "    p = pathlib.Path(f'out/part{i % 2}/{i}.txt')\n"
        "    p.parent.mkdir(parents=True, exist_ok=True)\n"
        "    p.write_text(str(i))\n"
        "pathlib.Path('model.bin').write_text(str(n))\n"
        "pathlib.Path('metrics.json').write_text('{\"n\": %d}' % n)\n"
    )
    stage = {
        "stages": {
            "make": {
                "cmd": "python make.py 4",
                "deps": ["make.py"],
                "outs": ["out", "model.bin"],
                "metrics": [{"metrics.json": {"cache": False}}],
            }
        }
    }
    repo.files({"make.py": script, "dvc.yaml": yaml.safe_dump(stage)})
    repo.dvc("repro", "-q")
    base = repo.commit("base")
    stage["stages"]["make"]["cmd"] = "python make.py 6"
    repo.write("dvc.yaml", yaml.safe_dump(stage))
    repo.dvc("repro", "-q")
    expected = assert_same(repo, base)
    assert expected == {
        "added": ["out/part0/4.txt", "out/part1/5.txt"],
        "modified": ["model.bin", "out/"],
    }


def test_pipeline_in_a_subdirectory_with_wdir(repo: DvcRepo) -> None:
    """`dvc.lock` paths are relative to the stage's `wdir`, in the lock's directory."""

    def stage(text: str) -> str:
        cmd = f"mkdir -p o && echo {text} > o/x && echo 2 > m.txt && echo 3 > met.json"
        body = {"wdir": "work", "cmd": cmd, "outs": ["o", "m.txt"]}
        body["metrics"] = [{"met.json": {"cache": False}}]
        return yaml.safe_dump({"stages": {"s": body}})

    repo.write("pipe/dvc.yaml", stage("1"))
    (repo.root / "pipe/work").mkdir()
    repo.dvc("repro", "-q", "pipe/dvc.yaml")
    base = repo.commit("base")
    repo.write("pipe/dvc.yaml", stage("11"))
    repo.dvc("repro", "-q", "pipe/dvc.yaml")
    assert assert_same(repo, base) == {"modified": ["pipe/work/o/", "pipe/work/o/x"]}


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # DVC's content address


def _legacy_object(repo: DvcRepo, data: bytes, suffix: str = "") -> str:
    """Store `data` in the DVC 2 cache layout (`.dvc/cache/<2>/<rest>`); its hash."""
    value = _md5(data) + suffix
    target = repo.root / ".dvc" / "cache" / value[:2] / value[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return value


def _make_stage(cmd: str) -> str:
    return yaml.safe_dump({"stages": {"make": {"cmd": cmd, "outs": ["out", "model.bin"]}}})


def test_dvc1_lock_at_the_base(repo: DvcRepo) -> None:
    """DVC 3 refuses a 1.x lock; the same lock in the 2.0 schema (no `hash: md5`, objects
    in the legacy layout) is how DVC 2 read it, so that is the oracle's base."""
    files = {"out/a.txt": b"a\n", "out/sub/b.txt": b"b\n"}
    manifest = [{"md5": _legacy_object(repo, d), "relpath": p[4:]} for p, d in files.items()]
    dir_hash = _legacy_object(repo, json.dumps(manifest, sort_keys=True).encode(), ".dir")
    model = _legacy_object(repo, b"m\n")
    for path, data in files.items():
        repo.write(path, data.decode())
    repo.files({"model.bin": "m\n", ".gitignore": "/out\n/model.bin\n"})
    cmd = "mkdir -p out/sub && echo a > out/a.txt && echo b > out/sub/b.txt && echo m > model.bin"
    repo.write("dvc.yaml", _make_stage(cmd))
    outs = [
        {"path": "model.bin", "md5": model, "size": 2},
        {"path": "out", "md5": dir_hash, "size": 4, "nfiles": 2},
    ]
    body = {"cmd": cmd, "outs": outs}
    repo.write("dvc.lock", yaml.safe_dump({"make": body}))
    dvc1 = repo.commit("base, DVC 1.x lock")
    repo.write("dvc.lock", yaml.safe_dump({"schema": "2.0", "stages": {"make": body}}))
    dvc2 = repo.commit("base, the same lock as DVC 2 writes it")
    repo.write("dvc.yaml", _make_stage(cmd + " && echo c > out/sub/c.txt"))
    repo.dvc("repro", "-q")
    expected = dvc_diff(repo, dvc2)
    assert ours(repo, dvc2) == expected
    assert ours(repo, dvc1) == expected
    # The directory was re-hashed by DVC 3 (`hash: md5`): DVC 2's `md5-dos2unix` hashes
    # differ from it even for equal values, so its unchanged files are "modified" too.
    assert expected["added"] == ["out/sub/c.txt"]
    assert {"out/", "out/a.txt", "out/sub/b.txt"} <= set(expected["modified"])


def test_empty_cache(repo: DvcRepo) -> None:
    repo.files({"a.csv": "1\n", "same.csv": "s\n", **_nested("images", 2)})
    repo.dvc("add", "-q", "a.csv", "same.csv", "images")
    base = repo.commit("base")
    repo.write("a.csv", "2\n")
    repo.write("images/a/s/new.txt", "new\n")
    repo.dvc("add", "-q", "a.csv", "images")
    shutil.rmtree(repo.root / ".dvc" / "cache")
    expected = assert_same(repo, base)
    assert expected["not in cache"] == ["a.csv", "images/", "same.csv"]
    assert expected["modified"] == ["a.csv", "images/"]  # nothing inside: unknown
    data = collect_data_diff(Git(repo.root), repo.root, base)
    assert [(e.path, e.status) for e in data.entries] == [
        ("a.csv", "modified"),
        ("images/", "modified"),
    ]
    assert data.note is not None
    assert data.note.startswith("Files inside images/ are not listed")
    assert "dvc fetch" in data.note
    doc = ReportDocument(data=data)
    markdown = render_markdown(doc, RenderOptions(marker="<!-- report -->"))
    assert "Files inside images/ are not listed" in markdown


def test_base_objects_missing_but_manifests_kept(repo: DvcRepo) -> None:
    """Files the cache lacks are *not in cache* one by one when the manifest is there."""
    repo.files({"a.csv": "1\n", **_nested("images", 1)})
    repo.dvc("add", "-q", "a.csv", "images")
    base = repo.commit("base")
    repo.write("images/b/s/f0.txt", "changed\n")
    repo.dvc("add", "-q", "images")
    for path in (repo.root / ".dvc" / "cache").rglob("*"):
        if path.is_file() and not path.name.endswith(".dir"):
            path.unlink()
    expected = assert_same(repo, base)
    assert "images/a/s/f0.txt" in expected["not in cache"]


def test_report_entries_sizes(repo: DvcRepo) -> None:
    repo.files({"a.csv": "1\n", "images/x.txt": "x\n", "gone.csv": "g\n"})
    repo.dvc("add", "-q", "a.csv", "images", "gone.csv")
    base = repo.commit("base")
    repo.files({"a.csv": "1234\n", "images/x.txt": "xyz\n"})
    repo.dvc("add", "-q", "a.csv", "images")
    repo.remove("gone.csv", "gone.csv.dvc")
    data = collect_data_diff(Git(repo.root), repo.root, base)
    assert data.available
    assert data.note is None
    rows = {e.path: (e.status, e.size_base, e.size_head) for e in data.entries}
    assert rows == {
        "a.csv": ("modified", 2, 5),
        "images/": ("modified", 2, 4),
        "images/x.txt": ("modified", 2, 4),
        "gone.csv": ("deleted", 2, None),
    }


def test_unknown_base_revision(repo: DvcRepo) -> None:
    repo.commit("base")
    data = collect_data_diff(Git(repo.root), repo.root, "0" * 40)
    assert not data.available
    assert data.note is not None
    assert data.note.startswith("Data changes unavailable")


def test_a_hash_names_no_file_outside_the_cache(tmp_path: Path) -> None:
    """Hashes come from the repository: one shaped like a path reads nothing."""
    cache = DvcCache(tmp_path)
    (tmp_path / "secret.dir").write_text('[{"md5": "x", "relpath": "leak"}]')
    for value in ("../../secret.dir", "ab/../../secret.dir", "ab..", "..secret.dir"):
        assert cache.object_paths(("md5", value)) == []
        assert cache.manifest(("md5", value)) is None
    assert cache.object_paths(("md5", "0123abcd.dir"))[0] == (
        tmp_path / ".dvc" / "cache" / "files" / "md5" / "01" / "23abcd.dir"
    )
    assert cache.object_paths(("md5-dos2unix", "0123abcd"))[0] == (
        tmp_path / ".dvc" / "cache" / "01" / "23abcd"
    )


def test_recorded_outputs_skip_what_git_keeps() -> None:
    """`cache: false` outputs (in a `.dvc` file, or by `dvc.yaml` for a lock) are git's."""
    lock = yaml.safe_dump(
        {
            "schema": "2.0",
            "stages": {
                "s": {
                    "cmd": "x",
                    "outs": [
                        {"path": "m.json", "hash": "md5", "md5": "a" * 32},
                        {"path": "model.pkl", "hash": "md5", "md5": "b" * 32, "size": 3},
                    ],
                }
            },
        }
    )
    dvc_yaml = yaml.safe_dump(
        {
            "stages": {
                "s": {"cmd": "x", "outs": ["model.pkl"], "metrics": [{"m.json": {"cache": False}}]}
            }
        }
    )
    dvc_file = yaml.safe_dump({"outs": [{"path": "notes.txt", "md5": "c" * 32, "cache": False}]})
    found = recorded_outputs(
        {"dvc.lock": lock, "dvc.yaml": dvc_yaml, "docs/notes.txt.dvc": dvc_file}
    )
    assert list(found) == ["model.pkl"]
    assert found["model.pkl"].hash == ("md5", "b" * 32)
    assert found["model.pkl"].size == 3
