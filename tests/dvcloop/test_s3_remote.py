"""The DVC loop against an S3 remote served by a local S3 server (moto on 127.0.0.1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from mlops_ci.adapters.process import tool_env
from mlops_ci.services.shared.lock import check_lock
from mlops_ci.services.shared.sample_project import SampleProject
from mlops_ci.services.shared.verify import verify

DVC = [sys.executable, "-m", "dvc"]


def _dvc(root: Path, *args: str) -> None:
    subprocess.run([*DVC, *args], cwd=root, check=True, capture_output=True, env=tool_env())


def _to_s3(sample: SampleProject, endpoint: str, bucket: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    root = sample.root
    _dvc(root, "remote", "add", "-d", "s3", f"s3://{bucket}/store")
    _dvc(root, "remote", "modify", "s3", "endpointurl", endpoint)
    _dvc(root, "remote", "remove", "local")


def test_verify_against_s3(sample_project: SampleProject, s3_endpoint: str) -> None:
    root = sample_project.root
    _to_s3(sample_project, s3_endpoint, "verify-data")
    missing = verify(root, "main")
    assert not missing.ok
    assert {m.path for m in missing.missing} == {
        "data/breast_cancer.csv",
        "data/prepared",
        "models/model.pkl",
    }
    _dvc(root, "push")
    result = verify(root, "main")
    assert result.ok, result.summary()
    assert result.remote.endswith("verify-data/store")


def test_stale_lock_is_found_with_an_s3_remote(
    sample_project: SampleProject, s3_endpoint: str
) -> None:
    root = sample_project.root
    _to_s3(sample_project, s3_endpoint, "lock-data")
    _dvc(root, "push")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["train"]["model"]["max_depth"] = 2
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "commit", "-qam", "Shallower trees"], cwd=root, check=True)
    _dvc(root, "repro", "-q")
    status = check_lock(root)
    assert status.stale
    assert "train" in {c.name for c in status.stages}
    # The fix the message gives works: commit the lock and push the outputs.
    subprocess.run(["git", "commit", "-qam", "Update dvc.lock"], cwd=root, check=True)
    assert not verify(root, "HEAD").ok
    _dvc(root, "push")
    assert verify(root, "HEAD").ok
    assert not check_lock(root).stale
