"""The nine journeys of the fault matrix: how each starts, runs and must end.

Every `prepare` runs once per session on a copy of the sample project (DVC and
scikit-learn steps cost seconds); every scenario then copies the prepared directory
(milliseconds) and runs the command in-process against its own GitHub double.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hardening_harness import (
    Journey,
    Workspace,
    dispatch_payload,
    git,
    load_payload,
    runner_env,
    tag_objects,
)

from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
V1 = f"{MODEL}@v0.1.0"
V2 = f"{MODEL}@v0.2.0"
RELEASE_ASSETS = frozenset(
    {"model.pkl", "model-card.md", "metrics.json", "params.json", "lineage.json", "SHA256SUMS"}
    | {"signature.json", "sample.json"}
)
REPORT_MARKER = "<!-- mlops-ci:PR report:pr-report -->"
SWEEP_MARKER = "<!-- mlops-ci:PR report:sweep -->"
RUN_ID = 4242
#: Tags written while preparing, and by the scenario itself (later than every earlier one).
PREPARE_DATES = [f"2026-02-0{d}T12:00:00+00:00" for d in range(1, 8)]
SCENARIO_DATE = "2026-02-20T12:00:00+00:00"


def _env_with_dates(env: dict[str, str]) -> dict[str, str]:
    env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = SCENARIO_DATE
    return env


def _in_process(date: str, func: Any, *args: Any, **kwargs: Any) -> Any:
    saved = {k: os.environ.get(k) for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")}
    os.environ["GIT_AUTHOR_DATE"] = os.environ["GIT_COMMITTER_DATE"] = date
    try:
        return func(*args, **kwargs)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _dvc_checkout(root: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", "checkout", "-q"],
        cwd=root,
        check=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )


def _count(items: list[str]) -> list[str]:
    return [f"{name} x{n}" for name, n in Counter(items).items() if n > 1]


def _marker_comments(ws: Workspace, marker: str) -> list[str]:
    state = ws.double.state
    return [f"comment on #{c.issue_number}" for c in state.comments.values() if marker in c.body]


def _pull_payload(ws: Workspace) -> dict[str, Any]:
    sample = ws.sample
    payload = load_payload("pull_request.synchronize.json")
    pr = payload["pull_request"]
    number = ws.data["pull"]
    payload["number"] = pr["number"] = number
    for holder in (payload["repository"], pr["base"]["repo"], pr["head"]["repo"]):
        holder["full_name"] = ws.double.repository
    pr["base"].update(ref=sample.main_branch, sha=sample.main_sha)
    pr["head"].update(ref=sample.pr_branch, sha=sample.pr_sha)
    return payload


def _seed_pull(ws: Workspace) -> None:
    sample = ws.sample
    pull = ws.double.state.add_pull(
        head=sample.pr_branch, base=sample.main_branch, head_sha=sample.pr_sha
    )
    ws.data["pull"] = pull.number


def _check_comment(marker: str) -> Any:
    def check(ws: Workspace) -> tuple[list[str], list[str]]:
        comments = _marker_comments(ws, marker)
        lost = [] if comments else [f"no comment with {marker}"]
        # A check run that could not be completed is a warning, not a failure (the
        # comment is out): it is left in progress until the next run supersedes it.
        stuck = [r for r in ws.double.state.check_runs.values() if r.status != "completed"]
        if stuck and marker == REPORT_MARKER:
            ws.data.setdefault("notes", []).append(f"{len(stuck)} check run left in progress")
        return lost, _count(comments)

    return check


# --- report ------------------------------------------------------------------------------


def _prepare_pr_checkout(sample: SampleProject) -> None:
    git(sample.root, "checkout", "-q", sample.pr_branch)
    _dvc_checkout(sample.root)


def _report_env(ws: Workspace) -> dict[str, str]:
    return runner_env(
        ws, event_name="pull_request", payload=_pull_payload(ws), sha=ws.sample.pr_sha
    )


def _report_args(ws: Workspace) -> list[str]:
    run = ["--run"] if ws.data.get("run") else ["--no-run"]
    return ["report", "--root", str(ws.root), *run]


REPORT = Journey(
    name="report",
    prepare=_prepare_pr_checkout,
    args=_report_args,
    env=_report_env,
    seed=_seed_pull,
    check=_check_comment(REPORT_MARKER),
    operations=(
        "repos/get",
        "issues/get",
        "users/get-authenticated",
        "issues/list-comments",
        "issues/create-comment",
        "checks/create",
    ),
    writes=("issues/create-comment", "checks/create"),
    uses_dvc_remote=True,
)


# --- post (the fork-safe second phase) ---------------------------------------------------


def _prepare_post(sample: SampleProject) -> None:
    from types import SimpleNamespace

    from mlops_ci.services.report import ReportRequest, generate_report, write_bundle
    from mlops_ci.services.shared.job import Job

    _prepare_pr_checkout(sample)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    outcome = generate_report(
        ReportRequest(root=sample.root, run=False, publish="none"), Job.from_environ(env)
    )
    ctx = SimpleNamespace(
        repository="octo-org/mlops-demo", pr_number=1, head_sha=sample.pr_sha, run_id=str(RUN_ID)
    )
    bundle = write_bundle(sample.base / "fork-report", outcome.document, ctx)
    assert bundle.is_dir()


def _post_env(ws: Workspace) -> dict[str, str]:
    payload = load_payload("workflow_run.completed.json")
    payload["repository"]["full_name"] = ws.double.repository
    run = payload["workflow_run"]
    run.update(id=RUN_ID, head_sha=ws.sample.pr_sha, name="PR report", pull_requests=[])
    return runner_env(ws, event_name="workflow_run", payload=payload, sha=ws.sample.main_sha)


def _post_args(ws: Workspace) -> list[str]:
    from mlops_ci.services.report import BUNDLE_DIR

    bundle = ws.sample.base / "fork-report" / BUNDLE_DIR
    return ["post", "--bundle", str(bundle), "--run-id", str(RUN_ID), "--root", str(ws.root)]


POST = Journey(
    name="post",
    prepare=_prepare_post,
    args=_post_args,
    env=_post_env,
    seed=_seed_pull,
    check=_check_comment(REPORT_MARKER),
    operations=(
        "repos/get",
        "pulls/get",
        "issues/get",
        "users/get-authenticated",
        "issues/list-comments",
        "issues/create-comment",
        "checks/create",
    ),
    writes=("issues/create-comment", "checks/create"),
)


# --- the registry: register, release, promote, rollback ---------------------------------


def _no_seed(ws: Workspace) -> None:
    return None


def _plain_env(ws: Workspace) -> dict[str, str]:
    return _env_with_dates(
        runner_env(
            ws, event_name="workflow_dispatch", payload=dispatch_payload(ws), sha=ws.sample.main_sha
        )
    )


def _tags_on_origin(ws: Workspace, *names: str) -> list[str]:
    """Each tag must be on origin, and be the very object the local clone has."""
    origin, local = tag_objects(ws.sample.origin), tag_objects(ws.root)
    lost = []
    for name in names:
        if origin.get(name) is None:
            lost.append(f"tag {name} not on origin")
        elif origin[name] != local.get(name):
            lost.append(f"tag {name} differs between origin and the clone")
    return lost


def _check_register(ws: Workspace) -> tuple[list[str], list[str]]:
    lost = _tags_on_origin(ws, V1)
    registered = [t for t in tag_objects(ws.sample.origin) if t.startswith(f"{MODEL}@")]
    return lost, _count(registered) + (
        [f"{len(registered)} version tags"] if len(registered) > 1 else []
    )


REGISTER = Journey(
    name="register",
    prepare=lambda sample: None,
    args=lambda ws: ["register", MODEL, "--version", "v0.1.0", "--push", "--root", str(ws.root)],
    env=_plain_env,
    seed=_no_seed,
    check=_check_register,
    operations=(),
    pushes_git=True,
)


def _prepare_registered(sample: SampleProject) -> None:
    from mlops_ci.services.shared.registry import register

    _in_process(PREPARE_DATES[0], register, sample.root, MODEL, version="v0.1.0", push=True)


def _release_of(ws: Workspace, tag: str) -> tuple[list[str], list[str]]:
    state = ws.double.state
    releases = state.releases_for_tag(tag)
    lost: list[str] = []
    dups: list[str] = []
    if len(releases) != 1:
        (lost if not releases else dups).append(f"{len(releases)} releases for {tag}")
    for release in releases:
        names = [a.name for a in state.release_assets(release)]
        dups += [f"asset {n}" for n in _count(names)]
        if not release.draft and set(names) != RELEASE_ASSETS:
            lost.append(f"published {tag} has assets {sorted(names)}")
        if release.draft:
            lost.append(f"{tag} is still a draft")
        directory = ws.root / ".mlops-ci" / "release" / tag
        for asset in state.release_assets(release):
            local = directory / asset.name
            if local.is_file() and local.read_bytes() != asset.data:
                lost.append(f"asset {asset.name} differs from the built file")
    return lost, dups


def _check_release(ws: Workspace) -> tuple[list[str], list[str]]:
    lost, dups = _release_of(ws, V1)
    return lost + _tags_on_origin(ws, V1), dups


RELEASE = Journey(
    name="release",
    prepare=_prepare_registered,
    args=lambda ws: ["release", "--tag", V1, "--root", str(ws.root)],
    env=_plain_env,
    seed=_no_seed,
    check=_check_release,
    operations=(
        "repos/get",
        "repos/get-release-by-tag",
        "repos/list-releases",
        "repos/create-release",
        "repos/list-release-assets",
        "repos/upload-release-asset",
        "repos/get-release",
        "repos/update-release",
    ),
    writes=("repos/create-release", "repos/upload-release-asset", "repos/update-release"),
    repeated={"repos/upload-release-asset": len(RELEASE_ASSETS)},
    uses_dvc_remote=True,
)


def _seed_release(ws: Workspace) -> None:
    state = ws.double.state
    release = state.add_release(V1, body="notes before the promotion")
    for name in sorted(RELEASE_ASSETS):
        state.add_asset(release, name, hashlib.sha256(name.encode()).hexdigest().encode())


def _deployments(ws: Workspace, environment: str) -> tuple[list[str], list[str]]:
    state = ws.double.state
    ours = [d for d in state.deployments.values() if d.environment == environment]
    succeeded = [
        d
        for d in ours
        if (s := ws.double.latest_deployment_status(d.id)) is not None and s.state == "success"
    ]
    lost = [] if succeeded else [f"no successful deployment to {environment}"]
    dups = _count([f"deployment of {d.sha[:8]} to {environment}" for d in ours])
    return lost, dups


def _check_promote(ws: Workspace) -> tuple[list[str], list[str]]:
    lost = _tags_on_origin(ws, ws.data["stage_tag"]) if "stage_tag" in ws.data else []
    stage_tags = [t for t in tag_objects(ws.sample.origin) if t.startswith(f"{MODEL}#staging#")]
    expected = ws.data.get("stage_tags", 1)
    dups = [f"{len(stage_tags)} staging tags"] if len(stage_tags) > expected else []
    if len(stage_tags) < expected:
        lost.append(f"{len(stage_tags)} staging tags")
    deployed_lost, deployed_dups = _deployments(ws, "staging")
    release = ws.double.state.releases_for_tag(V1)
    if not release or "staging" not in (release[0].body or ""):
        lost.append("the release notes do not show the stage")
    return lost + deployed_lost, dups + deployed_dups


def _promote_seed(ws: Workspace) -> None:
    _seed_release(ws)
    ws.data["stage_tags"] = ws.data.get("stage_tags", 1)


PROMOTE = Journey(
    name="promote",
    prepare=_prepare_registered,
    args=lambda ws: ["promote", MODEL, "--stage", "staging", "--push", "--root", str(ws.root)],
    env=_plain_env,
    seed=_promote_seed,
    check=_check_promote,
    operations=(
        "repos/get",
        "repos/list-deployments",
        "repos/create-deployment",
        "repos/create-deployment-status",
        "repos/get-release-by-tag",
        "repos/get-release",
        "repos/update-release",
    ),
    writes=("repos/create-deployment", "repos/create-deployment-status", "repos/update-release"),
    pushes_git=True,
    uses_dvc_remote=True,
)


def _prepare_two_versions(sample: SampleProject) -> None:
    from mlops_ci.context import RunContext
    from mlops_ci.services.shared.promote import promote
    from mlops_ci.services.shared.registry import register

    root = sample.root
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI"))}
    context = RunContext.from_environ(env)
    _in_process(PREPARE_DATES[0], register, root, MODEL, version="v0.1.0", push=True)
    _in_process(PREPARE_DATES[1], promote, root, MODEL, "staging", push=True, context=context)
    git(root, "commit", "-q", "--allow-empty", "-m", "Second version", date=PREPARE_DATES[2])
    git(root, "push", "-q", "origin", "main")
    _in_process(PREPARE_DATES[3], register, root, MODEL, version="v0.2.0", push=True)
    _in_process(PREPARE_DATES[4], promote, root, MODEL, "staging", push=True, context=context)


def _rollback_seed(ws: Workspace) -> None:
    _seed_release(ws)
    ws.data["stage_tags"] = 3  # v0.1.0, v0.2.0, and the rollback to v0.1.0


ROLLBACK = Journey(
    name="rollback",
    prepare=_prepare_two_versions,
    args=lambda ws: [
        "rollback",
        MODEL,
        "--stage",
        "staging",
        "--to",
        "v0.1.0",
        "--push",
        "--root",
        str(ws.root),
    ],
    env=_plain_env,
    seed=_rollback_seed,
    check=_check_promote,
    operations=PROMOTE.operations,
    writes=PROMOTE.writes,
    pushes_git=True,
)


# --- monitor and retrain -----------------------------------------------------------------


def _prepare_monitor(sample: SampleProject) -> None:
    root = sample.root
    for tag, date in (
        (f"{MODEL}@v1.0.0", PREPARE_DATES[0]),
        (f"{MODEL}#production#1", PREPARE_DATES[1]),
    ):
        git(root, "tag", "-a", tag, "-m", tag, sample.main_sha, date=date)
    config = root / "mlops-ci.yaml"
    config.write_text(
        config.read_text() + "  drift_share: 0.2\n  on_drift:\n    dispatch: retrain.yml\n"
    )
    git(root, "commit", "-q", "-am", "Monitor with retraining", date=PREPARE_DATES[2])
    with (root / "data" / "breast_cancer.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    with (sample.base / "drifted.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow([str(float(v) * 1.6) for v in row[:8]] + row[8:])


def _check_monitor(ws: Workspace) -> tuple[list[str], list[str]]:
    from mlops_ci.core.markers import drift_issue_marker as issue_marker

    state = ws.double.state
    marker = issue_marker(MODEL)
    issues = [i for i in state.issues.values() if not i.is_pull and marker in (i.body or "")]
    lost = [] if issues else ["no drift issue"]
    dups = [f"{len(issues)} drift issues"] if len(issues) > 1 else []
    dispatches = [d for d in state.dispatches if d.kind == "workflow"]
    if not dispatches:
        lost.append("retraining was never dispatched")
    if len(dispatches) > 1:
        # GitHub cannot be asked whether a dispatch started: after an answer lost on
        # the way back, the re-run dispatches again. The retrain job finds the open
        # pull request of the first and opens no second one (see the retrain journey).
        note = f"{len(dispatches)} retrain dispatches"
        if ws.data.get("uncertain") or ws.data.get("rerun_after_done"):
            ws.data.setdefault("notes", []).append(note)
        else:
            dups.append(note)
    return lost, dups


MONITOR = Journey(
    name="monitor",
    prepare=_prepare_monitor,
    args=lambda ws: [
        "monitor",
        "--root",
        str(ws.root),
        "--current",
        str(ws.sample.base / "drifted.csv"),
        "--output",
        str(ws.tmp / "drift"),
    ],
    env=_plain_env,
    seed=_no_seed,
    check=_check_monitor,
    operations=(
        "repos/get",
        "pulls/list",
        "actions/create-workflow-dispatch",
        "issues/list-for-repo",
        "issues/create",
    ),
    writes=("actions/create-workflow-dispatch", "issues/create"),
)


RETRAIN_CONFIG = """\
data:
  update: python update_data.py
