"""The sample project with v1.0.0 registered, promoted to production and released
(locally), built once for the serving tests; the model's own outputs are the oracle."""

from __future__ import annotations

import csv
import json
import pickle
import subprocess
from typing import Any

import numpy as np
import pytest
from serve_helpers import MODEL, TAG, VERSION, Oracle, release_dir, run_cli

from mlops_ci.core.signature import Signature
from mlops_ci.services.shared.sample_project import SampleProject, copy_sample


@pytest.fixture(scope="session")
def released(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> SampleProject:
    """v1.0.0 of the sample's model in production, its release assets built locally in
    `.mlops-ci/release/<tag>/` (never modify it: the serving tests share it)."""
    project = copy_sample(sample_project_template, tmp_path_factory.mktemp("served") / "sample")
    root = ["--root", str(project.root)]
    for step in (
        ["register", MODEL, "--version", VERSION, "--ref", project.main_sha],
        ["promote", MODEL, "--version", VERSION, "--stage", "staging"],
        ["promote", MODEL, "--version", VERSION, "--stage", "production"],
        ["release", "--tag", TAG],
    ):
        code, printed = run_cli(*step, *root)
        assert code == 0, (step, printed)
    return project


@pytest.fixture(scope="session")
def oracle(released: SampleProject, tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    """The whole dataset the project tracks, in the signature's order, and the model's
    own outputs on it (the model's bytes at the released commit, read through DVC)."""
    fetched = tmp_path_factory.mktemp("oracle") / "model.pkl"
    subprocess.run(
        ["dvc", "get", ".", "models/model.pkl", "--rev", released.main_sha, "-o",
         str(fetched)],
        cwd=released.root, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    model: Any = pickle.loads(fetched.read_bytes())
    signature = Signature.from_dict(
        json.loads((release_dir(released) / "signature.json").read_text())
    )
    with (released.root / "data" / "breast_cancer.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    matrix = np.array([[float(row[name]) for name in signature.names] for row in rows])
    return Oracle(
        signature=signature,
        matrix=matrix,
        labels=model.predict(matrix).tolist(),
        proba=model.predict_proba(matrix).tolist(),
        model=model,
    )
