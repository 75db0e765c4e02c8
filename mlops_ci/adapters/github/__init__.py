"""GitHub REST adapter on PyGithub: sticky PR comments, check runs, commit statuses,
releases and assets, deployments, issues, dispatches and pull requests.

Every operation is safe to re-run: it finds what an earlier run left (by a hidden
marker, a tag, a name, a head branch) and completes or updates it instead of
creating a second one. `client` holds the connection, the retry loop and the error
messages; each resource has its own module, and `GitHubRepo` combines them.

PyGithub is imported lazily (in the constructor), so importing this package is
cheap and `mlops-ci --help` never pays for it.
"""

from __future__ import annotations

from mlops_ci.core.markers import comment_marker

from .checks import ChecksMixin
from .client import (
    ACTIONS_BOT_LOGIN,
    COMMENT_MODES,
    DEFAULT_API_URL,
    PERMISSIONS,
    RELEASE_BODY_LIMIT,
    STATUS_DESCRIPTION_LIMIT,
    CommentMode,
    RetryPolicy,
    api_url_from_environ,
)
from .comments import CommentsMixin
from .deployments import DeploymentsMixin
from .issues import IssuesMixin
from .pulls import PullsMixin
from .releases import ReleasesMixin
from .results import (
    AssetResult,
    CheckRunResult,
    CommentResult,
    DeploymentResult,
    IssueResult,
    PullResult,
    ReleaseResult,
)

__all__ = [
    "ACTIONS_BOT_LOGIN",
    "COMMENT_MODES",
    "DEFAULT_API_URL",
    "PERMISSIONS",
    "RELEASE_BODY_LIMIT",
    "STATUS_DESCRIPTION_LIMIT",
    "AssetResult",
    "CheckRunResult",
    "CommentMode",
    "CommentResult",
    "DeploymentResult",
    "GitHubRepo",
    "IssueResult",
    "PullResult",
    "ReleaseResult",
    "RetryPolicy",
    "api_url_from_environ",
    "comment_marker",
]


class GitHubRepo(
    CommentsMixin,
    ChecksMixin,
    ReleasesMixin,
    DeploymentsMixin,
    IssuesMixin,
    PullsMixin,
):
    """One repository on github.com or GitHub Enterprise Server, through PyGithub."""
