"""A newcomer follows only README.md and gets a report on a pull request.

In a copy of the sample project (a real git + DVC project without mlops-ci), run the
commands of the README's "Use it in your repository" section exactly as written, check
the workflows land in `.github/workflows/` and pass the same linters as ours, open the
"pull request" that adopts mlops-ci, and run `mlops-ci report` as the reusable workflow
runs it: with the real `pull_request.synchronize` payload pointed at the sample's
commits and the GitHub double as the API. One comment must be posted.

The commands and the report arguments are read from README.md and from the reusable
workflow, so this test breaks when the docs drift from the product.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflows.test_lint import _actionlint, _schema, _workflows, _zizmor

from mlops_ci.services.shared.sample_project import SampleProject

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
SECTION = "Use it in your repository"
REUSABLE = REPO_ROOT / ".github" / "workflows" / "pr-report.yml"
TOKEN = "ghs_newcomertoken00000000000000000000001"


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, re.M | re.S)


def readme_commands() -> list[list[str]]:
    """The shell commands of the section's first bash block, comments dropped."""
    blocks = code_blocks(readme_section(SECTION), "bash")
    assert blocks, f"'{SECTION}' shows no bash block"
    lines = [shlex.split(line, comments=True) for line in blocks[0].splitlines()]
    return [words for words in lines if words]


def workflow_report_args(runner_temp: Path) -> list[str]:
    """`args:` of the reusable workflow's report step, with its expressions filled in as
    a runner would for a caller that passes no `args` input."""
    workflow = yaml.safe_load(REUSABLE.read_text(encoding="utf-8"))
    steps = [s for job in workflow["jobs"].values() for s in job.get("steps", [])]
    step = next(s for s in steps if s.get("with", {}).get("command") == "report")
    text = str(step["with"]["args"])
    text = text.replace("${{ runner.temp }}", str(runner_temp)).replace("${{ inputs.args }}", "")
    assert "${{" not in text, f"an expression this test does not know: {text}"
    return shlex.split(text)


