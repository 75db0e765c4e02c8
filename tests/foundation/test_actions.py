"""The runner protocol, read back exactly as the runner would read it."""

from __future__ import annotations

import io
import re
from pathlib import Path

from mlops_ci.adapters.actions import ActionsRuntime


def parse_github_output(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT like the runner: `name=value` or `name<<DELIM ... DELIM`."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
        else:
            i += 1
    return outputs


def _runtime(tmp_path: Path) -> tuple[ActionsRuntime, io.StringIO]:
    stream = io.StringIO()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    return ActionsRuntime.from_environ(env, stream=stream), stream


def test_outputs_are_multiline_safe(tmp_path: Path) -> None:
    runtime, _ = _runtime(tmp_path)
    hostile = "line one\nevil=injected\nghadelimiter_x\n"
    runtime.set_output("gate", "pass")
    runtime.set_output("report-path", hostile)
    parsed = parse_github_output((tmp_path / "output").read_text())
    assert parsed == {"gate": "pass", "report-path": hostile}
    assert "evil" not in parsed


def test_summary_appends(tmp_path: Path) -> None:
    runtime, _ = _runtime(tmp_path)
    runtime.append_summary("# one")
    runtime.append_summary("two")
    assert (tmp_path / "summary").read_text() == "# one\ntwo\n"


def test_annotations_escape_data_and_properties(tmp_path: Path) -> None:
    runtime, stream = _runtime(tmp_path)
    runtime.error("50% worse\nsecond line", file="conf,ig:x.yaml", line=3)
    assert (
        stream.getvalue() == "::error file=conf%2Cig%3Ax.yaml,line=3::50%25 worse%0Asecond line\n"
    )


def test_mask_and_group(tmp_path: Path) -> None:
    runtime, stream = _runtime(tmp_path)
    runtime.mask("s3cr3t-value")
    with runtime.group("Run pipeline"):
        stream.write("inside\n")
    assert stream.getvalue().splitlines() == [
        "::add-mask::s3cr3t-value",
        "::group::Run pipeline",
        "inside",
        "::endgroup::",
    ]


def test_local_runtime_prints_no_workflow_commands() -> None:
    stream = io.StringIO()
    runtime = ActionsRuntime.from_environ({}, stream=stream)
    runtime.set_output("gate", "fail")
    runtime.error("boom")
    runtime.mask("secret-xyz")
    with runtime.group("Collect"):
        pass
    assert "::" not in stream.getvalue()
    assert runtime.outputs == {"gate": "fail"}
    assert re.search("Collect", stream.getvalue())
