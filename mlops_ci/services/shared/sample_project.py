"""A small but real ML project: git + DVC + a scikit-learn model on a dataset it ships.

It backs `mlops-ci demo` and the test fixtures, so that what a newcomer sees and what
the tests exercise is the same thing. Layout made under `base`:

    base/project/   the git repository (DVC pipeline prepare → train → evaluate)
    base/remote/    the local DVC remote (`.dvc/config` points at it relatively)
    base/origin.git a bare git repository, the project's `origin`

History: `main` holds the baseline, trained and pushed; the branch `pr/tune-model`
changes params and the data, reproduced and committed, as a pull request would.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.adapters.process import run_child, tool_env
from mlops_ci.errors import MlopsCIError

MAIN_BRANCH = "main"
PR_BRANCH = "pr/tune-model"
MODEL_NAME = "cancer-classifier"
DROPPED_ROWS = 20

# Fixed identities and dates keep every hash of the sample reproducible.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Data Scientist",
    "GIT_AUTHOR_EMAIL": "ds@example.com",
    "GIT_COMMITTER_NAME": "Data Scientist",
    "GIT_COMMITTER_EMAIL": "ds@example.com",
}
_MAIN_DATE = "2026-01-05T10:00:00+00:00"
_PR_DATE = "2026-01-06T10:00:00+00:00"

_FEATURES = [
    "radius", "texture", "perimeter", "area", "smoothness",
    "compactness", "concavity", "concave_points", "symmetry", "fractal_dimension",
]  # fmt: skip
FEATURE_NAMES = [f"{kind}_{name}" for kind in ("mean", "error", "worst") for name in _FEATURES]
TARGET = "diagnosis"

PARAMS_MAIN = """\
prepare:
  test_size: 0.25
  seed: 42
train:
  seed: 7
  model:
    n_estimators: 40
    max_depth: 3
    min_samples_leaf: 4
"""

PARAMS_PR = """\
prepare:
  test_size: 0.25
  seed: 42
train:
  seed: 7
  model:
    n_estimators: 80
    max_depth: 5
    min_samples_leaf: 1
"""

DVC_YAML = """\
stages:
  prepare:
    cmd: python src/prepare.py
    deps:
      - data/breast_cancer.csv
      - src/prepare.py
    params:
      - prepare
    outs:
      - data/prepared
  train:
    cmd: python src/train.py
    deps:
      - data/prepared
      - src/train.py
    params:
      - train
    outs:
      - models/model.pkl
  evaluate:
    cmd: python src/evaluate.py
    deps:
      - data/prepared
      - models/model.pkl
      - src/evaluate.py
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/roc.csv:
          cache: false
          x: fpr
          y: tpr
          title: ROC curve
"""

PREPARE_PY = '''\
"""Split the dataset into train and test sets (numpy only, so it starts fast)."""
import csv
import os

import numpy as np
import yaml

params = yaml.safe_load(open("params.yaml"))["prepare"]
with open("data/breast_cancer.csv", newline="") as handle:
    rows = list(csv.reader(handle))
header, body = rows[0], rows[1:]
rng = np.random.default_rng(params["seed"])
order = rng.permutation(len(body))
n_test = int(round(len(body) * params["test_size"]))
os.makedirs("data/prepared", exist_ok=True)
for name, index in (("test", order[:n_test]), ("train", order[n_test:])):
    with open(f"data/prepared/{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(body[i] for i in sorted(index))
'''

TRAIN_PY = '''\
"""Train a random forest on the prepared training set."""
import os
import pickle

import numpy as np
import yaml
from sklearn.ensemble import RandomForestClassifier

params = yaml.safe_load(open("params.yaml"))["train"]
data = np.genfromtxt("data/prepared/train.csv", delimiter=",", skip_header=1)
X, y = data[:, :-1], data[:, -1].astype(int)
model = RandomForestClassifier(random_state=params["seed"], n_jobs=1, **params["model"])
model.fit(X, y)
os.makedirs("models", exist_ok=True)
with open("models/model.pkl", "wb") as handle:
    pickle.dump(model, handle)
'''

EVALUATE_PY = '''\
"""Score the model on the test set: nested metrics and a ROC curve."""
import csv
import json
import os
import pickle

import numpy as np
from sklearn import metrics

data = np.genfromtxt("data/prepared/test.csv", delimiter=",", skip_header=1)
X, y = data[:, :-1], data[:, -1].astype(int)
with open("models/model.pkl", "rb") as handle:
    model = pickle.load(handle)
predicted = model.predict(X)
proba = model.predict_proba(X)[:, 1]
report = metrics.classification_report(y, predicted, output_dict=True, zero_division=0)
result = {
    "accuracy": round(float(metrics.accuracy_score(y, predicted)), 6),
    "f1": round(float(metrics.f1_score(y, predicted)), 6),
    "roc_auc": round(float(metrics.roc_auc_score(y, proba)), 6),
    "log_loss": round(float(metrics.log_loss(y, proba)), 6),
    "per_class": {
        name: {
            "precision": round(float(report[str(label)]["precision"]), 6),
            "recall": round(float(report[str(label)]["recall"]), 6),
        }
        for label, name in ((0, "malignant"), (1, "benign"))
    },
    "test_rows": int(len(y)),
}
with open("metrics.json", "w") as handle:
    json.dump(result, handle, indent=2, sort_keys=True)
    handle.write("\\n")
fpr, tpr, _ = metrics.roc_curve(y, proba)
os.makedirs("plots", exist_ok=True)
with open("plots/roc.csv", "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["fpr", "tpr"])
    writer.writerows((round(float(a), 6), round(float(b), 6)) for a, b in zip(fpr, tpr))
'''

CONFIG_YAML = f"""\
# mlops-ci configuration: see docs/configuration.md
metrics:
  gates:
    accuracy:
      direction: higher
      min: 0.85
      max_drop: 0.02
    roc_auc:
      direction: higher
      min: 0.9
    log_loss:
      direction: lower
      max_drop_pct: 25
