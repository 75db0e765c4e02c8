"""Run a composite action's `run:` steps for real, the way a runner does.

Steps run in order in `bash --noprofile --norc -eo pipefail` (the runner's `shell: bash`),
each with its own `GITHUB_OUTPUT` file, its `env:` and `working-directory` resolved from
the inputs, the runner variables and the outputs of earlier steps. `uses:` steps are not
run: the caller supplies the outputs such a step would have set (setup-python's
`python-path`, for one), since what they do is already on the machine.

Only the expression forms the action uses are understood: `${{ a.b.c }}` property
paths. Anything else raises, so a new kind of expression in action.yml makes the test
fail loudly instead of being resolved wrongly.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


@dataclass
class StepRun:
    id: str
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    output_file: str


@dataclass
class ActionRun:
    steps: list[StepRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> StepRun | None:
        return next((s for s in self.steps if s.returncode != 0), None)

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)


def parse_output_file(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as the runner reads them."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise ValueError(f"unterminated {delimiter!r} block for output {name!r}")
            i += 1
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


class CompositeRunner:
    def __init__(
        self,
        action_dir: Path,
        *,
        workspace: Path,
        runner_temp: Path,
        env: Mapping[str, str],
        github: Mapping[str, str],
        uses_outputs: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.action_dir = action_dir
        self.definition: dict[str, Any] = yaml.safe_load(
            (action_dir / "action.yml").read_text(encoding="utf-8")
        )
        self.workspace = workspace
        self.runner_temp = runner_temp
        self.env = dict(env)
        self.github = dict(github)
        self.uses_outputs = {k: dict(v) for k, v in uses_outputs.items()}

    # --- expressions -----------------------------------------------------------------

    def _lookup(self, path: str, inputs: Mapping[str, str], steps: Mapping[str, Any]) -> str:
        if not _PATH.match(path):
            raise NotImplementedError(f"expression {path!r} is not a property path")
        head, *rest = path.split(".")
        if head == "inputs" and len(rest) == 1:
            return inputs.get(rest[0], "")
        if head == "github" and len(rest) == 1:
            return self.github.get(rest[0], "")
        if head == "runner" and rest == ["temp"]:
            return str(self.runner_temp)
        if head == "steps" and len(rest) == 3 and rest[1] == "outputs":
            return str(steps.get(rest[0], {}).get(rest[2], ""))
        raise NotImplementedError(f"context {path!r} is not simulated")

    def resolve(self, value: Any, inputs: Mapping[str, str], steps: Mapping[str, Any]) -> str:
        text = "" if value is None else str(value)
        return _EXPRESSION.sub(lambda m: self._lookup(m.group(1), inputs, steps), text)

    # --- running ---------------------------------------------------------------------

    def inputs_with_defaults(self, given: Mapping[str, str]) -> dict[str, str]:
        declared: dict[str, Any] = self.definition.get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise ValueError(f"inputs not declared by the action: {sorted(unknown)}")
        inputs: dict[str, str] = {}
        for name, spec in declared.items():
            if name in given:
                inputs[name] = given[name]
            elif spec.get("required") and "default" not in spec:
                raise ValueError(f"required input {name!r} not given")
            else:
                inputs[name] = self.resolve(spec.get("default", ""), {}, {})
        return inputs

    def run(
        self,
        given_inputs: Mapping[str, str],
        *,
        stop_on_failure: bool = True,
        only: set[str] | None = None,
    ) -> ActionRun:
        """Run the steps; with `only`, other steps are skipped like `uses:` steps."""
        inputs = self.inputs_with_defaults(given_inputs)
        steps: dict[str, dict[str, str]] = {}
        result = ActionRun()
        files = self.runner_temp / "_runner_file_commands"
        files.mkdir(parents=True, exist_ok=True)
        summary = files / "step_summary"
        summary.touch()
        for index, step in enumerate(self.definition["runs"]["steps"]):
            step_id = str(step.get("id") or f"__step{index}")
            if "uses" in step or (only is not None and step_id not in only):
                # Not run: the machine already has what it sets up (see module docstring).
                result.skipped.append(str(step.get("uses") or step_id))
                steps[step_id] = dict(self.uses_outputs.get(step_id, {}))
                continue
            if "if" in step:
                raise NotImplementedError(f"`if:` on the run step {step_id!r} is not simulated")
            assert step.get("shell") == "bash", f"step {step_id} must declare shell: bash"
            output_file = files / f"set_output_{index}"
            output_file.touch()
            env = dict(self.env)
            env.update(
                {
                    "GITHUB_ACTION_PATH": str(self.action_dir),
                    "GITHUB_WORKSPACE": str(self.workspace),
                    "RUNNER_TEMP": str(self.runner_temp),
                    "GITHUB_OUTPUT": str(output_file),
                    "GITHUB_STEP_SUMMARY": str(summary),
                }
            )
            for name, value in (step.get("env") or {}).items():
                env[str(name)] = self.resolve(value, inputs, steps)
            workdir = Path(self.resolve(step.get("working-directory", "."), inputs, steps))
            if not workdir.is_absolute():
                workdir = self.workspace / workdir
            script = files / f"step_{index}.sh"
            script.write_text(str(step["run"]), encoding="utf-8")
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            raw_outputs = output_file.read_text(encoding="utf-8")
            outputs = parse_output_file(raw_outputs)
            steps[step_id] = outputs
            result.steps.append(
                StepRun(
                    step_id,
                    str(step.get("name", step_id)),
                    proc.returncode,
                    proc.stdout,
                    proc.stderr,
                    outputs,
                    raw_outputs,
                )
            )
            if proc.returncode != 0 and stop_on_failure:
                return result
        for name, spec in (self.definition.get("outputs") or {}).items():
            result.outputs[name] = self.resolve(spec.get("value", ""), inputs, steps)
        return result


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment without any real runner or token variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "INPUT_")) and k not in ("GH_TOKEN", "CI")
    }
    env.update(extra or {})
    return env
