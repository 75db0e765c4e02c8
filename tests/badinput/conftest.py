"""The bad-input corpus prints a table of what it saw at the end of the run."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from .harness import RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    by_category: dict[str, list[object]] = defaultdict(list)
    for result in RESULTS:
        by_category[result.category].append(result)
    write = terminalreporter.write_line
    terminalreporter.section("bad input corpus")
    header = (
        f"{'category':<16}{'cases':>6}  {'exit codes':<22}{'tracebacks':>11}{'half-written':>14}"
    )
    write(header)
    write("-" * len(header))
    total: Counter[str] = Counter()
    codes_all: Counter[int | None] = Counter()
    for category in sorted(by_category):
        results = [r for r in RESULTS if r.category == category]
        codes: Counter[int | None] = Counter(r.exit_code for r in results)
        codes_all.update(codes)
        tracebacks = sum(r.traceback for r in results)
        half = sum(bool(r.half_written) for r in results)
        total.update(cases=len(results), tracebacks=tracebacks, half=half)
        shown = ", ".join(f"{c}×{n}" for c, n in sorted(codes.items(), key=str))
        write(f"{category:<16}{len(results):>6}  {shown:<22}{tracebacks:>11}{half:>14}")
    write("-" * len(header))
    shown = ", ".join(f"{c}×{n}" for c, n in sorted(codes_all.items(), key=str))
    write(
        f"{'total':<16}{total['cases']:>6}  {shown:<22}{total['tracebacks']:>11}{total['half']:>14}"
    )
