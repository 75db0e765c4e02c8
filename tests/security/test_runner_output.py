"""Untrusted text printed on a runner is shown, never obeyed; in a terminal it cannot
repaint the screen or hide a character.

Each hostile input goes through the real CLI (`mlops_ci.cli.main`) on a simulated
runner (`GITHUB_ACTIONS=true`, `GITHUB_OUTPUT` a real file). What the process printed
is then read the way the Actions runner reads a step's output (`obeyed` below, after
the runner's parser: lines split at CR and LF; `::name ...::data` once leading
whitespace is trimmed; the older `##[name ...]data` anywhere in a line; nothing but the
resume token between `::stop-commands::TOKEN` and `::TOKEN::`), and every command it
would obey is checked against the ones we emit on purpose.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The bad-input corpus's real fork bundle and its helpers (the fixture is shared).
from badinput.repos import config_yaml, make_repo
from badinput.test_bundles import _trusted, _workflow_run_env, _write_bundle, fork_bundle

from mlops_ci.cli import main

__all__ = ["fork_bundle"]  # a fixture used here by name

# The commands a runner knows (unknown names are printed as text).
REGISTERED = {
    "add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group",
    "notice", "remove-matcher", "save-state", "set-env", "set-output", "stop-commands",
    "warning",
}  # fmt: skip
# What we emit on purpose: annotations with escaped data, masks and log groups.
OURS = {"error", "warning", "notice", "add-mask", "group", "endgroup"}
# Control characters no untrusted text may bring to a terminal (tab and LF are fine).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


def _unescape(data: str) -> str:
    return data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _parse(line: str, registered: set[str]) -> tuple[str, str] | None:
    stripped = line.lstrip()
    if stripped.startswith("::"):
        end = stripped.find("::", 2)
        if end >= 0:
            name = stripped[2:end].split(" ", maxsplit=1)[0]
            if name in registered:
                return name, _unescape(stripped[end + 2 :])
    start = line.find("##[")
    if start >= 0:
        close = line.find("]", start)
        if close >= 0:
            name = line[start + 3 : close].split(" ", maxsplit=1)[0]
            if name in registered:
                return name, _unescape(line[close + 1 :])
    return None


def obeyed(stream: str) -> list[tuple[str, str]]:
    """The workflow commands a runner would carry out, reading `stream` line by line."""
    commands: list[tuple[str, str]] = []
    stop: str | None = None
    for line in re.split(r"\r\n|\r|\n", stream):
        found = _parse(line, REGISTERED | ({stop} if stop else set()))
        if found is None:
            continue
        name, data = found
        if stop is not None:
            if name == stop:
                stop = None
            continue
        if name == "stop-commands":
            stop = data
            continue
        commands.append((name, data))
    return commands


def run_cli(
    args: list[str],
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "RUNNER_")) or key in ("CI", "MLOPS_CI_TRACEBACK"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def assert_nothing_obeyed_but_ours(out: str, err: str) -> list[tuple[str, str]]:
    commands = obeyed(out) + obeyed(err)
    assert {name for name, _ in commands} <= OURS, commands
    for name, data in commands:
        if name != "error":  # our error annotation quotes the (escaped) message
            assert "pwned" not in data, (name, data)
    return commands


def assert_clean_for_a_terminal(text: str) -> None:
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert not INVISIBLE.search(text), repr(INVISIBLE.search(text))


@pytest.fixture
def runner_env(tmp_path: Path) -> dict[str, str]:
    output = tmp_path / "github_output"
    output.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output)}


HOSTILE_COLUMNS = [
    "a",
    "\n::error::pwned",
    "::set-output name=x::pwned",
    "  ::add-mask::pwned",
    "b\x1b[31mred\x9b2J",
    "z\u200bw",
    "q ##[set-output name=v;]pwned",
    "r\r::warning::pwned",
    "s\u202egnp.exe",
]


def _hostile_csvs(root: Path) -> None:
    rng = np.random.default_rng(7)
    for name, shift in (("ref.csv", 0.0), ("cur.csv", 3.0)):
        with (root / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HOSTILE_COLUMNS)
            for _ in range(300):
                writer.writerow([f"{rng.normal() + shift:.6f}" for _ in HOSTILE_COLUMNS])


def _monitor_args(root: Path) -> list[str]:
    return [
        "monitor", "--root", str(root), "--reference", "ref.csv", "--current", "cur.csv",
        "--output", str(root / "out"), "--publish", "local",
    ]  # fmt: skip


def test_monitor_shows_hostile_column_names_and_obeys_none(
    tmp_path: Path,
    runner_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _hostile_csvs(tmp_path)

    code, out, err = run_cli(_monitor_args(tmp_path), runner_env, monkeypatch, capsys)

    assert code == 0, err
    assert "::stop-commands::" in out  # the names are there, shielded
    assert_nothing_obeyed_but_ours(out, err)
    assert_clean_for_a_terminal(out + err)
    # Shown, not lost: the text of each name, its invisible characters made visible.
    assert "::set-output name=x::pwned" in out
    assert "z<U+200B>w" in out
    assert "s<U+202E>gnp.exe" in out
    outputs = Path(runner_env["GITHUB_OUTPUT"]).read_text()
    assert re.findall(r"^(\S+)<<ghadelimiter_", outputs, flags=re.M) == ["drift", "report-path"]


def test_monitor_output_in_a_terminal_has_no_escape_sequence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _hostile_csvs(tmp_path)

    code, out, err = run_cli(_monitor_args(tmp_path), {}, monkeypatch, capsys)

    assert code == 0, err
    assert "::stop-commands::" not in out  # not a runner: nothing to shield
    assert_clean_for_a_terminal(out + err)
    assert "b[31mred2J" in out


def test_on_a_runner_without_github_output_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _hostile_csvs(tmp_path)

    code, _, err = run_cli(_monitor_args(tmp_path), {"GITHUB_ACTIONS": "true"}, monkeypatch, capsys)

    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ")
    assert "GITHUB_OUTPUT" in lines[0]
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in err


# --- `mlops-ci post`: a fork's bundle -------------------------------------------------


@pytest.fixture
def post_case(
    fork_bundle: dict[str, Any], payloads_dir: Path, tmp_path: Path, runner_env: dict[str, str]
) -> dict[str, Any]:
    env = {**runner_env, **_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"])}
    return {"env": env, "trusted": _trusted(fork_bundle)}


def _post(
    bundle: Path, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str, str]:
    args = ["post", "--bundle", str(bundle), "--root", str(case["trusted"]), "--dry-run"]
    return run_cli(args, case["env"], monkeypatch, capsys)


def test_post_dry_run_shows_a_bundles_notes_and_obeys_none(
    fork_bundle: dict[str, Any],
    post_case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = json.loads(json.dumps(fork_bundle["report"]))
    # `data.note` is printed at the start of a line of the comment.
    report["data"] = {"available": False, "note": "::warning::pwned", "entries": []}
    report["notes"] = ["##[set-output name=gate;]pwned", "x\x1b]8;;https://evil\x07y"]
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], report)

    code, out, err = _post(bundle, post_case, monkeypatch, capsys)

    assert code == 0, err
    assert "\n::warning::pwned\n" in out  # shown as the comment has it ...
    assert_nothing_obeyed_but_ours(out, err)  # ... and not obeyed
    assert_clean_for_a_terminal(out + err)
    outputs = Path(post_case["env"]["GITHUB_OUTPUT"]).read_text()
    assert "pwned" not in outputs


def test_post_error_quoting_a_carriage_return_is_one_line(
    fork_bundle: dict[str, Any],
    post_case: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An unknown key is named in the error line (pydantic's `loc`), CR and all.
    metadata = {**fork_bundle["metadata"], "x\r::error::pwned\r": 1}
    bundle = _write_bundle(tmp_path / "bundle", metadata, fork_bundle["report"])

    code, out, err = _post(bundle, post_case, monkeypatch, capsys)

    assert code == 1
    assert "\r" not in err
    lines = [line for line in err.split("\n") if line]
    assert lines[0].startswith("error: "), err
    assert "::error::pwned" in lines[0], err
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), err
    # The only command obeyed is our own annotation, its data one line.
    commands = assert_nothing_obeyed_but_ours(out, err)
    assert [name for name, _ in commands] == ["error"]
    assert "\r" not in commands[0][1]
    assert "\n" not in commands[0][1]


# --- the registry: tagger names --------------------------------------------------------


def test_history_and_registry_show_a_hostile_tagger_name_cleanly(
    tmp_path: Path,
    runner_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo(
        tmp_path / "repo",
        {"metrics.json": '{"accuracy": 0.91}\n', "mlops-ci.yaml": config_yaml()},
    )
    hostile = "Ev\x1b[31mil\u202eX [bold]##[set-output name=t;]pwned"
    env = {**os.environ, "GIT_COMMITTER_NAME": hostile}
    subprocess.run(
        ["git", "tag", "-a", "clf@v1.0.0", "-m", "Registering clf version v1.0.0"],
        cwd=root, env=env, check=True,
    )  # fmt: skip

    wide = {"COLUMNS": "400"}  # the whole name in its cell
    for where in (wide, {**wide, **runner_env}):
        for args in (["history", "clf"], ["registry", "clf"]):
            code, out, err = run_cli([*args, "--root", str(root)], where, monkeypatch, capsys)
            assert code == 0, err
            assert_clean_for_a_terminal(out + err)
            if "GITHUB_ACTIONS" in where:
                assert_nothing_obeyed_but_ours(out, err)
            flat = re.sub(r"\s*│\s*|\s+", "", out)  # the cell may wrap over lines
            assert "Ev[31mil<U+202E>X[bold]" in flat, out  # shown, not read as markup

    # --json on a runner: still valid JSON with the same strings, and nothing obeyed.
    code, out, err = run_cli(
        ["history", "clf", "--json", "--root", str(root)], runner_env, monkeypatch, capsys
    )
    assert code == 0, err
    assert_nothing_obeyed_but_ours(out, err)
    assert json.loads(out)["events"][0]["author"] == hostile


# --- the report: invisible characters and the revision lines ---------------------------


def _report(**changes: Any) -> str:
    from mlops_ci.core.metrics import diff
    from mlops_ci.report.document import MetricRow, ReportDocument, Reproducibility, Revision
    from mlops_ci.report.render import RenderOptions, render_markdown

    result = diff({"m.json": {"acc": 0.5}}, {"m.json": {"acc": 0.6, "acc\u200b": 0.9}})
    document = ReportDocument(
        base=Revision(ref="main", sha="a" * 40),
        head=Revision(ref="feat|x", sha="b" * 40),
        metrics=[MetricRow.from_delta(r) for r in result.rows],
        reproducibility=Reproducibility(versions={"scikit_learn": "1.5_0", "dvc": "3.1"}),
        **changes,
    )
    return render_markdown(document, RenderOptions(marker="<!-- t -->"))


def test_names_differing_by_a_zero_width_space_look_different_in_the_report() -> None:
    markdown = _report()
    assert "\u200b" not in markdown
    rows = [row for row in markdown.splitlines() if row.startswith("| acc")]
    names = [row.split("|")[1].strip() for row in rows]
    assert "acc" in names, names
    assert "acc&lt;U+200B&gt;" in names, names


def test_comparing_line_and_versions_row_are_escaped_once() -> None:
    markdown = _report()
    comparing = next(line for line in markdown.splitlines() if line.startswith("Comparing "))
    # Prose: `|` needs no escape in a code span, and a backslash there would be shown.
    assert comparing == (
        f"Comparing `feat|x` (`{'b' * 40}`) with `main` (`{'a' * 40}`), baseline: dvc."
    )
    assert f"| head | `{'b' * 40}` (`feat\\|x`) |" in markdown  # a table cell: escaped
    # Escaped once: `_` is `\_` (not `\\\_`, which GitHub shows as `\_`).
    assert "| versions | scikit\\_learn 1.5\\_0, dvc 3.1 |" in markdown


# --- the runtime's own commands --------------------------------------------------------


def test_masks_and_group_titles_are_escaped_as_the_runner_unescapes_them() -> None:
    import io

    from mlops_ci.adapters.actions import ActionsRuntime

    stream = io.StringIO()
    runtime = ActionsRuntime(on_runner=True, stream=stream)
    runtime.mask("p%0Ass\rword")
    with runtime.group("stage\r::set-output name=x::pwned"):
        pass
    commands = obeyed(stream.getvalue())
    assert commands == [
        ("add-mask", "p%0Ass"),  # the secret as it is, not "p\nss"
        ("add-mask", "word"),
        ("group", "stage ::set-output name=x::pwned"),
        ("endgroup", ""),
    ]


def test_a_warning_on_a_runner_is_one_annotation_and_shielded_lines() -> None:
    import io

    from mlops_ci.adapters.actions import ActionsRuntime
    from mlops_ci.services.shared.job import RunnerProgress

    out, err = io.StringIO(), io.StringIO()
    progress = RunnerProgress(ActionsRuntime(on_runner=True, stream=out), out, err)
    progress.warning("bad \x1b[2Jname\r::set-output name=x::pwned", hint="##[error]pwned")
    assert obeyed(out.getvalue()) == [("warning", "bad [2Jname\n::set-output name=x::pwned")]
    assert obeyed(err.getvalue()) == []
    assert_clean_for_a_terminal(out.getvalue() + err.getvalue())
    assert "hint: ##[error]pwned" in err.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        "::error::pwned",
        "  \t::set-output name=x::pwned",
        "ok\r::add-mask::pwned",
        "ok\n##[set-output name=x;]pwned",
        "line ##[error]pwned",
        "::stop-commands::guess\n::error::pwned\n::guess::\n::error::pwned",
    ],
)
def test_guarded_text_is_shown_unchanged_and_never_obeyed(text: str) -> None:
    from mlops_ci.adapters.actions import guard_commands

    guarded = guard_commands(text)
    assert obeyed(text)  # the oracle sees the attack ...
    assert obeyed(guarded) == []  # ... and nothing once guarded
    lines = guarded.split("\n")
    assert "\n".join(lines[1:-1]) == text.rstrip("\n")


def test_harmless_text_is_not_wrapped() -> None:
    from mlops_ci.adapters.actions import guard_commands

    text = "accuracy: 0.91 (a::b is fine mid-line)\n  wrote out/drift.md"
    assert guard_commands(text) == text
