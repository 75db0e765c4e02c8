"""Noise-aware deltas for the PR report: per-example rows read at base and head.

With `evaluation.file` declared, the file is read at the head (the workspace) and at
the base (like a metrics file: git, then DVC), paired example by example, and the
metrics its columns allow are recomputed with a paired bootstrap interval of each
delta (`core.significance`). They become rows of the metrics table under the file's
name (so a gate can name them `eval/predictions.csv:accuracy`). Anything that stops
the intervals is one note, and the report goes on without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.config.evaluation import EvaluationConfig
from mlops_ci.core import metrics as core_metrics
from mlops_ci.core.formats import parse_table
from mlops_ci.errors import InputError
from mlops_ci.services.shared.baseline import FileReader, workspace_reader

if TYPE_CHECKING:
    from mlops_ci.core.significance import DeltaInterval

UNKNOWN_NOISE = (
    "The noise of these deltas is unknown: the pipeline writes no per-example evaluation "
    "rows (declare them under `evaluation:` for bootstrap intervals)."
)


@dataclass
class Evaluation:
    """Recomputed metrics with their intervals, or why there are none."""

    file: str | None = None
    intervals: dict[str, DeltaInterval] = field(default_factory=dict)
    note: str | None = None

    def diff(self) -> core_metrics.DiffResult:
        """The recomputed metrics as metric rows (base and head from the examples)."""
        if self.file is None or not self.intervals:
            return core_metrics.DiffResult()
        base = {name: i.base for name, i in self.intervals.items()}
        head = {name: i.head for name, i in self.intervals.items()}
        return core_metrics.diff({self.file: base}, {self.file: head})

    def by_row(self) -> dict[tuple[str, str], DeltaInterval]:
        if self.file is None:
            return {}
        return {(self.file, name): interval for name, interval in self.intervals.items()}


def _rows(raw: bytes, path: str) -> list[dict[str, Any]]:
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})", file=path) from None
    return parse_table(text, delimiter, path)


def _read(read: FileReader, path: str, side: str) -> list[dict[str, Any]] | str:
    """The file's rows at one side, or why there are none."""
    raw, why = read(path)
    if raw is None:
        return f"{path} at the {side}: {why or 'not there (new in this change)'}"
    try:
        return _rows(raw, path)
    except InputError as exc:
        return exc.message


def collect_evaluation(
    settings: EvaluationConfig, root: Path, base_read: FileReader | None
) -> Evaluation:
    """Read, pair and bootstrap the per-example rows (nothing without `evaluation.file`)."""
    path = settings.file
    if path is None:
        return Evaluation(note=UNKNOWN_NOISE)
    if base_read is None:
        return Evaluation(path, note=f"{path}: no baseline, so no intervals of the deltas")
    head = _read(workspace_reader(root), path, "head")
    base = _read(base_read, path, "base")
    for side in (head, base):
        if isinstance(side, str):
            return Evaluation(path, note=f"Noise of the deltas unknown: {side}")
    return _bootstrap(settings, path, base, head)  # type: ignore[arg-type]


def _bootstrap(
    settings: EvaluationConfig,
    path: str,
    base: list[dict[str, Any]],
    head: list[dict[str, Any]],
) -> Evaluation:
    from mlops_ci.core.significance import Columns, bootstrap_deltas, pair_examples

    columns = Columns(settings.label, settings.prediction, settings.score, settings.id)
    try:
        examples = pair_examples(
            base, head, columns, task=settings.task, metrics=list(settings.metrics)
        )
        intervals = bootstrap_deltas(
            examples,
            resamples=settings.resamples,
            confidence=settings.confidence,
            seed=settings.seed,
        )
    except ValueError as exc:
        return Evaluation(path, note=f"Noise of the deltas unknown: {path}: {exc}")
    note = (
        f"Intervals of the {path} deltas: {settings.confidence * 100:g}% paired bootstrap over "
        f"{examples.size} examples ({settings.resamples} resamples, seed {settings.seed}); "
        "inconclusive = the interval holds 0."
    )
    return Evaluation(path, intervals, note)
