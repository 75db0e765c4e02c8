"""`mlops-ci demo`: the sample project and the steps of the loop made of building blocks.

Everything happens on this machine: git with a bare `origin` beside the project, DVC
with a local directory remote, a scikit-learn model on a dataset scikit-learn ships,
the registry as git tags, releases built in a local directory. The command layer runs
the journeys (PR report, on-merge, monitor, retrain) between these steps.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.adapters.git import Git
from mlops_ci.errors import GitError, MlopsCIError
from mlops_ci.services.shared import sample_project
from mlops_ci.services.shared.registry import TagOutcome
from mlops_ci.services.shared.sample_project import (
    FEATURE_NAMES,
    MODEL_NAME,
    PR_BRANCH,
    TARGET,
    SampleProject,
)

#: The version on `main` that holds production before the pull request is reported.
BASELINE_VERSION = "v1.0.0"
#: Stages in the sample's promotion order (`promotion.order: strict`).
STAGES = ("staging", "production")


def default_demo_dir() -> Path:
    """A fresh temporary directory (the demo never writes into an existing project)."""
    return Path(tempfile.mkdtemp(prefix="mlops-ci-demo-")) / "demo"


def build_sample(directory: Path | None) -> SampleProject:
    """Build the sample project in `directory` (default: a fresh temporary one)."""
    target = (directory or default_demo_dir()).resolve()
    # Looked up on the module at call time, so a test can hand over a prebuilt copy.
    return sample_project.make_sample_project(target)


def checkout(root: Path, branch: str) -> None:
    """Check out `branch` (DVC outputs in the workspace are left as they are)."""
    try:
        Git(root).run("checkout", "-q", branch)
    except GitError as exc:
        raise MlopsCIError(f"demo: cannot check out {branch}: {exc.message}") from None


def promote_through_stages(root: Path, version: str) -> list[TagOutcome]:
    """Promote `version` to staging, then production (the sample's strict order)."""
    from mlops_ci.services.shared.promote import promote

    return [promote(root, MODEL_NAME, stage, version=version, push=True) for stage in STAGES]


def production_baseline(sample: SampleProject) -> tuple[TagOutcome, list[TagOutcome]]:
    """Register `main`'s model as v1.0.0 and promote it to production: the version the
    pull request's report can compare with. The registration and the stage tags."""
    from mlops_ci.services.shared.registry import register

    registered = register(
        sample.root,
        MODEL_NAME,
        version=BASELINE_VERSION,
        ref=sample.main_sha,
        message=f"Registering artifact {MODEL_NAME} version {BASELINE_VERSION} (baseline)",
        push=True,
    )
    return registered, promote_through_stages(sample.root, BASELINE_VERSION)


def merge_pull_request(root: Path, branch: str = PR_BRANCH) -> str:
    """Merge `branch` into `main` with a merge commit, as GitHub's merge button does,
    and push `main` to origin; the merge commit."""
    git = Git(root)
    try:
        git.run("checkout", "-q", sample_project.MAIN_BRANCH)
        git.run(
            "merge", "-q", "--no-ff", "--no-edit", "-m", f"Merge pull request from {branch}", branch
        )
        git.run("push", "-q", "origin", sample_project.MAIN_BRANCH)
    except GitError as exc:
        raise MlopsCIError(f"demo: cannot merge {branch}: {exc.message}") from None
    return git.current_sha()


def register_merge(root: Path) -> TagOutcome:
    """Register the merge commit as the next minor version, and push the tag."""
    from mlops_ci.services.shared.registry import register

    return register(
        root,
        MODEL_NAME,
        bump="minor",
        message=f"Registering artifact {MODEL_NAME} on merge to {sample_project.MAIN_BRANCH}",
        push=True,
    )


def build_local_release(root: Path, tag: str) -> dict[str, Any]:
    """The release of `tag`, built in `.mlops-ci/release/` (no GitHub: nothing published)."""
    from mlops_ci.services.shared.release import release

    return release(root, tag)


#: The columns `write_drifted_dataset` shifts by default: every mean and worst
#: measurement, two thirds of the features (beyond the default `monitor.drift_share`).
DRIFTED_FEATURES = [n for n in FEATURE_NAMES if n.startswith(("mean_", "worst_"))]
DRIFT_FACTOR = 1.25


def write_drifted_dataset(
    dest: Path, *, columns: list[str] | None = None, factor: float = DRIFT_FACTOR
) -> list[str]:
    """Write the dataset (labels kept) with `columns` multiplied by `factor`: current
    data that drifted on purpose, as if an instrument were recalibrated. The columns."""
    from mlops_ci.adapters.files import write_atomic

    shifted = list(DRIFTED_FEATURES if columns is None else columns)
    unknown = sorted(set(shifted) - set(FEATURE_NAMES))
    if unknown:
        raise MlopsCIError(f"demo: no feature named {', '.join(unknown)}")
    with sample_project.dataset_csv().open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    indices = [FEATURE_NAMES.index(name) for name in shifted]
    for row in rows:
        for i in indices:
            row[i] = f"{float(row[i]) * factor:.6g}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*FEATURE_NAMES, TARGET])
    writer.writerows(rows)
    write_atomic(dest, out.getvalue())
    return shifted


@dataclass(frozen=True)
class NewBatch:
    """Current data for the drift check: the dataset with some columns shifted."""

    path: Path
    rows: int
    shifted: list[str]
    factor: float


def write_new_batch(sample: SampleProject) -> NewBatch:
    """A labelled batch of "production" data that drifted on purpose, written beside the
    project (outside the repository, as data arriving from elsewhere would be)."""
    path = sample.base / "incoming" / "batch.csv"
    shifted = write_drifted_dataset(path)
    with path.open("rb") as handle:
        rows = sum(1 for _ in handle) - 1
    return NewBatch(path, rows, shifted, DRIFT_FACTOR)


def refresh_training_data(root: Path, batch: NewBatch) -> str:
    """Put the labelled batch in place of the training data, as a scheduled data job
    would; the DVC-tracked path it replaced (retraining reproduces from it)."""
    from mlops_ci.adapters.files import copy_atomic

    dest = "data/breast_cancer.csv"
    copy_atomic(batch.path, root / dest)
    return dest


def local_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The demo is local by definition: no runner variables, no token, no posting."""
    return {
        k: v for k, v in env.items() if not k.startswith("GITHUB_") and k not in ("CI", "GH_TOKEN")
    }


@dataclass(frozen=True)
class ServedBatch:
    """What the serve step did: the requests answered and the log written."""

    url: str
    version: str
    requests: int
    rows: int
    predicted: dict[str, int]
    log_dir: Path
    log_files: int


def _batch_columns(path: Path, names: list[str]) -> dict[str, list[float]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: [float(r[name]) for r in rows] for name in names}


def serve_batch(root: Path, batch: NewBatch, *, rows_per_request: int = 50) -> ServedBatch:
    """Serve the production model (`mlops-ci serve`, its own process on 127.0.0.1) with
    its inference log on, send it the new batch as Open Inference Protocol requests, stop
    it (which flushes the log)."""
    from mlops_ci.adapters.inference_client import InferenceClient
    from mlops_ci.core.inference import request_body
    from mlops_ci.core.signature import Signature
    from mlops_ci.errors import MlopsCIError
    from mlops_ci.services.shared.local_server import local_server

    log_dir = root / ".mlops-ci" / "inference-log"
    args = (
        MODEL_NAME, "--stage", "production", "--log", str(log_dir),
        "--repository", str(root / ".mlops-ci" / "serving"),
    )  # fmt: skip
    predicted: dict[str, int] = {}
    requests = 0
    with local_server(root, MODEL_NAME, args, lifetime=300.0) as server:
        if not server.ready:
            raise MlopsCIError(f"demo: the server did not start: {server.last_lines()}")
        host, port = server.host, server.port
        signature_file = root / ".mlops-ci" / "serving" / MODEL_NAME / "signature.json"
        signature = Signature.from_dict(json.loads(signature_file.read_text("utf-8")))
        columns = _batch_columns(batch.path, signature.names)
        client = InferenceClient(host, port)
        try:
            _, metadata = client.request("GET", f"/v2/models/{MODEL_NAME}")
            version = str((metadata or {}).get("versions", ["?"])[0])
            for start in range(0, batch.rows, rows_per_request):
                chunk = {n: v[start : start + rows_per_request] for n, v in columns.items()}
                status, answer = client.request(
                    "POST", f"/v2/models/{MODEL_NAME}/infer", request_body(chunk, signature)
                )
                if status != 200:
                    raise MlopsCIError(f"demo: the server answered HTTP {status}: {answer}")
                requests += 1
                for label in answer["outputs"][0]["data"]:
                    predicted[str(label)] = predicted.get(str(label), 0) + 1
        finally:
            client.close()
    files = sorted(log_dir.rglob("*.parquet"))
    return ServedBatch(
        f"http://{host}:{port}/v2/models/{MODEL_NAME}/infer",
        version,
        requests,
        batch.rows,
        predicted,
        log_dir,
        len(files),
    )
