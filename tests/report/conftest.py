"""Fixtures for the PR report tests: the sample project on its PR branch, reported once."""

from __future__ import annotations

import subprocess

import pytest
from report_helpers import Reported, local_env

from mlops_ci.services.report import ReportRequest, generate_report
from mlops_ci.services.shared.job import Job, SinkProgress
from mlops_ci.services.shared.sample_project import SampleProject, copy_sample


@pytest.fixture(scope="session")
def reported_sample(
    sample_project_template: SampleProject, tmp_path_factory: pytest.TempPathFactory
) -> Reported:
    """The sample project's PR branch, pulled, reproduced and reported once per session."""
    sample = copy_sample(sample_project_template, tmp_path_factory.mktemp("reported") / "s")
    subprocess.run(["git", "checkout", "-q", sample.pr_branch], cwd=sample.root, check=True)
    lines: list[str] = []
    outcome = generate_report(
        ReportRequest(root=sample.root, run=True, publish="local"),
        Job.from_environ(local_env(), progress=SinkProgress(sink=lines.append)),
    )
    return Reported(sample, outcome, lines)
