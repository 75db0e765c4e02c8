"""Data in an S3 remote (moto's server on 127.0.0.1) is pulled, reproduced and reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from report_helpers import local_env

from mlops_ci.services.report import ReportRequest, generate_report
from mlops_ci.services.shared.job import Job, SinkProgress
from mlops_ci.services.shared.sample_project import SampleProject

CREDENTIALS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


def _credentials() -> dict[str, str]:
    """The local S3 server's test credentials, which the `s3_endpoint` fixture sets."""
    return {key: os.environ[key] for key in CREDENTIALS_KEYS}


def _dvc(root: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )


def test_data_in_s3_is_pulled_and_reported(sample_project: SampleProject, s3_endpoint: str) -> None:
    import boto3

    sample = sample_project
    root = sample.root
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="mlops-ci-data")
    subprocess.run(["git", "checkout", "-q", sample.pr_branch], cwd=root, check=True)
    # Move the data to S3: the only remote from now on.
    _dvc(root, "remote", "add", "-d", "s3", "s3://mlops-ci-data/store")
    _dvc(root, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    _dvc(root, "remote", "remove", "local")
    _dvc(root, "push", "-r", "s3", "--all-branches")
    stored = s3.list_objects_v2(Bucket="mlops-ci-data").get("KeyCount", 0)
    assert stored > 0
    # A fresh CI checkout: no DVC cache, no data, no outputs.
    shutil.rmtree(root / ".dvc" / "cache")
    shutil.rmtree(root / "data" / "prepared", ignore_errors=True)
    (root / "data" / "breast_cancer.csv").unlink()
    (root / "models" / "model.pkl").unlink()

    lines: list[str] = []
    outcome = generate_report(
        ReportRequest(root=root, run=True, publish="none"),
        Job.from_environ(local_env(**_credentials()), progress=SinkProgress(sink=lines.append)),
    )
    assert (root / "data" / "breast_cancer.csv").is_file()
    assert (root / "models" / "model.pkl").is_file()
    data = json.loads(outcome.report_json.read_text())
    assert data["verdict"] == "pass"
    assert {r["key"] for r in data["metrics"]} >= {"accuracy", "roc_auc", "log_loss"}
    entries = {e["path"]: e["status"] for e in data["data"]["entries"]}
    assert entries["data/breast_cancer.csv"] == "modified"
    assert any("fetched" in line or "added" in line.lower() for line in lines), lines[-20:]


def test_dvc_output_at_base_comes_from_the_s3_remote(
    sample_project: SampleProject, s3_endpoint: str
) -> None:
    """With an empty cache, a DVC output at the base revision is read from the remote."""
    import boto3

    from mlops_ci.adapters.dvc import Dvc
    from mlops_ci.adapters.git import Git
    from mlops_ci.services.shared.baseline import BaseReader

    root = sample_project.root
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="base-data"
    )
    _dvc(root, "remote", "add", "-d", "s3", "s3://base-data/store")
    _dvc(root, "remote", "modify", "s3", "endpointurl", s3_endpoint)
    _dvc(root, "push", "-r", "s3")
    # The remote setting must exist at the base revision too: commit it there.
    subprocess.run(["git", "commit", "-qam", "data in S3"], cwd=root, check=True)
    shutil.rmtree(root / ".dvc" / "cache")
    _dvc(root, "remote", "remove", "local")
    subprocess.run(["git", "commit", "-qam", "S3 only"], cwd=root, check=True)
    base = subprocess.run(
        ["git", "rev-parse", "HEAD~1"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()

    reader = BaseReader(Git(root), Dvc(root), base, "dvc")
    raw, why = reader.read("models/model.pkl")
    assert why is None
    assert raw is not None
    assert raw.startswith(b"\x80")  # a pickle, fetched from S3
