"""register / promote / rollback / deprecate / registry / history through the CLI, on real
git repositories (no DVC: metrics are committed files)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from registry_helpers import BASE_TIME, Repo, git_date

import mlops_ci
from mlops_ci.commands import registry as commands

CONFIG = """\
metrics:
  files: [metrics.json]
  gates:
    accuracy: {min: 0.8}
models:
  clf:
    path: model.bin
    stages: [dev, staging, production]
    promotion:
      order: strict
"""


def metrics(acc: float) -> str:
    return json.dumps({"accuracy": acc, "loss": 0.1})


@pytest.fixture
def project(make_repo: Callable[..., Repo]) -> Repo:
    repo = make_repo("project", bare_origin=True)
    repo.commit(
        "model v1",
        t=10,
        files={"mlops-ci.yaml": CONFIG, "metrics.json": metrics(0.9), "model.bin": "one"},
    )
    repo.git("push", "-q", "origin", "main")
    return repo


def test_every_registry_option_has_help() -> None:
    for name in ("register", "promote", "rollback", "deprecate", "registry", "history", "release"):
        command = getattr(commands, name)
        assert isinstance(command, click.Command)
        assert command.help
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help"


def test_register_bumps_carries_metrics_and_is_idempotent(project: Repo) -> None:
    first = project.cli("register", "clf", "--bump", "minor", "--json", t=20)
    assert first.code == 0, first.err
    data = first.json()
    assert (data["tag"], data["created"]) == ("clf@v0.1.0", True)
    message = project.git("tag", "-l", "--format=%(contents)", "clf@v0.1.0")
    assert '"metrics.json:accuracy": 0.9' in message
    again = project.cli("register", "clf", "--bump", "minor", "--json", t=21)
    assert again.code == 0
    assert (again.json()["tag"], again.json()["created"]) == ("clf@v0.1.0", False)
    # A different explicit version for an already registered commit is refused.
    other = project.cli("register", "clf", "--version", "v9.0.0", t=22)
    assert other.code == 2
    assert "already registered as clf@v0.1.0" in other.err
    project.commit("model v2", t=30, files={"metrics.json": metrics(0.95)})
    bumped = project.cli("register", "clf", "--json", t=31)  # config bump: patch
    assert bumped.json()["tag"] == "clf@v0.1.1"
    # The same version at another commit would move a tag: refused.
    project.commit("model v3", t=32, files={"metrics.json": metrics(0.96)})
    moved = project.cli("register", "clf", "--version", "v0.1.0", t=33)
    assert moved.code == 2
    assert "never moved" in moved.err


def test_bad_input_exits_1(project: Repo) -> None:
    bad = project.cli("register", "clf", "--version", "1.0", t=20)
    assert bad.code == 1
    assert "not a version" in bad.err
    bad = project.cli("register", "-clf-", "--version", "v1.0.0", t=20)
    assert bad.code == 1
    bad = project.cli("register", "clf", "--ref", "no-such-branch", t=20)
    assert bad.code == 1
    assert "unknown revision" in bad.err


def test_promotion_policy_refusals_exit_2_with_reason(project: Repo) -> None:
    assert project.cli("register", "clf", "--version", "v1.0.0", t=20).code == 0
    refused = project.cli("promote", "clf", "--stage", "prod", t=21)
    assert refused.code == 2
    assert "stage 'prod' is not allowed (allowed: dev, staging, production)" in refused.err
    refused = project.cli("promote", "clf", "--stage", "staging", t=22)
    assert refused.code == 2
    assert "must be in stage 'dev' before 'staging'" in refused.err
    assert project.git("tag", "-l", "clf#*") == ""  # nothing written on refusal
    ok = project.cli("promote", "clf", "--stage", "dev", "--json", t=23)
    assert ok.code == 0, ok.err
    assert ok.json()["tag"] == "clf#dev#1"
    assert ok.json()["gates"][0]["verdict"] == "pass"
    # Re-running is a no-op, not a second tag.
    again = project.cli("promote", "clf", "--stage", "dev", "--json", t=24)
    assert again.json()["noop"] is True
    assert again.json()["tag"] == "clf#dev#1"

    # A version whose own metrics fail its gates.
    project.commit("worse model", t=30, files={"metrics.json": metrics(0.5)})
    project.git("push", "-q", "origin", "main")
    assert project.cli("register", "clf", "--version", "v1.1.0", t=31).code == 0
    refused = project.cli("promote", "clf", "--stage", "dev", "--version", "v1.1.0", t=32)
    assert refused.code == 2
    assert "gates failed: accuracy is 0.5, below the minimum 0.8" in refused.err

    # A version registered on a branch that is not on the default branch.
    project.git("checkout", "-q", "-b", "side")
    project.commit("side model", t=40, files={"metrics.json": metrics(0.99)})
    assert project.cli("register", "clf", "--version", "v2.0.0", t=41).code == 0
    refused = project.cli("promote", "clf", "--stage", "dev", "--version", "v2.0.0", t=42)
    assert refused.code == 2
    assert "is not on the default branch 'main'" in refused.err


def test_rollback_registry_history_and_deprecate(project: Repo) -> None:
    project.cli("register", "clf", "--version", "v1.0.0", t=20)
    project.cli("promote", "clf", "--stage", "dev", t=21)
    project.commit("model v2", t=30, files={"metrics.json": metrics(0.92)})
    project.git("push", "-q", "origin", "main")
    project.cli("register", "clf", "--version", "v2.0.0", t=31)
    assert project.cli("promote", "clf", "--stage", "dev", t=32).code == 0
    view = project.cli("registry", "--json").json()["models"]
    assert view[0]["name"] == "clf"
    assert view[0]["latest"] == "v2.0.0"
    assert view[0]["stages"] == {"dev": "v2.0.0", "staging": None, "production": None}
    assert [v["version"] for v in view[0]["versions"]] == ["v2.0.0", "v1.0.0"]

    back = project.cli("rollback", "clf", "--stage", "dev", "--json", t=40)
    assert back.code == 0, back.err
    assert (back.json()["tag"], back.json()["version"], back.json()["previous"]) == (
        "clf#dev#3",
        "v1.0.0",
        "v2.0.0",
    )
    assert project.cli("registry", "clf", "--json").json()["models"][0]["stages"]["dev"] == "v1.0.0"
    events = project.cli("history", "clf", "--json").json()["events"]
    assert [(e["action"], e["version"], e["tag"]) for e in events] == [
        ("register", "v1.0.0", "clf@v1.0.0"),
        ("assign", "v1.0.0", "clf#dev#1"),
        ("register", "v2.0.0", "clf@v2.0.0"),
        ("assign", "v2.0.0", "clf#dev#2"),
        ("assign", "v1.0.0", "clf#dev#3"),
    ]
    nothing = project.cli("rollback", "clf", "--stage", "staging", t=41)
    assert nothing.code == 2
    assert "nothing to roll back" in nothing.err

    table = project.cli("registry")
    assert "clf" in table.out
    assert "v2.0.0" in table.out

    assert project.cli("deprecate", "clf", t=50).code == 0
    listed = project.cli("registry", "--json").json()["models"]
    assert [m["name"] for m in listed] == []
    shown = project.cli("registry", "--deprecated", "--json").json()["models"]
    assert (shown[0]["deprecated"], shown[0]["latest"]) == (True, None)
    refused = project.cli("promote", "clf", "--stage", "dev", "--version", "v2.0.0", t=51)
    assert refused.code == 2
    assert "deprecated" in refused.err


def test_lightweight_and_foreign_tags_are_ignored(project: Repo) -> None:
    project.cli("register", "clf", "--version", "v1.0.0", t=20)
    project.lightweight("clf@v5.0.0")
    project.tag("release-2026", t=21)
    project.tag("clf@v1.0", t=22)
    view = project.cli("registry", "--json").json()["models"]
    assert view[0]["latest"] == "v1.0.0"
    assert [v["version"] for v in view[0]["versions"]] == ["v1.0.0"]


def test_two_promotions_racing_one_wins(project: Repo, make_repo: Callable[..., Repo]) -> None:
    """Clone B plans `clf#dev#1`; while it pushes, clone A promotes and pushes first.

    A pre-push hook in B runs A's promotion at exactly the wrong moment, so the race is
    deterministic: one stage tag lands on origin, B is refused (exit 2) and says why.
    """
    project.cli("register", "clf", "--version", "v1.0.0", "--push", t=20)
    project.commit("model v2", t=25, files={"metrics.json": metrics(0.91)})
    project.git("push", "-q", "origin", "main")
    project.cli("register", "clf", "--version", "v2.0.0", "--push", t=26)
    origin = project.git("remote", "get-url", "origin")
    clones = []
    for name in ("a", "b"):
        clone = make_repo(f"clone-{name}")
        clone.git("remote", "add", "origin", origin)
        clone.git("fetch", "-q", "origin")
        clone.git("reset", "-q", "--hard", "origin/main")
        clone.git("remote", "set-head", "origin", "main")
        clones.append(clone)
    a, b = clones
    package_root = Path(mlops_ci.__file__).resolve().parents[1]
    hook = b.root / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX\n"
        f"PYTHONPATH='{package_root}' GIT_COMMITTER_DATE='{git_date(BASE_TIME + 40)}' "
        f"'{sys.executable}' -m mlops_ci promote clf --stage dev --version v1.0.0 --push "
        f"--root '{a.root}' >/dev/null || exit 1\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    lost = b.cli("promote", "clf", "--stage", "dev", "--version", "v2.0.0", "--push", t=41)
    assert lost.code == 2, lost.err
    assert "the remote already has tag 'clf#dev#1' (another run created it first)" in lost.err
    remote_tags = project.git("ls-remote", "--tags", "--refs", "origin", "clf#*").splitlines()
    assert len(remote_tags) == 1
    # The winner's tag is the one on origin: v1.0.0 holds dev for everyone who fetches.
    project.git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    view = project.cli("registry", "clf", "--json").json()["models"][0]
    assert view["stages"]["dev"] == "v1.0.0"


def test_push_race_after_planning_is_refused(project: Repo, make_repo: Callable[..., Repo]) -> None:
    """Planned on the same state, pushed in turn: exactly one tag lands, the other is told."""
    from mlops_ci.adapters.git import Git
    from mlops_ci.errors import PolicyRefused

    project.cli("register", "clf", "--version", "v1.0.0", "--push", t=20)
    project.commit("model v2", t=25, files={"metrics.json": metrics(0.91)})
    project.git("push", "-q", "origin", "main")
    project.cli("register", "clf", "--version", "v2.0.0", "--push", t=26)
    origin = project.git("remote", "get-url", "origin")
    clones = []
    for name in ("a", "b"):
        clone = make_repo(f"clone-{name}")
        clone.git("remote", "add", "origin", origin)
        clone.git("fetch", "-q", "--tags", "origin")
        clones.append(clone)
    # Each creates the next stage tag locally (same counter), then pushes.
    for clone, version_tag, t in ((clones[0], "clf@v1.0.0", 30), (clones[1], "clf@v2.0.0", 31)):
        clone.git("tag", "-a", "-m", "assign", "clf#dev#1", f"{version_tag}^{{commit}}", t=t)
    assert Git(clones[0].root).push_tag("clf#dev#1").outcome == "pushed"
    with pytest.raises(PolicyRefused, match="another run created it first"):
        Git(clones[1].root).push_tag("clf#dev#1")
    # Pushing the winner again is a no-op, not an error.
    assert Git(clones[0].root).push_tag("clf#dev#1").outcome == "already-pushed"
    remote = subprocess.run(
        ["git", "ls-remote", "--tags", "--refs", origin, "clf#dev#*"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(remote) == 1


def test_reading_a_registry_without_config_never_loads_it(
    make_repo: Callable[..., Repo],
) -> None:
    from mlops_ci.config import CONFIG_FILENAMES
    from mlops_ci.services.shared.registry import CONFIG_FILES

    assert CONFIG_FILES == CONFIG_FILENAMES
    repo = make_repo()
    repo.tag("m@v1.0.0", t=1)
    code = (
        "import sys\n"
        "from mlops_ci.cli import main\n"
        "try:\n"
        f"    main(['registry', '--json', '--root', {str(repo.root)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('loaded' if 'mlops_ci.config' in sys.modules else 'not loaded', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["models"][0]["latest"] == "v1.0.0"
    assert proc.stderr.strip() == "not loaded"


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it (`name<<DELIMITER` blocks)."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        outputs[name] = "\n".join(value)
    return outputs


def test_step_outputs_on_a_runner(
    project: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output, summary = tmp_path / "output.txt", tmp_path / "summary.md"
    output.touch()
    summary.touch()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert project.cli("register", "clf", "--version", "v1.0.0", t=20).code == 0
    assert read_outputs(output) == {"tag": "clf@v1.0.0", "version": "v1.0.0"}
    output.write_text("")
    assert project.cli("promote", "clf", "--stage", "dev", t=21).code == 0
    assert read_outputs(output) == {
        "tag": "clf#dev#1",
        "version": "v1.0.0",
        "stage": "dev",
        "gate": "pass",
    }
    assert "Promoted `clf` v1.0.0 to **dev**" in summary.read_text()


def test_wrong_places_are_one_line_errors(tmp_path: Path, project: Repo) -> None:
    missing = project.cli("registry", root=tmp_path / "nowhere")
    assert (missing.code, missing.err.splitlines()[0]) == (
        1,
        f"error: {tmp_path / 'nowhere'}: no such directory",
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    not_repo = project.cli("registry", root=plain)
    assert not_repo.code == 1
    assert "not a git repository" in not_repo.err
    unknown = project.cli("history", "nope")
    assert unknown.code == 1
    assert "has no registry tags" in unknown.err
