"""The layers of mlops_ci, enforced over the `ast` of every module.

- core/ and report/ are pure: no adapters, services, commands, CLI, no `os.environ`,
  no subprocess, no click, no rich. Tests of them need no repository and no network.
- adapters/ talk to the outside world and know nothing of journeys or commands.
- services/shared/ holds what several journeys need; it imports no journey.
- a journey (services/<name>.py or services/<name>/) imports its own modules and
  services/shared/, never another journey.
- only the command layer reads the process environment into a RunContext, an Actions
  runtime or a Job; services receive them.
- no module is longer than 450 lines.

Every rule lists the offenders it finds, so a failure says what to move where.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mlops_ci"
MAX_MODULE_LINES = 450

PURE_LAYERS = ("mlops_ci.core", "mlops_ci.report")
FORBIDDEN_IN_PURE = (
    "mlops_ci.adapters",
    "mlops_ci.services",
    "mlops_ci.commands",
    "mlops_ci.cli",
    "mlops_ci.context",
    "mlops_ci.output",
    "subprocess",
    "click",
    "rich",
)
ENVIRONMENT_READERS = ("from_environ",)


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def lines(self) -> int:
        return len(self.path.read_text("utf-8").splitlines())


def _modules() -> list[Module]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(".".join(parts), path, ast.parse(path.read_text("utf-8"))))
    return found


MODULES = _modules()


def _imports(module: Module) -> Iterator[tuple[int, str]]:
    """Every module name imported anywhere in the module (lazy imports included)."""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def _within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _journey(name: str) -> str | None:
    """`mlops_ci.services.<journey>` for a module of a journey; None otherwise."""
    parts = name.split(".")
    if len(parts) < 3 or parts[:2] != ["mlops_ci", "services"] or parts[2] == "shared":
        return None
    return ".".join(parts[:3])


def _offenders(rule: str) -> list[str]:
    found = []
    for module in MODULES:
        for line, target in _imports(module):
            if _breaks(rule, module.name, target):
                found.append(f"{module.path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    return sorted(set(found))


def _breaks(rule: str, importer: str, target: str) -> bool:
    if rule == "pure":
        return _within(importer, PURE_LAYERS) and _within(target, FORBIDDEN_IN_PURE)
    if rule == "adapters":
        return _within(importer, "mlops_ci.adapters") and _within(
            target, ("mlops_ci.services", "mlops_ci.commands", "mlops_ci.cli")
        )
    if rule == "shared":
        return _within(importer, "mlops_ci.services.shared") and (
            _journey(target) is not None or _within(target, ("mlops_ci.commands", "mlops_ci.cli"))
        )
    if rule == "journeys":
        own = _journey(importer)
        other = _journey(target)
        return own is not None and other is not None and other != own and target != own
    raise AssertionError(rule)


def test_the_layers_are_found() -> None:
    names = {m.name for m in MODULES}
    assert {"mlops_ci.core.metrics", "mlops_ci.report.render", "mlops_ci.cli"} <= names
    assert any(_journey(n) for n in names)
    assert any(n.startswith("mlops_ci.services.shared.") for n in names)


def test_the_checker_sees_what_it_must_refuse() -> None:
    # The rules themselves, on names, so that a broken checker cannot pass silently.
    assert _breaks("pure", "mlops_ci.core.gates", "mlops_ci.adapters.git")
    assert _breaks("pure", "mlops_ci.report.render", "rich.console")
    assert not _breaks("pure", "mlops_ci.report.render", "mlops_ci.core.metrics")
    assert _breaks("journeys", "mlops_ci.services.sweep.merge", "mlops_ci.services.report")
    assert not _breaks("journeys", "mlops_ci.services.sweep.merge", "mlops_ci.services.sweep.cell")
    assert not _breaks("journeys", "mlops_ci.services.post", "mlops_ci.services.shared.publish")
    assert _breaks("shared", "mlops_ci.services.shared.pipeline", "mlops_ci.services.report")
    assert _breaks("adapters", "mlops_ci.adapters.dvc", "mlops_ci.services.shared.job")


@pytest.mark.parametrize("rule", ["pure", "adapters", "shared", "journeys"])
def test_imports_follow_the_layers(rule: str) -> None:
    assert _offenders(rule) == []


def test_pure_layers_never_read_the_environment() -> None:
    found = []
    for module in MODULES:
        if not _within(module.name, PURE_LAYERS):
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                found.append(f"{module.path.relative_to(PACKAGE.parent)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                found.append(f"{module.path.relative_to(PACKAGE.parent)}:{node.lineno} print")
    assert found == []


def test_only_the_command_layer_reads_the_environment_into_a_context() -> None:
    """`RunContext`, the Actions runtime and the `Job` are built once, by the command."""
    # `Job.from_environ` is where the three are made; the command layer calls it.
    allowed = (
        "mlops_ci.commands",
        "mlops_ci.cli",
        "mlops_ci.output",
        "mlops_ci.services.shared.job",
    )
    found = []
    for module in MODULES:
        if _within(module.name, allowed):
            continue
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ENVIRONMENT_READERS
            ):
                found.append(f"{module.path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == []


def test_no_module_is_too_long() -> None:
    too_long = [
        f"{m.path.relative_to(PACKAGE.parent)}: {m.lines} lines"
        for m in MODULES
        if m.lines > MAX_MODULE_LINES
    ]
    assert too_long == []
