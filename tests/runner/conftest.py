"""The session's act setup; skipped with the reason locally, a failure under CI."""

from __future__ import annotations

import dataclasses
import os

import pytest

from mlops_ci.services.shared.sample_project import SampleProject

from .act import ActTools, pin_dvc_remote, tools_or_reason

# Read at import: the session fixture `isolated_environment` removes CI from the environment.
UNDER_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def act_tools(tmp_path_factory: pytest.TempPathFactory) -> ActTools:
    found = tools_or_reason(tmp_path_factory.mktemp("act"))
    if isinstance(found, str):
        if UNDER_CI:
            pytest.fail(f"the runner tier must run under CI: {found}")
        pytest.skip(found)
    return found


@pytest.fixture
def act_sample(sample_project: SampleProject) -> SampleProject:
    """The sample project for act, its DVC remote committed as an absolute path (see
    `pin_dvc_remote`), checked out on the pull request branch."""
    main_sha, pr_sha = pin_dvc_remote(
        sample_project.root, sample_project.remote,
        sample_project.main_branch, sample_project.pr_branch,
    )  # fmt: skip
    return dataclasses.replace(sample_project, main_sha=main_sha, pr_sha=pr_sha)
