"""Start-up diet: a command imports only what it uses.

Each case runs the real command as a new process under `python -X importtime` and
reads what was imported. Two views of the same process are checked: the importtime
log (which names the module that pulled a heavy one in) and the final `sys.modules`
(which also sees modules loaded through `importlib.import_module`, which importtime
does not log). No timings are asserted here; they are in benchmarks/bench_cli.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops_ci.services.shared.sample_project import SampleProject

#: Never on the path of `report --no-run --publish none`: the DVC and GitHub clients,
#: the scientific stack (the drift monitor's and the sample pipeline's), rich (only for
#: a terminal, and the test's stdout is a pipe).
REPORT_FORBIDDEN = ("dvc", "github", "scipy", "sklearn", "pandas", "pyarrow", "numpy", "rich")
#: Not even for `--help`: nothing beyond click and the command modules themselves.
HELP_FORBIDDEN = ("pydantic", "jinja2", "rich", "yaml", "dvc", "github")

_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|(?P<indent> *)(?P<name>\S+)\s*$")

# Runs the CLI like `python -m mlops_ci`, then writes the final sys.modules to a file.
_RUNNER = """\
import atexit, json, os, runpy, sys
out = os.environ["STARTUP_MODULES_OUT"]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["mlops-ci", *sys.argv[1:]]
runpy.run_module("mlops_ci", run_name="__main__", alter_sys=True)
"""


@dataclass
class Imports:
    """What one process imported: module -> the module that imported it (None: top level)."""

    importer: dict[str, str | None]
    loaded: set[str]
    output: str

    def chain(self, module: str) -> str:
        """`a <- b <- c`: the module and who imported it, up to the top level."""
        names = [module]
        parent = self.importer.get(module)
        while parent is not None and len(names) < 12:
            names.append(parent)
            parent = self.importer.get(parent)
        return " <- ".join(names)

    def heavy(self, forbidden: tuple[str, ...]) -> list[str]:
        """Each forbidden package that was imported, named with how it got in."""
        found = []
        for package in forbidden:
            logged = [m for m in self.importer if _top(m) == package]
            if logged:
                first = min(logged, key=lambda m: m.count("."))
                found.append(f"{package} (imported as {self.chain(first)})")
            elif any(_top(m) == package for m in self.loaded):
                found.append(f"{package} (in sys.modules; loaded via importlib)")
        return found


def _top(module: str) -> str:
    return module.partition(".")[0]


def parse_importtime(stderr: str) -> dict[str, str | None]:
    """Module -> importer, from `-X importtime` output (children are logged before their
    parent, one level of two-space indent deeper)."""
    importer: dict[str, str | None] = {}
    pending: dict[int, list[str]] = {}
    for raw in stderr.splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        depth = (len(match["indent"]) - 1) // 2
        name = match["name"]
        for child in pending.pop(depth + 1, []):
            importer[child] = name
        pending.setdefault(depth, []).append(name)
        importer.setdefault(name, None)
    return importer


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other side closed (EIO)
            return
        if not chunk:
            return
        into.append(chunk)


def run_with_importtime(
    args: list[str], cwd: Path, tmp_path: Path, *, terminal: bool = False
) -> Imports:
    """Run `mlops-ci ARGS`, its standard output a pipe (or a pseudo-terminal)."""
    modules_out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.update(STARTUP_MODULES_OUT=str(modules_out), DVC_NO_ANALYTICS="1")
    command = [sys.executable, "-X", "importtime", "-c", _RUNNER, *args]
    if terminal:
        primary, secondary = os.openpty()
        received: list[bytes] = []
        reader = threading.Thread(target=_read_all, args=(primary, received))
        reader.start()
        with subprocess.Popen(
            command, cwd=cwd, env=env, stdout=secondary, stderr=subprocess.PIPE
        ) as child:
            os.close(secondary)
            stderr = child.stderr.read().decode() if child.stderr else ""
            returncode = child.wait(timeout=300)
        reader.join(timeout=60)
        os.close(primary)
        stdout = b"".join(received).decode("utf-8", "replace")
    else:
        proc = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        stdout, stderr, returncode = proc.stdout, proc.stderr, proc.returncode
    errors = "\n".join(line for line in stderr.splitlines() if not line.startswith("import time:"))
    assert returncode == 0, f"mlops-ci {' '.join(args)} failed:\n{errors}\n{stdout}"
    importer = parse_importtime(stderr)
    assert "mlops_ci.cli" in importer, "no importtime output was read"
    loaded = set(json.loads(modules_out.read_text("utf-8")))
    return Imports(importer=importer, loaded=loaded, output=stdout)


def test_the_importtime_reader_names_who_imported_what() -> None:
    log = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        10 |         10 |     c\n"
        "import time:        10 |         20 |   b\n"
        "import time:        10 |         10 |   d\n"
        "import time:        10 |         40 | a\n"
        "import time:        10 |         10 | e\n"
    )
    importer = parse_importtime(log)
    assert importer == {"c": "b", "b": "a", "d": "a", "a": None, "e": None}
    imports = Imports(importer=importer, loaded={"a", "b", "c", "d", "e", "f.x"}, output="")
    assert imports.heavy(("c", "e", "f", "g")) == [
        "c (imported as c <- b <- a)",
        "e (imported as e)",
        "f (in sys.modules; loaded via importlib)",
    ]


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    imports = run_with_importtime(["--help"], tmp_path, tmp_path)
    assert "report" in imports.output
    assert imports.heavy(HELP_FORBIDDEN) == []


@pytest.fixture
def pr_checkout(sample_project: SampleProject) -> SampleProject:
    """The sample project on its pull-request branch, outputs checked out as CI has them."""
    root = sample_project.root
    subprocess.run(["git", "checkout", "-q", sample_project.pr_branch], cwd=root, check=True)
    subprocess.run(
        [sys.executable, "-m", "dvc", "checkout", "-q"],
        cwd=root,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    return sample_project


@pytest.mark.parametrize("publish", ["none", "local"])
def test_report_without_run_imports_no_heavy_library(
    pr_checkout: SampleProject, tmp_path: Path, publish: str
) -> None:
    args = ["report", "--no-run", "--publish", publish, "--base", pr_checkout.main_sha]
    imports = run_with_importtime(args, pr_checkout.root, tmp_path)
    assert "Verdict: pass" in imports.output
    if publish == "local":
        # Printed to a pipe, the report is its Markdown, as written to report.md.
        written = (pr_checkout.root / ".mlops-ci" / "report.md").read_text("utf-8")
        assert written.strip() in imports.output
    assert imports.heavy(REPORT_FORBIDDEN) == []


def test_a_terminal_gets_rich(pr_checkout: SampleProject, tmp_path: Path) -> None:
    """The other side of the split: rich is what a person at a terminal sees."""
    args = ["report", "--no-run", "--publish", "local", "--base", pr_checkout.main_sha]
    imports = run_with_importtime(args, pr_checkout.root, tmp_path, terminal=True)
    assert "Verdict: pass" in imports.output
    assert "<!-- mlops-ci" not in imports.output  # rendered, not the Markdown source
    assert imports.heavy(("rich",)) != []