models:
  {MODEL_NAME}:
    path: models/model.pkl
    description: Random forest that flags malignant breast tumours from cell measurements.
    stages: [staging, production]
    promotion:
      order: strict
    card:
      intended_use: Teaching and testing mlops-ci; not for clinical use.
      limitations: Trained on 569 samples of one public dataset.
      owners: ["@ml-team"]
monitor:
  reference: data/breast_cancer.csv
  target: {TARGET}
"""

GITIGNORE = """\
/.mlops-ci/
__pycache__/
"""


@dataclass(frozen=True)
class SampleProject:
    """Where the sample lives and the commits that matter."""

    base: Path
    root: Path
    remote: Path
    origin: Path
    main_sha: str
    pr_sha: str
    main_branch: str = MAIN_BRANCH
    pr_branch: str = PR_BRANCH
    model: str = MODEL_NAME


def dataset_csv() -> Path:
    """The breast cancer CSV that scikit-learn ships, found without importing sklearn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise MlopsCIError(
            "scikit-learn is not installed", hint="pip install scikit-learn (mlops-ci needs it)"
        )
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "datasets"
        / "data"
        / "breast_cancer.csv"
    )
    if not path.is_file():
        raise MlopsCIError(f"{path}: scikit-learn's breast cancer dataset is missing")
    return path


def write_dataset(dest: Path, *, drop_last: int = 0) -> None:
    """Write the dataset with named columns (`drop_last` rows removed, as a data change)."""
    with dataset_csv().open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*FEATURE_NAMES, TARGET])
        writer.writerows(rows[: len(rows) - drop_last])


