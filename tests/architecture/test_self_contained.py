"""The suite is self-contained: everything it checks against is in the repository.

A checkout alone (as the project's CI has) must run every GitHub-double, payload and
hardening test. So no test reads a folder beside the repository, and the GitHub
material the tests use is kept under tests/data/github/ with its licences. Only the
runner tier (tests/runner/), which drives real actions, may look outside.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
DATA = TESTS / "data" / "github"
ALLOWED_OUTSIDE = (TESTS / "runner", TESTS / "data")

# Ways a test could name a `shared` folder beside the repository.
OUTSIDE_PATTERNS = [
    re.compile(r"\.\./shared(?![\w-])"),  # "../shared/…"
    re.compile(r"""/\s*["']shared["']"""),  # Path(...).parent / "shared"
    re.compile(r"""["']\.\.["']\s*,\s*["']shared["']"""),  # Path("..", "shared")
    re.compile(r"""joinpath\([^)]*["']shared["']"""),  # p.joinpath("shared", …)
]


def _scanned_files() -> list[Path]:
    me = Path(__file__).resolve()
    found = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path == me or "__pycache__" in path.parts:
            continue
        if any(path.is_relative_to(allowed) for allowed in ALLOWED_OUTSIDE):
            continue
        found.append(path)
    return found


def outside_references(text: str) -> list[str]:
    return [match.group(0) for pattern in OUTSIDE_PATTERNS for match in pattern.finditer(text)]


def test_the_patterns_catch_each_way_of_naming_the_folder_beside_the_repository() -> None:
    caught = [
        'SHARED = REPO_ROOT.parent / "shared"',
        "PAYLOADS = Path(__file__).resolve().parents[3] / 'shared' / 'github'",
        '"""Read from ../shared/github/payloads."""',
        'Path("..", "shared", "github")',
        'root.joinpath("shared", "github")',
    ]
    for line in caught:
        assert outside_references(line), line
    fine = [
        "from mlops_ci.services.shared.job import Job",
        'repo.dvc("config", "--local", "cache.dir", "../../shared-cache")',
        'parts[2] == "shared"',
    ]
    for line in fine:
        assert not outside_references(line), line


def test_no_test_reads_a_folder_beside_the_repository() -> None:
    offenders = []
    for path in _scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for found in outside_references(text):
            offenders.append(f"{path.relative_to(TESTS.parent)}: {found}")
    assert not offenders, (
        "tests must use the material kept in tests/data/ (github_data.github_data), not a "
        "folder beside the repository:\n" + "\n".join(offenders)
    )


def test_each_kind_of_github_material_carries_its_licence() -> None:
    for folder in ("payloads", "openapi", "recorded"):
        licences = [p.name for p in (DATA / folder).iterdir() if p.name.startswith("LICENSE")]
        assert licences, f"tests/data/github/{folder}/ has no LICENSE file"
        text = (DATA / folder / licences[0]).read_text(encoding="utf-8")
        assert "Permission is hereby granted, free of charge" in text, folder
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for folder in ("payloads/", "payloads/derived/", "openapi/", "recorded/"):
        assert f"`{folder}" in readme, f"tests/data/github/README.md does not describe {folder}"


def test_the_webhook_payloads_are_githubs_unchanged() -> None:
    """Each payload is byte for byte the example its manifest names (source and sha256);
    the only edited ones are in derived/, which the README says."""
    manifest = json.loads((DATA / "payloads" / "MANIFEST.json").read_text(encoding="utf-8"))
    listed = {entry["file"] for entry in manifest}
    on_disk = {p.name for p in (DATA / "payloads").glob("*.json")} - {"MANIFEST.json"}
    assert listed == on_disk
    for entry in manifest:
        body = (DATA / "payloads" / entry["file"]).read_bytes()
        assert len(body) == entry["bytes"], entry["file"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["file"]
        assert entry["license"] == "MIT", entry["file"]


def _quickstart_line(number: int) -> str:
    """Line `number` of the README's first fenced block after '## Quickstart' (as .ci/run)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quickstart\n", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    return lines[number - 1]


def test_the_projects_ci_runs_the_whole_suite_from_its_checkout_alone() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    steps = workflow["jobs"]["test"]["steps"]
    checkouts = [
        step for step in steps if str(step.get("uses", "")).startswith("actions/checkout@")
    ]
    assert len(checkouts) == 1
    assert "repository" not in checkouts[0].get("with", {}), "the tests need this repository only"
    line = _quickstart_line(2)
    assert line in [str(step.get("run", "")).strip() for step in steps], (
        f"ci.yml's test job does not run README's Quickstart line 2: {line}"
    )
    pytest_words = shlex.split(line.split("&&")[-1])
    assert pytest_words[:3] == ["python", "-m", "pytest"], line
    narrowing = [w for w in pytest_words[3:] if not w.startswith("-") or w.split("=")[0] in (
        "-k", "-m", "--ignore", "--ignore-glob", "--deselect", "--lf", "--sw"
    )]  # fmt: skip
    assert not narrowing, f"the suite is narrowed in CI: {narrowing}"
