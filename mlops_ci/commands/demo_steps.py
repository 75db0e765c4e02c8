"""The steps of `mlops-ci demo`, each returning the paragraph a newcomer reads.

The command layer is where several journeys meet: the PR report, on-merge, monitor and
retrain run here, between the building blocks of `services/demo.py`. Every paragraph
names the concrete artefact the step made (a path, a tag, a commit, a branch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.core.metrics import format_value

if TYPE_CHECKING:
    from mlops_ci.services.demo import NewBatch, ServedBatch
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.shared.registry import TagOutcome
    from mlops_ci.services.shared.sample_project import SampleProject


@dataclass
class DemoState:
    """What the steps made so far, handed from one step to the next."""

    job: Job
    directory: Path | None
    show_report: bool = False
    sample: SampleProject | None = None
    registered: TagOutcome | None = None
    batch: NewBatch | None = None
    served: ServedBatch | None = None
    #: Extra output a step asks the command to print after its paragraph (the report).
    markdown: list[str] = field(default_factory=list)

    @property
    def project(self) -> SampleProject:
        assert self.sample is not None, "the project step runs first"
        return self.sample

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def release_tag(self) -> TagOutcome:
        assert self.registered is not None, "the register step runs before"
        return self.registered


def _tags(outcomes: list[TagOutcome]) -> str:
    return ", ".join(o.tag for o in outcomes)


def _accuracy(metrics: dict[str, Any] | None) -> str:
    value = (metrics or {}).get("metrics.json:accuracy")
    return format_value(value) if value is not None else "unknown"


def step_project(state: DemoState) -> str:
    """Build the sample project and put main's model in production."""
    from mlops_ci.services.demo import build_sample, production_baseline

    state.sample = sample = build_sample(state.directory)
    registered, promoted = production_baseline(sample)
    return (
        f"Built {sample.root}: a git repository whose DVC pipeline (prepare → train → "
        "evaluate) trains a scikit-learn random forest on the breast cancer data "
        f"scikit-learn ships, with a bare origin ({sample.origin.name}) and a local DVC "
        f"remote ({sample.remote}). main's model is registered as {registered.tag} "
        f"(accuracy {_accuracy(registered.extra.get('metrics'))}) and promoted from "
        f"staging to production (tags {_tags(promoted)}): the production baseline the "
        "pull request is measured against."
    )


