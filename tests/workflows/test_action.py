"""The composite action's `run:` steps, executed for real in bash (see composite.py).

What is simulated and why:
- `uses:` steps are skipped. actions/setup-python would provide an interpreter: the
  test gives the one running pytest as its `python-path` output. actions/cache would
  restore pip's cache: nothing to restore in a fresh RUNNER_TEMP.
- The install step runs its real `pip install "$GITHUB_ACTION_PATH"` into the action's
  own venv under RUNNER_TEMP. To keep that under seconds instead of a minute, the test
  creates that venv first with a `.pth` file pointing at the test interpreter's
  site-packages: pip then finds every dependency already satisfied and only builds and
  installs this package. The action sees an existing venv as one it made earlier in the
  job and reuses it, exactly as on a second call in one job. On a runner the venv is new
  and the install is complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from github_data import github_data

from mlops_ci.services.shared.sample_project import SampleProject

from .composite import ActionRun, CompositeRunner, base_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = github_data("payloads")
TOKEN = "ghs_actiontesttoken000000000000000000001"


def _prepared_venv(runner_temp: Path) -> Path:
    venv = runner_temp / "mlops-ci" / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_mlops_ci_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _runner(
    workspace: Path, runner_temp: Path, *, python: str | None = None, **env: str
) -> CompositeRunner:
    """`python`: the interpreter the run step uses when the install step is not run."""
    version = ".".join(str(v) for v in sys.version_info[:3])
    installed = {"install": {"python": python}} if python else {}
    return CompositeRunner(
        REPO_ROOT,
        workspace=workspace,
        runner_temp=runner_temp,
        env=base_environment({"GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", **env}),
        github={"token": TOKEN, "action_path": str(REPO_ROOT), "workspace": str(workspace)},
        uses_outputs={
            "python": {"python-path": sys.executable, "python-version": version},
            **installed,
        },
    )


def _explain(run: ActionRun) -> str:
    lines = [f"skipped: {run.skipped}"]
    for step in run.steps:
        lines.append(f"--- {step.name} (exit {step.returncode})\n{step.stdout}\n{step.stderr}")
    return "\n".join(lines)


@pytest.fixture
def runner_temp(tmp_path: Path) -> Path:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    _prepared_venv(temp)
    return temp


def test_action_installs_into_its_own_venv_and_runs_one_command(
    sample_project: SampleProject, runner_temp: Path
) -> None:
    runner = _runner(sample_project.root, runner_temp)
    run = runner.run({"command": "validate", "args": "--json"})

    assert run.failed is None, _explain(run)
    assert run.skipped == [
        "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97",
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
    ]
    venv_python = runner_temp / "mlops-ci" / "venv" / "bin" / "python"
    assert run.step("install").outputs["python"] == str(venv_python)
    installed = subprocess.run(
        [str(venv_python), "-c", "import mlops_ci; print(mlops_ci.__file__)"],
        capture_output=True, text=True, check=True, cwd=runner_temp,
    ).stdout  # fmt: skip
    assert installed.startswith(str(runner_temp)), "the package must come from the action's venv"
    key = run.step("key").outputs
    assert key["key"].startswith("mlops-ci-pip-Linux-py3.")
    assert key["dir"] == str(runner_temp / "mlops-ci" / "pip-cache")
    # `--json` reached the command as one argument: the output is the config as JSON.
    printed = run.step("run").stdout
    config = json.loads(printed[printed.index("{") :])
    assert "metrics" in config


# The next two run only the run step, with the test's interpreter standing in for the
# installed one: what they check happens there, and a full install is tested above.
def test_args_are_split_into_words_and_never_run_by_a_shell(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    runner = _runner(sample_project.root, tmp_path, python=sys.executable)
    args = f'--root "$(touch {marker})" --json; touch {marker} `touch {marker}`'
    run = runner.run({"command": "validate", "args": args}, only={"run"})

    assert not marker.exists(), "an input was executed by a shell"
    failed = run.failed
    assert failed is not None, _explain(run)
    assert failed.id == "run", _explain(run)
    # The words arrived verbatim (as click's usage error or a missing directory shows).
    assert failed.returncode == 1, _explain(run)


def test_unbalanced_quotes_in_args_fail_with_an_annotation(
    sample_project: SampleProject, tmp_path: Path
) -> None:
    runner = _runner(sample_project.root, tmp_path, python=sys.executable)
    run = runner.run({"command": "validate", "args": "'open"}, only={"run"})
    failed = run.failed
    assert failed is not None
    assert failed.id == "run"
    assert "::error title=mlops-ci::input args cannot be split" in failed.stdout


def test_extras_that_are_not_requirements_are_refused(tmp_path: Path) -> None:
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    runner = _runner(tmp_path, temp)
    run = runner.run({"command": "validate", "extras": "dvc-s3, --index-url=http://127.0.0.1:9/"})
    failed = run.failed
    assert failed is not None, _explain(run)
    assert failed.id == "install", _explain(run)
    assert "'--index-url=http://127.0.0.1:9/' is not a package name" in failed.stdout
    assert not (temp / "mlops-ci" / "venv").exists(), "refused before anything was made"


def _pull_request_event(path: Path, double: Any, sample: SampleProject, number: int) -> None:
    event = json.loads((PAYLOADS / "pull_request.opened.json").read_text(encoding="utf-8"))
    owner, name = double.repository.split("/")
    repo = dict(event["repository"], full_name=double.repository, name=name)
    repo["owner"] = dict(repo["owner"], login=owner)
    repo["default_branch"] = sample.main_branch
    pr = event["pull_request"]
    pr["number"] = event["number"] = number
    pr["head"] = dict(pr["head"], ref=sample.pr_branch, sha=sample.pr_sha, repo=repo)
    pr["base"] = dict(pr["base"], ref=sample.main_branch, sha=sample.main_sha, repo=repo)
    event["repository"] = repo
    path.write_text(json.dumps(event), encoding="utf-8")


def test_action_runs_the_report_against_the_github_double(
    sample_project: SampleProject, runner_temp: Path, github_double: Any, tmp_path: Path
) -> None:
    subprocess.run(
        ["git", "checkout", "-q", sample_project.pr_branch], cwd=sample_project.root, check=True
    )
    pull = github_double.state.add_pull(
        head=sample_project.pr_branch,
        base=sample_project.main_branch,
        head_sha=sample_project.pr_sha,
    )
    event_path = tmp_path / "event.json"
    _pull_request_event(event_path, github_double, sample_project, pull.number)
    runner = _runner(
        sample_project.root,
        runner_temp,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event_path),
        GITHUB_REPOSITORY=github_double.repository,
        GITHUB_API_URL=github_double.base_url,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_SHA=sample_project.pr_sha,
        GITHUB_REF=f"refs/pull/{pull.number}/merge",
        GITHUB_RUN_ID="4242",
        GITHUB_WORKFLOW="mlops-ci PR report",
    )
    run = runner.run(
        {
            "command": "report",
            "args": f"--publish github --no-fail-on-gate --output {tmp_path / 'bundle'}",
        }
    )

    assert run.failed is None, _explain(run)
    written = run.step("run").output_file
    assert "gate" in run.step("run").outputs, written
    assert "comment-url" in run.step("run").outputs, written
    assert run.outputs["gate"] in ("pass", "fail")
    assert run.outputs["comment-url"].startswith("https://github.com/" + github_double.repository)
    assert len(github_double.state.comments_on(pull.number)) == 1


def test_pushes_get_the_token_from_a_helper_that_lives_only_in_the_environment(
    tmp_path: Path,
) -> None:
    """The run step's preamble (everything before `exec`) makes git answer a credential
    request for the server with the token, and writes nothing to any git config."""
    import yaml

    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
    script = next(s for s in action["runs"]["steps"] if s.get("id") == "run")["run"]
    preamble = script[: script.index("exec ")]
    probe = tmp_path / "probe.sh"
    probe.write_text(
        preamble
        + "printf 'protocol=https\\nhost=github.com\\npath=o/r.git\\n\\n' | git credential fill\n",
        encoding="utf-8",
    )
    env = base_environment(
        {
            "MLOPS_CI_GITHUB_TOKEN": TOKEN,
            "GITHUB_SERVER_URL": "https://github.com",
            "GIT_TERMINAL_PROMPT": "0",
            "HOME": str(tmp_path),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
    )
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(probe)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "username=x-access-token" in result.stdout
    assert f"password={TOKEN}" in result.stdout
    assert not (tmp_path / ".gitconfig").exists()
