"""DVC's file formats, read in one place: `dvc.lock` (DVC 1.x and 2+/3), `.dvc` files and
`dvc.yaml`, and what every journey takes for data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_ci.core.dvcfiles import is_data, parse_dvc_yaml, plot_options, uncached_paths
from mlops_ci.core.lockfile import (
    imports_data,
    lock_stage_bodies,
    read_dvc_file,
    read_lock,
    stage_hashes,
    tracked_files,
)
from mlops_ci.services.monitor import training_data_paths
from mlops_ci.services.shared.lineage import lineage_at
from mlops_ci.services.shared.registry import open_registry

RAW, PREPARED, MODEL = "a" * 32, "b" * 32 + ".dir", "c" * 32
PREPARE_PY, TRAIN_PY, CONFIG = "d" * 32, "e" * 32, "f" * 32


def _file(path: str, md5: str, size: int, *, dvc3: bool, nfiles: int | None = None) -> Any:
    entry: dict[str, Any] = {"path": path, "md5": md5, "size": size}
    if nfiles is not None:
        entry["nfiles"] = nfiles
    if dvc3:
        entry["hash"] = "md5"
    return entry


def _stages(*, dvc3: bool) -> dict[str, Any]:
    """One pipeline (prepare → train) as either DVC writes it in its lock."""
    return {
        "prepare": {
            "cmd": "python prepare.py",
            "deps": [
                _file("data/raw.csv", RAW, 1200, dvc3=dvc3),
                _file("prepare.py", PREPARE_PY, 300, dvc3=dvc3),
            ],
            "outs": [_file("data/prepared", PREPARED, 1100, dvc3=dvc3, nfiles=2)],
        },
        "train": {
            "cmd": ["python train.py", "echo trained"],
            "deps": [
                _file("config.json", CONFIG, 40, dvc3=dvc3),
                _file("data/prepared", PREPARED, 1100, dvc3=dvc3, nfiles=2),
                _file("train.py", TRAIN_PY, 500, dvc3=dvc3),
            ],
            "params": {"params.yaml": {"train.lr": 0.1}},
            "outs": [_file(MODEL_PATH, MODEL, 5000, dvc3=dvc3)],
        },
    }


MODEL_PATH = "models/model.pkl"


def lock_text(*, dvc3: bool) -> str:
    if dvc3:
        return yaml.safe_dump({"schema": "2.0", "stages": _stages(dvc3=True)}, sort_keys=False)
    # DVC 1.x: the stages at the top level, no `schema:` and no `hash: md5`.
    return yaml.safe_dump(_stages(dvc3=False), sort_keys=False)


def dvc_file_text(*, dvc3: bool) -> str:
    out = _file("raw.csv", RAW, 1200, dvc3=dvc3)
    return yaml.safe_dump({"outs": [out]}, sort_keys=False)


# --- the reader ----------------------------------------------------------------------------


def test_both_lock_formats_read_the_same() -> None:
    old, new = read_lock(lock_text(dvc3=False)), read_lock(lock_text(dvc3=True))
    assert list(old) == list(new) == ["prepare", "train"]
    for name in old:
        a, b = old[name], new[name]
        assert (a.cmd, a.params) == (b.cmd, b.params)
        for mine, theirs in ((a.deps, b.deps), (a.outs, b.outs)):
            assert [(f.path, f.md5, f.size, f.nfiles, f.hash_text) for f in mine] == [
                (f.path, f.md5, f.size, f.nfiles, f.hash_text) for f in theirs
            ]
    assert old["train"].cmd == "python train.py && echo trained"
    assert old["prepare"].outs[0].is_dir
    # DVC 3 outputs live in the remote's new layout; DVC 1.x ones in the legacy one.
    assert all(f.legacy for f in old["train"].outs)
    assert not any(f.legacy for f in new["train"].outs)


def test_lock_text_round_trips_through_yaml() -> None:
    for dvc3 in (False, True):
        text = lock_text(dvc3=dvc3)
        bodies = lock_stage_bodies(yaml.safe_load(text))
        assert bodies == _stages(dvc3=dvc3)
        again = (
            yaml.safe_dump({"schema": "2.0", "stages": bodies}) if dvc3 else yaml.safe_dump(bodies)
        )
        assert read_lock(again) == read_lock(text)


def test_odd_locks_have_no_stages() -> None:
    for text in (None, "", "[1, 2]", "schema: '2.0'\n", "stages: [a]\n", "{unclosed: [\n"):
        assert read_lock(text) == {}
    assert stage_hashes("{unclosed: [\n") == {}


def test_stage_hashes_and_tracked_files_agree_across_formats() -> None:
    old, new = lock_text(dvc3=False), lock_text(dvc3=True)
    assert set(stage_hashes(old)) == set(stage_hashes(new)) == {"prepare", "train"}
    # The hash is of what the stage records: DVC 3's extra `hash: md5` changes it.
    assert stage_hashes(old) != stage_hashes(new)
    assert stage_hashes(old) == stage_hashes(old.encode())
    files = {"data/raw.csv.dvc": dvc_file_text(dvc3=False)}
    assert tracked_files(old, files) == tracked_files(new, files)
    tracked = tracked_files(new, {"data/raw.csv.dvc": dvc_file_text(dvc3=True)})
    assert sorted(tracked) == ["data/prepared", "data/raw.csv", MODEL_PATH]
    assert tracked["data/raw.csv"].md5 == RAW
    assert tracked["data/prepared"].size == 1100


def test_dvc_files_in_every_format() -> None:
    for dvc3 in (False, True):
        (out,) = read_dvc_file("data/raw.csv.dvc", dvc_file_text(dvc3=dvc3))
        assert (out.path, out.md5, out.size, out.hash_text) == (
            "data/raw.csv",
            RAW,
            1200,
            f"md5:{RAW}",
        )
        assert out.legacy is not dvc3
    (top,) = read_dvc_file("raw.csv.dvc", "outs:\n- path: raw.csv\n  md5: " + RAW + "\n")
    assert top.path == "raw.csv"
    (cloud,) = read_dvc_file("s3.dvc", "outs:\n- path: s3.csv\n  etag: '0x1'\n")
    assert cloud.hash_text == "etag:0x1"
    imported = "deps:\n- path: https://example.com/x.csv\nouts:\n- path: x.csv\n  md5: " + RAW
    assert imports_data(yaml.safe_load(imported))
    assert not imports_data(yaml.safe_load(dvc_file_text(dvc3=True)))
    assert read_dvc_file("broken.dvc", "outs: [\n") == []


def test_what_is_data() -> None:
    assert is_data("data/raw.csv")
    assert is_data("data/prepared")
    assert not is_data("train.py")
    assert not is_data("analysis/Model.R")
    assert not is_data("config.json")
    # A file DVC tracks is data whatever its name.
    assert is_data("data/labels.json", {"data/labels.json"})


def test_dvc_yaml_declarations_plot_options_and_cache_flags() -> None:
    data = yaml.safe_load(
        """