def _baselines_named(report_json: Path) -> str:
    """`, and with production v1.0.0` when the report shows extra baseline columns."""
    try:
        data = json.loads(report_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    columns = [c for c in data.get("baselines") or [] if isinstance(c, dict)]
    named = [" ".join(str(c[k]) for k in ("name", "version") if c.get(k)) for c in columns]
    return "".join(f", and with {n}" for n in named if n)


def step_report(state: DemoState) -> str:
    """The PR report of the pull request branch, written locally."""
    from mlops_ci.services.demo import checkout
    from mlops_ci.services.report import ReportRequest, generate_report
    from mlops_ci.services.shared.sample_project import DROPPED_ROWS, PR_BRANCH

    checkout(state.root, PR_BRANCH)
    request = ReportRequest(
        root=state.root, publish="local", fail_on_gate=False, own_python_first=True
    )
    report = generate_report(request, state.job)
    doc = report.document
    passed = sum(1 for g in doc.gates if g.verdict == "pass")
    gates = "; ".join(g.reason for g in doc.gates) or "none configured"
    if state.show_report:
        state.markdown.append(report.markdown)
    return (
        f"The branch {PR_BRANCH} tunes the forest and drops {DROPPED_ROWS} rows, as a pull "
        "request would. `mlops-ci report` reproduced it and compared it with main"
        f"{_baselines_named(report.report_json)}: verdict {doc.verdict.upper()}, "
        f"{passed} of {len(doc.gates)} gates pass: {gates}. Written to {report.report_md} "
        f"and report.json beside it; on GitHub it is the pull request's one comment and "
        'its "mlops-ci report" check.'
        + ("" if state.show_report else " `--show-report` prints it here.")
    )


def step_merge(state: DemoState) -> str:
    """Merge the pull request and run the on-merge journey on main."""
    from mlops_ci.services.demo import merge_pull_request
    from mlops_ci.services.on_merge import on_merge
    from mlops_ci.services.shared.sample_project import PR_BRANCH

    sha = merge_pull_request(state.root)
    result = on_merge(state.root, state.job)
    pulled = " after `dvc pull`" if result.pulled else ""
    manual = [m.model for m in result.models if m.status == "manual"]
    registered = [m.tag for m in result.registered if m.tag]
    if registered:
        then = f"It registered {', '.join(registered)}."
    elif manual:
        then = (
            "The model's `register` is manual in mlops-ci.yaml, so on-merge registered "
            "nothing: the next step does."
        )
    else:
        then = "It registered nothing."
    return (
        f"{PR_BRANCH} is merged into main as {sha[:12]} and pushed to origin. "
        "`mlops-ci on-merge` checked that main stays reproducible: "
        f"`{result.ran}` ran{pulled} and dvc.lock is {result.lock}; {result.push_note}. " + then
    )


def step_register(state: DemoState) -> str:
    """Register the merge commit as the next version."""
    from mlops_ci.services.demo import BASELINE_VERSION, register_merge

    state.registered = registered = register_merge(state.root)
    where = "pushed to origin" if registered.pushed else "a local tag"
    return (
        f"The merge commit {registered.commit[:12]} is registered as {registered.tag}, "
        f"a minor bump from {BASELINE_VERSION}: an annotated git tag ({where}) that "
        f"carries its metrics (accuracy {_accuracy(registered.extra.get('metrics'))}), "
        "readable by GTO. With `register: on-merge` in mlops-ci.yaml the merge "
        "registers it by itself."
    )


def step_release(state: DemoState) -> str:
    """Build the release of the registered version locally."""
    from mlops_ci.services.demo import build_local_release

    tag = state.release_tag.tag
    data = build_local_release(state.root, tag)
    return (
        f"{tag} is released to {data['directory']}: {', '.join(data['assets'])}. "
        "First its commit was checked to be reproducible from the DVC remote, and its "
        f"gates: {data['gates']}. With a token on GitHub the same files become the "
        "assets of a GitHub Release."
    )


def step_promote(state: DemoState) -> str:
    """Promote the registered version to staging, then production."""
    from mlops_ci.services.demo import BASELINE_VERSION, promote_through_stages

    version = state.release_tag.version or ""
    promoted = promote_through_stages(state.root, version)
    proof = promoted[-1].extra.get("proof") or {}
    proved = (
        f" Before each promotion the release was served on 127.0.0.1: its "
        f"{proof['sample_rows']} recorded sample rows came back identical, and "
        f"{proof['answered']} of {proof['requests']} requests were answered (p95 "
        f"{proof['p95_ms']:.1f} ms, {proof['throughput']:.0f} requests/s)."
        if proof.get("requests")
        else ""
    )
    return (
        f"{version} is promoted from staging to production (tags {_tags(promoted)}) after "
        "the same "
        f"checks; the strict stage order allows no skipping.{proved} {BASELINE_VERSION} no "
        "longer holds production (`mlops-ci rollback` would give it back). On GitHub "
        "each promotion is also a Deployment to the stage's environment."
    )


def step_serve(state: DemoState) -> str:
    """Serve the production model, send it a new batch, and score the batch offline."""
    from mlops_ci.services.demo import serve_batch, write_new_batch
    from mlops_ci.services.predict import PredictRequest, run_predict
    from mlops_ci.services.shared.sample_project import MODEL_NAME

    state.batch = batch = write_new_batch(state.project)
    state.served = served = serve_batch(state.root, batch)
    scored = state.root / ".mlops-ci" / "predictions.parquet"
    outcome = run_predict(
        PredictRequest(
            root=state.root, model=MODEL_NAME, input=str(batch.path), output=str(scored),
            job=state.job, stage="production", no_log=True,
        )
    )  # fmt: skip
    answers = ", ".join(f"{n} × {label}" for label, n in sorted(served.predicted.items()))
    return (
        f"`mlops-ci serve` ran {MODEL_NAME} {served.version} (production) on MLServer at "
        f"{served.url}, over the Open Inference Protocol. A new batch of {served.rows} "
        f"rows arrived as {served.requests} requests, each checked against the release's "
        f"signature, and was answered ({answers}). The server logged what it saw to "
        f"{served.log_dir} ({served.log_files} Parquet file(s)). `mlops-ci predict` scored "
        f"the same batch offline, as a scheduled job would: {outcome.rows} rows into "
        f"{scored}, with the model version and the input's sha256 in its metadata."
    )


def _shifted_words(batch: NewBatch) -> str:
    prefixes = sorted({name.split("_", 1)[0] + "_*" for name in batch.shifted})
    return f"every {' and '.join(prefixes)} measurement reads {batch.factor - 1:.0%} higher"


def step_drift(state: DemoState) -> str:
    """Compare what the server saw with the production model's training data."""
    from mlops_ci.services.monitor import MonitorRequest, run_monitor

    assert state.batch is not None, "the serve step runs before"
    assert state.served is not None, "the serve step runs before"
    batch = state.batch
    request = MonitorRequest(
        root=state.root, current=str(state.served.log_dir), publish="local", job=state.job
    )
    outcome = run_monitor(request)[0]
    drift = outcome.drift
    verdict = "DRIFT" if drift.dataset_drift else "no dataset drift"
    quality = ""
    if outcome.quality is not None:
        scores = ", ".join(f"{k} {format_value(v)}" for k, v in outcome.quality.metrics.items())
        health = "degraded" if outcome.quality.degraded else "within its gates"
        quality = f" Scored on the batch's labels, the model is {health} ({scores})."
    return (
        f"What the server saw (its inference log; in the batch "
        f"{_shifted_words(batch)}) is compared with the training data of "
        f"{outcome.model} {outcome.version or ''} in {outcome.stage}: {verdict}, "
        f"{len(drift.drifted)} of {len(drift.tested)} features drifted (dataset drift "
        f"from {drift.drift_share:.0%}).{quality} Written to {outcome.files[-1]} and "
        "drift.md; on GitHub the monitor opens one issue per model and may dispatch "
        "retraining."
    )


def step_retrain(state: DemoState) -> str:
    """Retrain on the new batch: a new branch with the data, model and metrics."""
    from mlops_ci.services.demo import refresh_training_data
    from mlops_ci.services.retrain import RetrainRequest, run_retrain

    assert state.batch is not None, "the drift step runs before"
    replaced = refresh_training_data(state.root, state.batch)
    outcome = run_retrain(RetrainRequest(root=state.root, push=False, job=state.job))
    metrics = _read_json(state.root / "metrics.json")
    return (
        f"The labelled batch replaces {replaced}, as a scheduled data job would. "
        "`mlops-ci retrain` reproduced the pipeline and committed the new data, model "
        f"and metrics on the branch {outcome.branch} ({outcome.commit[:12]}; test "
        f"accuracy on the new data {format_value(metrics.get('accuracy'))}). Locally it "
        "stops there; on GitHub it pushes the branch and opens a pull request, whose "
        "report is step 2 again."
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


#: Each step's heading and what runs it, in the order a newcomer reads them.
STEPS: tuple[tuple[str, Callable[[DemoState], str]], ...] = (
    ("A project with a model in production", step_project),
    ("Pull request report", step_report),
    ("Merge", step_merge),
    ("Register", step_register),
    ("Release", step_release),
    ("Promote", step_promote),
    ("Serve", step_serve),
    ("Drift check", step_drift),
    ("Retrain", step_retrain),
)
