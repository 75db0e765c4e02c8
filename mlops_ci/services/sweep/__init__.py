"""Parameter sweeps: plan the matrix, run one cell, merge the cells into a leaderboard.

`plan` expands `experiments:` from mlops-ci.yaml into cells (`core.experiments`).
`run` writes one cell's values into the params file, runs the pipeline as the PR
report does (`pipeline.run` with the tool environment), reads the metrics and
writes a bundle: `record.json` plus copies of the metrics files. A failing
pipeline gives a bundle too, with status `failed` and the error. `merge` reads
bundles (as untrusted data: size-capped, validated), diffs each run against the
base metrics, evaluates the gates, ranks the runs by the primary metric and hands
the leaderboard to `report.leaderboard` to render (every string escaped there);
it is published like the PR report (one sticky comment per workflow, marker kind
`sweep`).
"""

from __future__ import annotations

from mlops_ci.services.sweep.cell import CellOutcome, RunRequest, run_cell
from mlops_ci.services.sweep.leaderboard import build_leaderboard
from mlops_ci.services.sweep.merge import (
    DEFAULT_OUTPUT,
    LEADERBOARD_JSON,
    LEADERBOARD_MD,
    MARKER_KIND,
    MergeOutcome,
    MergeRequest,
    Publish,
    merge_sweep,
)
from mlops_ci.services.sweep.params import apply_params, group_assignments
from mlops_ci.services.sweep.plan import (
    DEFAULT_RUNS_DIR,
    ID_VARIABLE,
    SET_VARIABLE,
    SweepSettings,
    cell_id_for,
    plan_sweep,
    settings,
)
from mlops_ci.services.sweep.records import (
    FILES_DIR,
    MAX_RECORD_BYTES,
    MAX_RECORDS,
    RECORD_JSON,
    RunRecord,
    find_records,
    read_record,
    write_record,
)

__all__ = [
    "DEFAULT_OUTPUT",
    "DEFAULT_RUNS_DIR",
    "FILES_DIR",
    "ID_VARIABLE",
    "LEADERBOARD_JSON",
    "LEADERBOARD_MD",
    "MARKER_KIND",
    "MAX_RECORDS",
    "MAX_RECORD_BYTES",
    "RECORD_JSON",
    "SET_VARIABLE",
    "CellOutcome",
    "MergeOutcome",
    "MergeRequest",
    "Publish",
    "RunRecord",
    "RunRequest",
    "SweepSettings",
    "apply_params",
    "build_leaderboard",
    "cell_id_for",
    "find_records",
    "group_assignments",
    "merge_sweep",
    "plan_sweep",
    "read_record",
    "run_cell",
    "settings",
    "write_record",
]
