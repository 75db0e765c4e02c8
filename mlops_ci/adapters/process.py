"""Running the tools we orchestrate (git, dvc, the user's pipeline) as subprocesses."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git, DVC and pipeline commands.

    The interpreter running mlops-ci comes first on PATH, so that a pipeline's
    `python train.py` runs where mlops-ci and the project's libraries are installed
    even when the virtual environment was never activated. DVC's analytics would
    start a detached process per call, so they are off.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if path.split(os.pathsep)[:1] != [bindir]:
        env["PATH"] = bindir + (os.pathsep + path if path else "")
    env["DVC_NO_ANALYTICS"] = "1"
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    if extra:
        env.update(extra)
    return env
