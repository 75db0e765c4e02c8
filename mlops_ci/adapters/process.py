"""Running the tools we orchestrate (git, dvc, the user's pipeline) as subprocesses."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path

# Credentials a pipeline never needs: the GitHub token we were given, the git
# credential helper the action configures for our own pushes, and the runner's
# OIDC request token. DVC remote credentials (AWS_*, AZURE_*, ...) stay.
_SECRET_NAMES = frozenset(
    {
        "MLOPS_CI_GITHUB_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "INPUT_GITHUB-TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
    }
)
_GIT_CONFIG_VAR = re.compile(r"^GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+)$")
_DVC_ANALYTICS = "DVC_NO_ANALYTICS"


def switch_off_dvc_analytics(env: MutableMapping[str, str]) -> None:
    """Turn DVC's analytics off in `env`: the one place that sets the switch.

    DVC's analytics would start a detached process per call (and phone home from a CI
    job), so every DVC we run, as a command or through its Python API, has them off.
    """
    env[_DVC_ANALYTICS] = "1"


@contextmanager
def dvc_api_environment() -> Iterator[None]:
    """This process's environment with DVC's analytics off, for DVC's Python API.

    The API reads `os.environ`; the previous value is restored afterwards.
    """
    saved = os.environ.get(_DVC_ANALYTICS)
    switch_off_dvc_analytics(os.environ)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_DVC_ANALYTICS, None)
        else:
            os.environ[_DVC_ANALYTICS] = saved


def tool_env(
    extra: Mapping[str, str] | None = None, *, own_python_first: bool = False
) -> dict[str, str]:
    """The environment for git, DVC and pipeline commands.

    The directory of the interpreter running mlops-ci is put on PATH so that `dvc`
    resolves even when its virtual environment was never activated. It goes *last*,
    so a project's own `python` and tools win (under the action, mlops-ci lives in a
    virtual environment of its own); `own_python_first` puts it first, for pipelines
    we ship ourselves (the demo). DVC's analytics are off (`switch_off_dvc_analytics`).
    """
    env = dict(os.environ)
    if extra:
        env.update(extra)  # first, so that a PATH given here is extended, not kept as is
    bindir = str(Path(sys.executable).parent)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p]
    if own_python_first:
        parts = [bindir, *[p for p in parts if p != bindir]]
    elif bindir not in parts:
        parts.append(bindir)
    env["PATH"] = os.pathsep.join(parts)
    switch_off_dvc_analytics(env)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    return env


def pipeline_env(
    extra: Mapping[str, str] | None = None, *, own_python_first: bool = False
) -> dict[str, str]:
    """`tool_env` without the credentials that only mlops-ci itself may use.

    The pipeline is the pull request's code: it gets the DVC remote's credentials it
    needs to pull and push data, never the GitHub token.
    """
    env = tool_env(extra, own_python_first=own_python_first)
    for name in list(env):
        if name in _SECRET_NAMES or _GIT_CONFIG_VAR.match(name):
            del env[name]
    return env
