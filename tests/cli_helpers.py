"""Running the CLI in-process, and the sample project with a version in production."""

from __future__ import annotations

import pytest

from mlops_ci.cli import main
from mlops_ci.services.shared.sample_project import MODEL_NAME, SampleProject


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mlops-ci ARGS`, run in this process."""
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def promote_to_production(
    sample: SampleProject, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> SampleProject:
    """Register `main` as v1.0.0 and promote it to staging, then production, through the
    CLI (each promotion proved by serving), in the project's directory, off GitHub."""
    monkeypatch.chdir(sample.root)
    for key in ("GITHUB_ACTIONS", "GITHUB_TOKEN", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(key, raising=False)
    root = ["--root", str(sample.root)]
    steps = (
        ["register", MODEL_NAME, "--version", "v1.0.0", "--ref", sample.main_sha],
        ["promote", MODEL_NAME, "--version", "v1.0.0", "--stage", "staging"],
        ["promote", MODEL_NAME, "--version", "v1.0.0", "--stage", "production"],
    )
    for step in steps:
        code, out, err = run([*step, *root], capsys)
        assert code == 0, (step, out, err)
    return sample
