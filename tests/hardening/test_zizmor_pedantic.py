"""zizmor at `--persona=pedantic` on the action, the workflows, the starter templates
and what `mlops-ci init` writes: no finding, except those `.github/zizmor.yml`
justifies, and every justification there says why.

The files are named one by one: given a directory such as `workflows-templates`,
zizmor looks for `.github/workflows` below it and audits nothing else, silently.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / ".github" / "zizmor.yml"

#: What the config suppresses, and only that: (audit, file name pattern).
JUSTIFIED = {
    ("unpinned-uses", r"(workflows-templates|mlops_ci/templates/workflows)/[\w.-]+\.yml"),
    ("dangerous-triggers", r".*/pr-report-post\.yml"),
}


def _zizmor() -> str:
    bindir = str(Path(sys.executable).parent)
    found = shutil.which("zizmor", path=bindir + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        pytest.skip("zizmor is not installed (pip install -e '.[test]' provides it)")
    return found


def _targets() -> list[str]:
    files = [REPO_ROOT / "action.yml"]
    for folder in (".github/workflows", "workflows-templates", "mlops_ci/templates/workflows"):
        files += sorted((REPO_ROOT / folder).glob("*.y*ml"))
    return [str(p.relative_to(REPO_ROOT)) for p in files]


def _run(*options: str) -> tuple[list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env["NO_COLOR"] = "1"
    env.pop("ZIZMOR_CONFIG", None)
    proc = subprocess.run(
        [_zizmor(), "--offline", "--persona=pedantic", "--format=json", *options, *_targets()],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.stdout.strip().startswith("["), proc.stdout + proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings, proc.stderr


def _where(finding: dict[str, Any]) -> str:
    location = finding["locations"][0]
    key = location["symbolic"]["key"]
    path = key.get("Local", {}).get("verbatim_path", "") if isinstance(key, dict) else str(key)
    line = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
    return f"{path}:{(line or 0) + 1}"


def test_pedantic_finds_nothing_unjustified() -> None:
    findings, stderr = _run("--config", str(CONFIG))
    assert not findings, "\n".join(f"{f['ident']} at {_where(f)}: {f['desc']}" for f in findings)
    for target in _targets():  # every file was read, none skipped
        assert f"completed {target}" in stderr, (target, stderr)


def test_every_suppressed_finding_is_a_justified_one() -> None:
    findings, _ = _run("--no-config")
    unexplained = [
        f"{f['ident']} at {_where(f)}"
        for f in findings
        if not any(
            f["ident"] == ident and re.fullmatch(pattern, _where(f).rsplit(":", 1)[0])
            for ident, pattern in JUSTIFIED
        )
    ]
    assert not unexplained, "\n".join(unexplained)


def test_each_justification_in_the_config_says_why() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    entries = [
        i
        for i, line in enumerate(lines)
        if re.match(r"\s+(- \S|\"[^\"]+\": )", line)  # an ignore entry or a pin policy
    ]
    assert entries
    for index in entries:
        block = lines[max(0, index - 12) : index]
        comments = [line for line in block if line.strip().startswith("#")]
        assert comments, f"{CONFIG.name}:{index + 1}: {lines[index].strip()} has no reason"
