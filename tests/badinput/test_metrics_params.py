"""Bad metrics and params files in every format, read where the product reads them:

- unparsable metrics → `mlops-ci register` (it records the metrics in the tag message):
  exit 1, no tag;
- metrics that parse but cannot pass a gate (NaN, text, a list value, infinity...) →
  `mlops-ci promote` (it checks the version's gates): exit 2, no stage tag;
- unparsable params → `mlops-ci release --dry-run` (it records the params): exit 1,
  no release directory.

`mlops-ci report` deliberately reports an unreadable file as a note instead of failing
(tests/report covers that); it is not a vehicle here. No format claims a size cap, so
no 50 MB metrics file is bad input: the bundle cap is exercised in test_bundles.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_ci.services.shared import promote as promote_service
from mlops_ci.services.shared import registry as registry_service

from .harness import run_case
from .repos import GOOD_METRICS, commit, config_yaml, copy_repo, make_repo

CASES = Path(__file__).parent / "cases"
UNPARSABLE = sorted((CASES / "metrics" / "unparsable").iterdir())
GATED = sorted((CASES / "metrics" / "gated").iterdir())
PARAMS = sorted((CASES / "params").iterdir())


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return ("\n".join(lines) + "\naccuracy: 0.9\n").encode()


HUGE_DIGITS = "9" * 5000
GENERATED_METRICS: dict[str, bytes] = {
    "huge_integer.json": f'{{"accuracy": {HUGE_DIGITS}}}'.encode(),
    "huge_integer.toml": f"accuracy = {HUGE_DIGITS}\n".encode(),
    "deep_nesting.json": b'{"a": ' * 5000 + b"1" + b"}" * 5000,
    "deep_flow_nesting.yaml": b"a: " + b"[" * 50000 + b"]" * 50000 + b"\n",
    "deep_nesting.toml": b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "alias_bomb.yaml": _alias_bomb(),
    "huge_cell.csv": b"accuracy,notes\n0.9," + b"x" * 300_000 + b"\n",
    "binary.json": bytes(range(256)) * 64,
    "gzip_named.json": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(64),
}
GENERATED_PARAMS: dict[str, bytes] = {
    "alias_bomb.yaml": _alias_bomb(),
    "huge_integer.json": f'{{"seed": {HUGE_DIGITS}}}'.encode(),
    "deep_nesting.yaml": b"a: " + b"{b: " * 3000 + b"1" + b"}" * 3000 + b"\n",
}


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a good metrics file, made once."""
    root = tmp_path_factory.mktemp("badinput-base") / "repo"
    return make_repo(root, {"good.json": GOOD_METRICS, "README.md": "model\n"})


def _case_repo(base: Path, tmp_path: Path, files: dict[str, str | bytes], config: str) -> Path:
    repo = copy_repo(base, tmp_path / "repo")
    commit(repo, files, "the case")
    (repo / "mlops-ci.yaml").write_text(config, encoding="utf-8")
    return repo


def _target_name(name: str) -> str:
    return "metrics" + name[name.index(".") :]


def _register_case(
    name: str,
    content: bytes,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = _target_name(name)
    repo = _case_repo(base_repo, tmp_path, {target: content}, config_yaml(metrics=target))
    run_case(
        "metrics",
        name,
        ["register", "clf", "--root", str(repo)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message=target,
    )  # fmt: skip


@pytest.mark.parametrize("path", UNPARSABLE, ids=lambda p: p.name)
def test_unparsable_metrics_file(
    path: Path,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register_case(path.name, path.read_bytes(), base_repo, tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize("name", sorted(GENERATED_METRICS))
def test_generated_unparsable_metrics_file(
    name: str,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register_case(name, GENERATED_METRICS[name], base_repo, tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize("path", GATED, ids=lambda p: p.name)
def test_metrics_that_cannot_pass_a_gate(
    path: Path,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = _target_name(path.name)
    repo = _case_repo(base_repo, tmp_path, {target: path.read_bytes()}, config_yaml(metrics=target))
    registry_service.register(repo, "clf")
    run_case(
        "metrics",
        path.name,
        ["promote", "clf", "--stage", "staging", "--root", str(repo)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[2], message="accuracy",
    )  # fmt: skip


def _params_case(
    name: str,
    content: bytes,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = "params" + name[name.index(".") :]
    config = config_yaml(metrics="good.json", params=target)
    repo = _case_repo(base_repo, tmp_path, {target: content}, config)
    registry_service.register(repo, "clf", version="v1.0.0")
    run_case(
        "params",
        name,
        ["release", "--tag", "clf@v1.0.0", "--dry-run", "--root", str(repo)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message=target,
    )  # fmt: skip


@pytest.mark.parametrize("path", PARAMS, ids=lambda p: p.name)
def test_unparsable_params_file(
    path: Path,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _params_case(path.name, path.read_bytes(), base_repo, tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize("name", sorted(GENERATED_PARAMS))
def test_generated_unparsable_params_file(
    name: str,
    base_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _params_case(name, GENERATED_PARAMS[name], base_repo, tmp_path, capsys, monkeypatch)


def test_the_good_metrics_register_and_promote(tmp_path: Path, base_repo: Path) -> None:
    """The control: the same repository with good files goes through (the cases are bad
    because of their file, not because of the set-up)."""
    repo = _case_repo(base_repo, tmp_path, {}, config_yaml(metrics="good.json"))
    outcome = registry_service.register(repo, "clf")
    assert outcome.created
    assert outcome.extra["metrics"]["good.json:accuracy"] == json.loads(GOOD_METRICS)["accuracy"]
    assert promote_service.promote(repo, "clf", "staging").created
