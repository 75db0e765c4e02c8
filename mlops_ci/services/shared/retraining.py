"""The branches retraining works on, which both the monitor and the retrain journey know.

The monitor skips its retrain dispatch while a pull request from one of these branches
is open; the retrain journey creates them, and refuses to commit anywhere else.
"""

from __future__ import annotations

#: Every retrain branch is `<prefix>/<model>/<date>`.
RETRAIN_BRANCH_PREFIX = "mlops-ci/retrain"


def retrain_branch_prefix(model: str) -> str:
    """The start of every retrain branch of `model` (ends with `/`)."""
    return f"{RETRAIN_BRANCH_PREFIX}/{model}/"
