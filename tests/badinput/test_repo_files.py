"""Hostile repository files and runner settings: one clear line and exit 1, never a hang,
a traceback (exit 3) or a file read from outside the repository.

- `dvc.yaml` declaring metrics, params or plots outside the repository (`/etc/hostname`,
  `../x`), or blown up (an alias bomb, millions of keys): refused when it is read;
- `params.yaml` and `dvc.lock` over the limits: refused before DVC runs the pipeline;
- `--output` naming a file, a malformed `GITHUB_API_URL`, a token with a line break
  or non-ASCII characters (the line never shows the token).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.cli import main

from .harness import run_case
from .repos import GOOD_METRICS, commit, copy_repo, make_repo

CONFIG = "metrics:\n  files: [metrics.json]\n"


def _alias_bomb(last: str) -> str:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n" + last


def _million_keys() -> str:
    return "".join(f"k{i}: {i}\n" for i in range(1_000_000))


@pytest.fixture(scope="session")
def plain_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("badinput-repo-files") / "repo"
    return make_repo(root, {"metrics.json": GOOD_METRICS, "mlops-ci.yaml": CONFIG})


def _repo(plain_repo: Path, tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    repo = copy_repo(plain_repo, tmp_path / "repo")
    commit(repo, files, "the case")
    return repo


STAGE = "stages:\n  train:\n    cmd: 'true'\n"
DVC_YAML = {
    "absolute_metrics": "metrics:\n- /etc/hostname\n",
    "absolute_stage_metrics": STAGE + "    metrics:\n    - /etc/hostname\n",
    "escaping_params": STAGE + "    params:\n    - ../params.yaml:\n      - lr\n",
    "escaping_wdir": STAGE + "    wdir: ..\n    metrics:\n    - m.json\n",
    "absolute_plot": "plots:\n- /etc/passwd\n",
    "plot_axis_outside": "plots:\n- roc:\n    x: fpr\n    y:\n      /etc/passwd: tpr\n",
    "alias_bomb": _alias_bomb("stages: {}\n"),
    "python_tag": "stages: !!python/object/apply:os.system ['true']\n",
    "million_keys": "",  # generated in the test: 15 MB
}


@pytest.mark.parametrize("case", sorted(DVC_YAML))
def test_hostile_dvc_yaml_is_one_line(
    case: str,
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = DVC_YAML[case] or "stages:\n" + _million_keys()
    repo = _repo(plain_repo, tmp_path, {"dvc.yaml": text})
    run_case(
        "repo-files", f"dvc.yaml/{case}",
        ["report", "--root", str(repo), "--no-run", "--publish", "local"],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message="dvc.yaml",
    )  # fmt: skip


PIPELINE_FILES = {
    "params_alias_bomb": ("params.yaml", _alias_bomb("lr: 0.1\n")),
    "params_million_keys": ("params.yaml", ""),
    "params_deep": ("params.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
    "lock_alias_bomb": ("dvc.lock", "schema: '2.0'\n" + _alias_bomb("stages: {}\n")),
}


@pytest.mark.parametrize("case", sorted(PIPELINE_FILES))
def test_pipeline_files_over_the_limits_are_refused_before_dvc_runs(
    case: str,
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, text = PIPELINE_FILES[case]
    marker = tmp_path / "pipeline-ran"
    config = CONFIG + f"params:\n  files: [params.yaml]\npipeline:\n  run: touch {marker}\n"
    files: dict[str, str | bytes] = {name: text or _million_keys(), "mlops-ci.yaml": config}
    repo = _repo(plain_repo, tmp_path, files)
    run_case(
        "repo-files", case,
        ["report", "--root", str(repo), "--publish", "local"],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message=name,
    )  # fmt: skip
    assert not marker.exists()


def test_output_naming_a_file_is_one_line(
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _repo(plain_repo, tmp_path, {"out.txt": "not a directory\n"})
    for output in ("out.txt", "out.txt/below"):
        run_case(
            "repo-files", f"--output {output}",
            ["report", "--root", str(repo), "--no-run", "--publish", "local", "--output", output],
            capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
            expect=[1], message="out.txt is a file",
        )  # fmt: skip


BAD_API_URLS = ["ftp:/x", "api.github.com", "https://", "https://exa mple.com", "http://h:port"]


@pytest.mark.parametrize("url", BAD_API_URLS)
def test_a_malformed_api_url_is_one_line(
    url: str,
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _repo(plain_repo, tmp_path, {})
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": "ghs_abc", "GITHUB_REPOSITORY": "o/r"}
    # The report is written locally first (to --output, outside the watched repository);
    # publishing it is what is refused, before any request.
    output = str(tmp_path / "out")
    run_case(
        "repo-files", f"GITHUB_API_URL={url}",
        ["report", "--root", str(repo), "--no-run", "--publish", "github", "--output", output],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo], env=env,
        expect=[1], message="GITHUB_API_URL",
    )  # fmt: skip


BAD_TOKENS = {"newline": "ghs_abc\nsecretpart", "non_ascii": "ghs_abcé", "space": "ghs a"}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_a_malformed_token_is_one_line_that_never_shows_it(
    case: str,
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _repo(plain_repo, tmp_path, {})
    token = BAD_TOKENS[case]
    env = {"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "o/r"}
    run_case(
        "repo-files", f"token/{case}",
        ["report", "--root", str(repo), "--no-run", "--publish", "github"],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo], env=env,
        expect=[1], message="GITHUB_TOKEN: the token holds",
    )  # fmt: skip


def test_the_token_line_shows_no_part_of_the_token(
    plain_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(plain_repo, tmp_path, {})
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(GITHUB_TOKEN="ghs_first\nsecondhalf", GITHUB_REPOSITORY="o/r")
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "report", "--root", str(repo), "--no-run"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "ghs_first" not in proc.stdout + proc.stderr
    assert "secondhalf" not in proc.stdout + proc.stderr


def test_a_lone_surrogate_in_a_metric_key_is_escaped_in_every_output(
    plain_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIG + "models:\n  clf:\n    stages: [staging, production]\n"
    files = {"metrics.json": '{"\\ud800": 1, "accuracy": 0.9}', "mlops-ci.yaml": config}
    repo = _repo(plain_repo, tmp_path, files)
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "RUNNER_")):
            monkeypatch.delenv(key)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--root", str(repo), "--no-run", "--publish", "local"])
    assert exit_info.value.code == 0
    report = (repo / ".mlops-ci" / "report.md").read_text(encoding="utf-8")
    assert "ud800" in report
    with pytest.raises(SystemExit) as exit_info:
        main(["register", "clf", "--root", str(repo)])
    assert exit_info.value.code == 0


def test_a_huge_config_file_is_refused_unread(
    plain_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _repo(plain_repo, tmp_path, {"mlops-ci.yaml": CONFIG + "# padding\n" * 500_000})
    run_case(
        "repo-files", "mlops-ci.yaml/5 MB",
        ["validate", "--root", str(repo)],
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path, watch=[repo],
        expect=[1], message="over the 4 MiB limit",
    )  # fmt: skip