stages:
  evaluate:
    wdir: eval
    cmd: python evaluate.py
    deps: [evaluate.py]
    metrics:
      - metrics.json: {cache: false}
    plots:
      - plots/roc.csv: {x: fpr, y: tpr, title: ROC, cache: false, template: linear}
      - plots/loss.csv
    outs:
      - report.html
plots:
  - confusion: {x: actual, y: predicted}
"""
    )
    declared = parse_dvc_yaml(data)
    assert declared.stages["evaluate"].deps == ["eval/evaluate.py"]
    assert declared.metrics == ["eval/metrics.json"]
    assert declared.outs == ["eval/report.html"]
    assert [p["id"] for p in declared.plots] == [
        "confusion",
        "eval/plots/roc.csv",
        "eval/plots/loss.csv",
    ]
    assert plot_options(data) == {"eval/plots/roc.csv": {"x": "fpr", "y": "tpr", "title": "ROC"}}
    assert uncached_paths(data) == {"eval/metrics.json", "eval/plots/roc.csv"}
    assert plot_options(None) == {} == plot_options({"stages": "odd"})


# --- every journey reads both formats alike -------------------------------------------------


def _commit(repo: Any, message: str, files: dict[str, str]) -> str:
    sha: str = repo.commit(message, files)
    return sha


@pytest.fixture
def released_commits(git_repo: Any) -> tuple[Path, str, str]:
    """A repository with the same pipeline committed with a DVC 1.x lock, then a DVC 3 one."""
    code = {"prepare.py": "print('prepare')\n", "train.py": "print('train')\n"}
    code["config.json"] = "{}\n"
    old = _commit(
        git_repo,
        "pipeline under DVC 1.x",
        {
            **code,
            "dvc.lock": lock_text(dvc3=False),
            "data/raw.csv.dvc": dvc_file_text(dvc3=False),
        },
    )
    new = _commit(
        git_repo,
        "the same pipeline under DVC 3",
        {"dvc.lock": lock_text(dvc3=True), "data/raw.csv.dvc": dvc_file_text(dvc3=True)},
    )
    return git_repo.root, old, new


def test_a_dvc1_lock_gives_the_same_lineage_as_a_dvc3_lock(
    released_commits: tuple[Path, str, str],
) -> None:
    root, old, new = released_commits
    reg = open_registry(root)
    before, after = lineage_at(reg, old), lineage_at(reg, new)
    assert (before.pop("commit"), after.pop("commit")) == (old, new)
    assert before == after
    assert [s["name"] for s in before["stages"]] == ["prepare", "train"]
    assert before["pipeline_outputs"] == ["data/prepared", MODEL_PATH]
    assert before["data"] == [
        {"path": "data/prepared", "hash": f"md5:{PREPARED}", "size": 1100, "stages": ["train"]},
        {
            "path": "data/raw.csv",
            "hash": f"md5:{RAW}",
            "size": 1200,
            "stages": ["prepare"],
            "tracked_by": "data/raw.csv.dvc",
        },
    ]
    train = before["stages"][1]
    assert train["cmd"] == "python train.py && echo trained"
    assert train["params"] == {"params.yaml": {"train.lr": 0.1}}
    assert train["outs"] == [{"path": MODEL_PATH, "hash": f"md5:{MODEL}", "size": 5000}]


def test_a_dvc1_lock_gives_the_same_training_data_as_a_dvc3_lock(
    released_commits: tuple[Path, str, str],
) -> None:
    root, old, new = released_commits
    reg = open_registry(root)
    texts = [(reg.git.show_file(rev, "dvc.lock") or b"").decode() for rev in (old, new)]
    for text in texts:
        assert training_data_paths(text, MODEL_PATH) == ["data/prepared"]
        # Without a model path, the stage named `train` is the training stage.
        assert training_data_paths(text, None) == ["data/prepared"]
        assert training_data_paths(text, "models/other.pkl") == []


def test_only_the_dvc_adapter_calls_dvc_api_or_sets_the_analytics_switch() -> None:
    package = Path(__file__).resolve().parents[2] / "mlops_ci"
    api_calls, switches = set(), set()
    for path in package.rglob("*.py"):
        text = path.read_text("utf-8")
        name = path.relative_to(package).as_posix()
        if re.search(r"\bdvc\.api\b", text.replace("`dvc.api`", "")):
            api_calls.add(name)
        if '"DVC_NO_ANALYTICS"' in text:
            switches.add(name)
    assert api_calls <= {"adapters/dvc.py"}
    assert switches == {"adapters/process.py"}