def _run(args: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    result = run_child(
        args, cwd=cwd, env=env, timeout=600, what=f"sample project: `{' '.join(args[:3])}`",
        timeout_setting=None,
    )  # fmt: skip
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip().splitlines()
        why = detail[-1] if detail else f"exit {result.returncode}"
        raise MlopsCIError(f"sample project: `{' '.join(args[:3])}` failed: {why}")
    return result.stdout.decode("utf-8", "replace").strip()


def _git_env(date: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return tool_env(
        own_python_first=True,
        extra={**_IDENTITY, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **(extra or {})},
    )


def make_sample_project(base: Path, *, with_pr: bool = True, quiet: bool = True) -> SampleProject:
    """Build the sample project under `base` (which must not exist or be empty)."""
    base = base.resolve()
    if base.exists() and any(base.iterdir()):
        raise MlopsCIError(f"{base}: the directory is not empty", hint="choose a new --dir")
    root, remote, origin = base / "project", base / "remote", base / "origin.git"
    root.mkdir(parents=True)
    remote.mkdir()
    env = _git_env(_MAIN_DATE)

    _run(["git", "init", "-q", "--bare", "-b", MAIN_BRANCH, str(origin)], base, env)
    _run(["git", "init", "-q", "-b", MAIN_BRANCH], root, env)
    _run(["git", "config", "user.name", _IDENTITY["GIT_AUTHOR_NAME"]], root, env)
    _run(["git", "config", "user.email", _IDENTITY["GIT_AUTHOR_EMAIL"]], root, env)
    _run(["git", "remote", "add", "origin", str(origin)], root, env)

    (root / "src").mkdir()
    (root / "src" / "prepare.py").write_text(PREPARE_PY)
    (root / "src" / "train.py").write_text(TRAIN_PY)
    (root / "src" / "evaluate.py").write_text(EVALUATE_PY)
    (root / "params.yaml").write_text(PARAMS_MAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "mlops-ci.yaml").write_text(CONFIG_YAML)
    (root / ".gitignore").write_text(GITIGNORE)
    write_dataset(root / "data" / "breast_cancer.csv")

    with _inside(root, env):
        return _build(base, root, remote, origin, env, with_pr=with_pr)


@contextmanager
def _inside(root: Path, env: Mapping[str, str]) -> Iterator[None]:
    """DVC's Python API works relative to the current directory and environment."""
    import logging
    import os

    saved_env = {k: os.environ.get(k) for k in env}
    saved_cwd = Path.cwd()
    dvc_logger = logging.getLogger("dvc")
    saved_level = dvc_logger.level
    os.environ.update(env)  # repro's stage commands inherit PATH and the analytics switch
    os.chdir(root)
    dvc_logger.setLevel(logging.WARNING)
    chatter = io.StringIO()  # DVC's "To track the changes with git..." advice is not for us
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            yield
    finally:
        dvc_logger.setLevel(saved_level)
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build(
    base: Path, root: Path, remote: Path, origin: Path, env: Mapping[str, str], *, with_pr: bool
) -> SampleProject:
    from dvc.repo import Repo  # heavy: imported only when a sample is built

    repo = Repo.init(str(root))
    try:
        with repo.config.edit() as conf:
            conf["core"]["remote"] = "local"
            conf["core"]["autostage"] = True
            conf["remote"]["local"] = {"url": "../remote"}
        # Given relative to the project, DVC stores it relative to .dvc/: copying `base`
        # keeps a working sample.
        _dvc_commit_all(repo, root, env, "Baseline: random forest on the breast cancer data")
        main_sha = _run(["git", "rev-parse", "HEAD"], root, env)
        _run(["git", "push", "-q", "origin", MAIN_BRANCH], root, env)
        _run(["git", "remote", "set-head", "origin", MAIN_BRANCH], root, env)

        pr_sha = main_sha
        if with_pr:
            pr_env = _git_env(_PR_DATE)
            _run(["git", "checkout", "-q", "-b", PR_BRANCH], root, pr_env)
            (root / "params.yaml").write_text(PARAMS_PR)
            write_dataset(root / "data" / "breast_cancer.csv", drop_last=DROPPED_ROWS)
            _dvc_commit_all(
                repo, root, pr_env, f"Tune the forest and drop {DROPPED_ROWS} duplicated rows"
            )
            pr_sha = _run(["git", "rev-parse", "HEAD"], root, pr_env)
            _run(["git", "push", "-q", "origin", PR_BRANCH], root, pr_env)
            _run(["git", "checkout", "-q", MAIN_BRANCH], root, pr_env)
            repo.checkout(force=True)
    finally:
        repo.close()
    return SampleProject(
        base=base, root=root, remote=remote, origin=origin, main_sha=main_sha, pr_sha=pr_sha
    )


def _dvc_commit_all(repo: object, root: Path, env: Mapping[str, str], message: str) -> None:
    """Track the data, reproduce the pipeline, push outputs, and commit it all."""
    try:
        repo.add("data/breast_cancer.csv")  # type: ignore[attr-defined]
        repo.reproduce()  # type: ignore[attr-defined]
        repo.push()  # type: ignore[attr-defined]
    except Exception as exc:
        raise MlopsCIError(f"sample project: DVC failed: {exc}".splitlines()[0]) from exc
    _run(["git", "add", "-A"], root, env)
    _run(["git", "commit", "-q", "-m", message], root, env)


def copy_sample(sample: SampleProject, dest: Path) -> SampleProject:
    """Copy a built sample (repository, DVC remote and origin) to `dest`; milliseconds."""
    shutil.copytree(sample.base, dest, symlinks=True)
    # origin is an absolute path in .git/config: point the copy at its own origin.
    _run(
        ["git", "remote", "set-url", "origin", str(dest / "origin.git")],
        dest / "project",
        tool_env(),
    )
    return SampleProject(
        base=dest,
        root=dest / "project",
        remote=dest / "remote",
        origin=dest / "origin.git",
        main_sha=sample.main_sha,
        pr_sha=sample.pr_sha,
    )