def _run(words: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_readme_shows_install_then_mlops_ci_commands() -> None:
    commands = readme_commands()
    install, rest = commands[0], commands[1:]
    assert install[:4] == ["python", "-m", "pip", "install"]
    assert install[4].startswith("mlops-ci @ ")
    assert [words[:2] for words in rest] == [["mlops-ci", "init"], ["mlops-ci", "validate"]]


def test_getting_started_shows_the_readme_commands_and_workflow() -> None:
    """docs/getting-started.md repeats the README's adoption steps: they must not drift."""
    guide = (REPO_ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    section = readme_section(SECTION)
    assert code_blocks(section, "bash")[0] in code_blocks(guide, "bash")
    assert code_blocks(section, "yaml")[0] in code_blocks(guide, "yaml")
    quickstart = code_blocks(readme_section("Quickstart"), "bash")[0]
    assert quickstart in code_blocks(guide, "bash")
    for link in re.findall(r"\]\(([^)#]+)", guide):
        if "://" not in link:
            assert (REPO_ROOT / "docs" / link).resolve().is_file(), link


def test_newcomer_adopts_mlops_ci_and_gets_one_report_comment(
    sample_project: SampleProject,
    github_double: Any,
    payloads_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = sample_project
    root = sample.root
    # A project that has never seen mlops-ci (the sample ships a config for the demo).
    (root / "mlops-ci.yaml").unlink()
    _git(root, "commit", "-q", "-am", "Start without mlops-ci")
    main_sha = _git(root, "rev-parse", "HEAD")
    # The newcomer's branch: the sample's pull request, brought up to date with main.
    _git(root, "checkout", "-q", sample.pr_branch)
    _git(root, "merge", "-q", "--no-edit", sample.main_branch)
    subprocess.run([sys.executable, "-m", "dvc", "checkout", "-q"], cwd=root, check=True)

    # 1. Exactly the README's commands (the package is installed already: skip pip).
    for words in readme_commands()[1:]:
        proc = _run(words, root)
        assert proc.returncode == 0, f"{shlex.join(words)}:\n{proc.stdout}\n{proc.stderr}"
        if words[1] == "init":
            assert "wrote mlops-ci.yaml" in proc.stdout
        if words[1] == "validate":
            assert "accuracy" in proc.stdout

    # 2. The workflows are where GitHub looks, they call what the README shows, and
    #    they pass the linters our own workflows pass.
    workflows = _workflows(root)
    assert workflows
    assert all(w.startswith(".github/workflows/") for w in workflows)
    names = {Path(w).name for w in workflows}
    assert {"pr-report.yml", "pr-report-post.yml"} <= names
    readme_job = yaml.safe_load(code_blocks(readme_section(SECTION), "yaml")[0])["jobs"]["report"]
    ours = yaml.safe_load((root / ".github" / "workflows" / "pr-report.yml").read_text())
    job = next(j for j in ours["jobs"].values() if "pr-report.yml" in j.get("uses", ""))
    assert job["uses"].split("@")[0] == readme_job["uses"].split("@")[0]
    assert job["permissions"] == readme_job["permissions"]
    _actionlint(workflows, root)
    _zizmor(workflows, root)
    _schema("vendor.github-workflows", workflows, root)

    # 3. The pull request that adopts mlops-ci.
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Adopt mlops-ci")
    head_sha = _git(root, "rev-parse", "HEAD")
    pull = github_double.state.add_pull(
        head=sample.pr_branch, base=sample.main_branch, head_sha=head_sha
    )
    payload = json.loads((payloads_dir / "pull_request.synchronize.json").read_text())
    pr = payload["pull_request"]
    payload["number"] = pr["number"] = pull.number
    payload["repository"]["full_name"] = github_double.repository
    pr["base"]["repo"]["full_name"] = pr["head"]["repo"]["full_name"] = github_double.repository
    pr["base"].update(ref=sample.main_branch, sha=main_sha)
    pr["head"].update(ref=sample.pr_branch, sha=head_sha)
    payload.update(before=main_sha, after=head_sha)
    runner = tmp_path / "runner"
    runner.mkdir()
    event = runner / "event.json"
    event.write_text(json.dumps(payload))
    (runner / "output").touch()
    (runner / "summary").touch()
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "RUNNER_")) or key == "CI":
            monkeypatch.delenv(key)
    runner_env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": github_double.repository,
        "GITHUB_API_URL": github_double.base_url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_OUTPUT": str(runner / "output"),
        "GITHUB_STEP_SUMMARY": str(runner / "summary"),
        "GITHUB_WORKFLOW": ours["name"],
        "GITHUB_RUN_ID": "777",
        "GITHUB_SHA": head_sha,
        "GITHUB_REF": f"refs/pull/{pull.number}/merge",
        "RUNNER_TEMP": str(runner),
    }
    for key, value in runner_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)

    # 4. The report, with the arguments the reusable workflow gives the action.
    from mlops_ci.cli import main

    args = workflow_report_args(runner)
    assert "--no-run" not in args  # the pipeline runs, as on GitHub
    with pytest.raises(SystemExit) as info:
        main(["report", *args])
    captured = capsys.readouterr()
    assert info.value.code == 0, captured.err
    comments = list(github_double.state.comments.values())
    assert len(comments) == 1
    body = comments[0].body
    assert body.startswith(f"<!-- mlops-ci:{ours['name']}:pr-report -->")
    assert "### Metrics" in body
    assert "accuracy" in body
    assert [r.conclusion for r in github_double.state.check_runs.values()] == ["success"]
    report_dir = runner / "mlops-ci-report"
    assert (report_dir / "report.md").is_file()
    assert json.loads((report_dir / "report.json").read_text())["pr_number"] == pull.number
    assert "## mlops-ci report" in (runner / "summary").read_text()