pipeline:
  run: python -c "print('reproduced')"
  push: never
"""


def _prepare_retrain(sample: SampleProject) -> None:
    root = sample.root
    (root / "update_data.py").write_text(
        "from pathlib import Path\n"
        "path = Path('data/refreshed.txt')\n"
        "n = int(path.read_text()) if path.exists() else 0\n"
        "path.write_text(f'{n + 1}\\n')\n"
    )
    config = root / "mlops-ci.yaml"
    config.write_text(config.read_text() + RETRAIN_CONFIG)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Retrain with a data update step", date=PREPARE_DATES[0])
    git(root, "push", "-q", "origin", "main")


def _retrain_seed(ws: Workspace) -> None:
    from hardening_harness import OriginBranches

    from mlops_ci.core.markers import drift_issue_marker as issue_marker

    if ws.data.get("dvc_push"):
        config = ws.root / "mlops-ci.yaml"
        config.write_text(config.read_text().replace("push: never", "push: always"))
        git(ws.root, "commit", "-q", "-am", "Push outputs", date=PREPARE_DATES[1])
        git(ws.root, "push", "-q", "origin", "main")
    state = ws.double.state
    state.branches = OriginBranches(ws.sample.origin, state.branches)
    state.add_issue(title="Drift", body=issue_marker(MODEL), labels=["mlops-ci", "drift"])


def _retrain_before_rerun(ws: Workspace) -> None:
    """A re-run starts from a fresh checkout of the default branch (actions/checkout:
    that branch only), not from what the failed run left in its clone."""
    import shutil

    shutil.rmtree(ws.root)
    git(ws.root.parent, "clone", "-q", "--single-branch", "--branch", "main",
        str(ws.sample.origin), str(ws.root))  # fmt: skip


def _check_retrain(ws: Workspace) -> tuple[list[str], list[str]]:
    state = ws.double.state
    pulls = [p for p in state.pulls() if p.head_ref.startswith("mlops-ci/retrain/")]
    lost = [] if pulls else ["no retrain pull request"]
    dups = _count([f"pull from {p.head_ref}" for p in pulls])
    if len(pulls) > 1:
        dups.append(f"{len(pulls)} retrain pull requests")
    for pull in pulls:
        if "Refs #" not in (pull.body or ""):
            lost.append(f"pull #{pull.number} does not link the drift issue")
    heads = git(ws.sample.origin, "rev-parse", "refs/heads/main")
    if heads != git(ws.root, "rev-parse", "refs/heads/main"):
        lost.append("main moved on origin")
    return lost, dups


RETRAIN = Journey(
    name="retrain",
    prepare=_prepare_retrain,
    args=lambda ws: ["retrain", "--root", str(ws.root)],
    env=_plain_env,
    seed=_retrain_seed,
    check=_check_retrain,
    operations=("repos/get", "issues/list-for-repo", "issues/get", "pulls/list", "pulls/create"),
    writes=("pulls/create",),
    pushes_git=True,
    uses_dvc_remote=True,
    before_rerun=_retrain_before_rerun,
)


# --- sweep merge ---------------------------------------------------------------------------


def _prepare_sweep(sample: SampleProject) -> None:
    from mlops_ci.services.sweep import RunRecord, write_record

    _prepare_pr_checkout(sample)
    for cell, depth, accuracy in (("r01", 3, 0.95), ("r02", 5, 0.97), ("r03", 8, None)):
        metrics = {}
        if accuracy is not None:
            metrics = {"metrics.json": {"accuracy": accuracy, "roc_auc": 0.97, "log_loss": 0.15}}
        record = RunRecord(
            id=cell,
            status="ok" if accuracy is not None else "failed",
            error=None if accuracy is not None else "the pipeline failed",
            set={"train.model.max_depth": depth},
            metrics=metrics,
            code_sha="a" * 40,
            run_seconds=1.5,
        )
        write_record(sample.base / "bundles" / f"sweep-{cell}", record)


SWEEP = Journey(
    name="sweep-merge",
    prepare=_prepare_sweep,
    args=lambda ws: [
        "sweep",
        "merge",
        "--root",
        str(ws.root),
        str(ws.sample.base / "bundles"),
        "--output",
        str(ws.tmp / "leaderboard"),
    ],
    env=_report_env,
    seed=_seed_pull,
    check=_check_comment(SWEEP_MARKER),
    operations=(
        "repos/get",
        "issues/get",
        "users/get-authenticated",
        "issues/list-comments",
        "issues/create-comment",
    ),
    writes=("issues/create-comment",),
)


JOURNEYS = {
    j.name: j for j in (REPORT, POST, REGISTER, RELEASE, PROMOTE, ROLLBACK, MONITOR, RETRAIN, SWEEP)
}
