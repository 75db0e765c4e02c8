"""Bad `mlops-ci.yaml` files through `mlops-ci validate`: the 32 of the config tests, the
kinds they lack (kept as files under cases/configs/), and generated ones (an alias bomb,
deep nesting, binary noise, a missing file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import run_case

HERE = Path(__file__).parent
FOUNDATION = sorted((HERE.parent / "foundation" / "bad_configs").glob("*.yaml"))
OURS = sorted((HERE / "cases" / "configs").glob("*.yaml"))


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\nmetrics: {}\n").encode()


def _grid_bomb() -> bytes:
    lines = ["experiments:", "  grid:", "    y0: &y0 [1, 2]"]
    lines += [f"    y{i}: &y{i} [*y{i - 1}, *y{i - 1}]" for i in range(1, 40)]
    return ("\n".join(lines) + "\n").encode()


GENERATED: dict[str, bytes] = {
    "alias_bomb": _alias_bomb(),
    "alias_bomb_in_grid": _grid_bomb(),
    "deep_flow_nesting": b"metrics: " + b"[" * 20000 + b"]" * 20000 + b"\n",
    "deep_block_nesting": "".join(" " * i + f"k{i}:\n" for i in range(200)).encode()
    + b" " * 200
    + b"x: 1\n",
    "binary_noise": bytes(range(256)) * 16,
    "nul_bytes": b"metrics:\n  files: [a.json]\n\x00\x00\x00\n",
    "huge_single_line": b"pipeline: {run: " + b"x" * (4 << 20) + b", bogus: 1}\n",
}


@pytest.mark.parametrize("path", [*FOUNDATION, *OURS], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_bad_config_file(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_case(
        "config",
        path.stem,
        ["validate", "--config", str(path), "--root", str(tmp_path)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[tmp_path],
        expect=[1], message=path.name,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_config(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mlops-ci.yaml").write_bytes(GENERATED[name])
    run_case(
        "config",
        name,
        ["validate", "--root", str(repo)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message="mlops-ci.yaml",
    )  # fmt: skip


def test_missing_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(
        "config",
        "missing_file",
        ["validate", "--config", str(tmp_path / "nope.yaml"), "--root", str(tmp_path)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[tmp_path],
        expect=[1], message="no such config file",
    )  # fmt: skip


def test_unreadable_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    config = tmp_path / "mlops-ci.yaml"
    config.write_text("version: 1\n")
    config.chmod(0)
    run_case(
        "config",
        "unreadable_file",
        ["validate", "--root", str(tmp_path)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[],
        expect=[1], message="cannot read",
    )  # fmt: skip


TEMPLATES: dict[str, bytes] = {
    "template_syntax_error": b"{{ marker }}\n{% if %}\n",
    "template_undefined_name": b"{{ marker }}\n{{ nope.nope.nope }}\n",
    "template_without_marker": b"# My report\n{{ verdict }}\n",
    "template_huge_string": b'{{ marker }}\n{{ "x" * 100000000000 }}\n',
    "template_huge_range": b"{{ marker }}\n{% for i in range(10**10) %}.{% endfor %}\n",
    "template_include": b'{{ marker }}\n{% include "/etc/passwd" %}\n',
    "template_type_error": b'{{ marker }}\n{{ 1 + "a" }}\n',
    "template_sandbox_escape": b"{{ marker }}\n{{ ().__class__.__mro__[1].__subclasses__() }}\n",
    "template_not_utf8": b"\xff\xfe{{ marker }}\n",
}


@pytest.fixture(scope="session")
def report_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .repos import GOOD_METRICS, make_repo

    config = "metrics:\n  files: [metrics.json]\nreport:\n  template: report.md.j2\n"
    root = tmp_path_factory.mktemp("badinput-template") / "repo"
    return make_repo(root, {"metrics.json": GOOD_METRICS, "mlops-ci.yaml": config})


@pytest.mark.parametrize("name", [*sorted(TEMPLATES), "template_missing", "template_directory"])
def test_bad_report_template(
    name: str,
    report_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from .repos import copy_repo

    repo = copy_repo(report_repo, tmp_path / "repo")
    if name in TEMPLATES:
        (repo / "report.md.j2").write_bytes(TEMPLATES[name])
    elif name == "template_directory":
        (repo / "report.md.j2").mkdir()
    run_case(
        "config",
        name,
        ["report", "--root", str(repo), "--no-run", "--publish", "local"],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message="report.md.j2",
    )  # fmt: skip
