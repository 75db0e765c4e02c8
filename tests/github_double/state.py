"""The double's memory of one repository, and the JSON shapes GitHub returns for it.

Objects are stored as plain records; `render_*` functions build the JSON GitHub
would send for them (the shapes follow the OpenAPI description and the real
recordings in tests/data/github/recorded/).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode().rstrip("=")


def user_id(login: str) -> int:
    return 10_000 + int(hashlib.sha256(login.encode()).hexdigest()[:6], 16)


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    login: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    login: str
    labels: list[str]
    state: str = "open"
    state_reason: str | None = None
    created_at: datetime = EPOCH
    updated_at: datetime = EPOCH
    closed_at: datetime | None = None
    # Pull request fields (a pull request is an issue with these set).
    is_pull: bool = False
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""


@dataclass
class Asset:
    id: int
    release_id: int
    name: str
    label: str
    content_type: str
    data: bytes
    login: str
    created_at: datetime
    state: str = "uploaded"

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass
class Release:
    id: int
    tag_name: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    target_commitish: str
    login: str
    created_at: datetime
    published_at: datetime | None = None
    asset_ids: list[int] = field(default_factory=list)


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None
    details_url: str | None
    external_id: str
    title: str | None = None
    summary: str | None = None
    text: str | None = None


@dataclass
class Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    login: str
    created_at: datetime


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    task: str
    environment: str
    payload: Any
    description: str | None
    login: str
    created_at: datetime
    auto_merge: bool
    required_contexts: list[str] | None


@dataclass
class DeploymentStatus:
    id: int
    deployment_id: int
    state: str
    description: str
    environment: str
    environment_url: str
    log_url: str
    login: str
    created_at: datetime


@dataclass
class Dispatch:
    kind: str  # "workflow" or "repository"
    workflow_id: str | None
    ref: str | None
    inputs: dict[str, Any] | None
    event_type: str | None
    client_payload: dict[str, Any] | None


class RepoState:
    """Everything the double knows about its one repository."""

    def __init__(self, owner: str, name: str, default_branch: str = "main") -> None:
        self.owner = owner
        self.name = name
        self.repo_id = 1_000_000 + user_id(f"{owner}/{name}")
        self.default_branch = default_branch
        self.branches: dict[str, str] = {default_branch: "a" * 40}
        self.comments: dict[int, Comment] = {}
        self.issues: dict[int, Issue] = {}
        self.releases: dict[int, Release] = {}
        self.assets: dict[int, Asset] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.statuses: list[Status] = []
        self.deployments: dict[int, Deployment] = {}
        self.deployment_statuses: dict[int, DeploymentStatus] = {}
        self.dispatches: list[Dispatch] = []
        self._ids = itertools.count(5_000_001)
        self._numbers = itertools.count(1)
        self._clock = EPOCH

    def next_id(self) -> int:
        return next(self._ids)

    def next_number(self) -> int:
        return next(self._numbers)

    def now(self) -> datetime:
        # A strictly increasing clock keeps "newest first" orders well defined.
        self._clock += timedelta(seconds=1)
        return self._clock

    # --- seeding helpers used by tests ---------------------------------------

    def add_pull(
        self,
        *,
        head: str = "feature",
        base: str | None = None,
        title: str = "Improve the model",
        login: str = "octocat",
        head_sha: str | None = None,
    ) -> Issue:
        number = self.next_number()
        sha = head_sha or hashlib.sha1(f"{head}{number}".encode()).hexdigest()
        self.branches.setdefault(head, sha)
        moment = self.now()
        pull = Issue(
            number=number,
            id=self.next_id(),
            title=title,
            body="",
            login=login,
            labels=[],
            created_at=moment,
            updated_at=moment,
            is_pull=True,
            head_ref=head,
            head_sha=sha,
            base_ref=base or self.default_branch,
        )
        self.issues[number] = pull
        return pull

    def add_issue(
        self,
        *,
        title: str,
        body: str | None = None,
        labels: list[str] | None = None,
        login: str = "octocat",
        state: str = "open",
    ) -> Issue:
        moment = self.now()
        issue = Issue(
            number=self.next_number(),
            id=self.next_id(),
            title=title,
            body=body,
            login=login,
            labels=list(labels or []),
            state=state,
            state_reason="completed" if state == "closed" else None,
            created_at=moment,
            updated_at=moment,
            closed_at=moment if state == "closed" else None,
        )
        self.issues[issue.number] = issue
        return issue

    def add_comment(self, issue_number: int, body: str, login: str) -> Comment:
        moment = self.now()
        comment = Comment(self.next_id(), issue_number, body, login, moment, moment)
        self.comments[comment.id] = comment
        return comment

    def add_release(
        self, tag: str, *, draft: bool = False, login: str = "octocat", body: str = ""
    ) -> Release:
        moment = self.now()
        release = Release(
            id=self.next_id(),
            tag_name=tag,
            name=tag,
            body=body,
            draft=draft,
            prerelease=False,
            target_commitish=self.default_branch,
            login=login,
            created_at=moment,
            published_at=None if draft else moment,
        )
        self.releases[release.id] = release
        return release

    def add_asset(
        self, release: Release, name: str, data: bytes, *, content_type: str = "text/plain"
    ) -> Asset:
        asset = Asset(
            id=self.next_id(),
            release_id=release.id,
            name=name,
            label="",
            content_type=content_type,
            data=data,
            login="octocat",
            created_at=self.now(),
        )
        self.assets[asset.id] = asset
        release.asset_ids.append(asset.id)
        return asset

    # --- views for assertions ---------------------------------------------------

    def comments_on(self, issue_number: int) -> list[Comment]:
        return sorted(
            (c for c in self.comments.values() if c.issue_number == issue_number),
            key=lambda c: c.id,
        )

    def release_assets(self, release: Release) -> list[Asset]:
        return [self.assets[i] for i in release.asset_ids]

    def releases_for_tag(self, tag: str) -> list[Release]:
        return [r for r in self.releases.values() if r.tag_name == tag]

    def pulls(self) -> list[Issue]:
        return [i for i in self.issues.values() if i.is_pull]


class Renderer:
    """Builds GitHub's JSON for records, with URLs that point back at the double."""

    def __init__(self, state: RepoState, api_url: str, uploads_url: str, web_url: str) -> None:
        self.state = state
        self.api = api_url
        self.uploads = uploads_url
        self.web = web_url

    @property
    def repo_api(self) -> str:
        return f"{self.api}/repos/{self.state.owner}/{self.state.name}"

    @property
    def repo_web(self) -> str:
        return f"{self.web}/{self.state.owner}/{self.state.name}"

    def user(self, login: str, *, detailed: bool = False) -> dict[str, Any]:
        uid = user_id(login)
        path = login.replace("[bot]", "%5Bbot%5D")
        data: dict[str, Any] = {
            "login": login,
            "id": uid,
            "node_id": node_id("User", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": f"{self.api}/users/{path}",
            "html_url": f"{self.web}/{path}",
            "followers_url": f"{self.api}/users/{path}/followers",
            "following_url": f"{self.api}/users/{path}/following{{/other_user}}",
            "gists_url": f"{self.api}/users/{path}/gists{{/gist_id}}",
            "starred_url": f"{self.api}/users/{path}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{self.api}/users/{path}/subscriptions",
            "organizations_url": f"{self.api}/users/{path}/orgs",
            "repos_url": f"{self.api}/users/{path}/repos",
            "events_url": f"{self.api}/users/{path}/events{{/privacy}}",
            "received_events_url": f"{self.api}/users/{path}/received_events",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "user_view_type": "public",
            "site_admin": False,
        }
        if detailed:
            data.update(
                {
                    "user_view_type": "private",
                    "name": login,
                    "company": None,
                    "blog": "",
                    "location": None,
                    "email": None,
                    "hireable": None,
                    "bio": None,
                    "twitter_username": None,
                    "public_repos": 3,
                    "public_gists": 0,
                    "followers": 1,
                    "following": 0,
                    "created_at": iso(EPOCH - timedelta(days=900)),
                    "updated_at": iso(EPOCH),
                    "private_gists": 0,
                    "total_private_repos": 1,
                    "owned_private_repos": 1,
                    "disk_usage": 1024,
                    "collaborators": 0,
                    "two_factor_authentication": True,
                }
            )
        return data

    def repository(self, *, full: bool = False) -> dict[str, Any]:
        s = self.state
        base = self.repo_api
        url_fields = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        open_issues = sum(1 for i in s.issues.values() if i.state == "open")
        data: dict[str, Any] = {
            "id": s.repo_id,
            "node_id": node_id("Repository", s.repo_id),
            "name": s.name,
            "full_name": f"{s.owner}/{s.name}",
            "private": False,
            "owner": self.user(s.owner) | {"type": "Organization"},
            "html_url": self.repo_web,
            "description": "A model trained and released with mlops-ci",
            "fork": False,
            "url": base,
            **{key: base + suffix for key, suffix in url_fields.items()},
            "git_url": f"git://github.com/{s.owner}/{s.name}.git",
            "ssh_url": f"git@github.com:{s.owner}/{s.name}.git",
            "clone_url": f"{self.repo_web}.git",
            "svn_url": self.repo_web,
            "mirror_url": None,
            "homepage": None,
            "language": "Python",
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 128,
            "default_branch": s.default_branch,
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "is_template": False,
            "topics": ["machine-learning", "mlops"],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "public",
            "pushed_at": iso(EPOCH),
            "created_at": iso(EPOCH - timedelta(days=30)),
            "updated_at": iso(EPOCH),
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "license": None,
        }
        if full:
            data.update(
                {
                    "network_count": 0,
                    "subscribers_count": 1,
                    "organization": data["owner"],
                    "temp_clone_token": None,
                    "allow_squash_merge": True,
                    "allow_merge_commit": True,
                    "allow_rebase_merge": True,
                    "allow_auto_merge": False,
                    "allow_update_branch": False,
                    "delete_branch_on_merge": False,
                    "use_squash_pr_title_as_default": False,
                }
            )
        return data

    def label(self, name: str) -> dict[str, Any]:
        lid = user_id(f"label:{name}")
        return {
            "id": lid,
            "node_id": node_id("Label", lid),
            "url": f"{self.repo_api}/labels/{name}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def comment(self, comment: Comment) -> dict[str, Any]:
        kind = "pull" if self.state.issues[comment.issue_number].is_pull else "issues"
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{self.repo_api}/issues/comments/{comment.id}",
            "html_url": f"{self.repo_web}/{kind}/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api}/issues/{comment.issue_number}",
            "body": comment.body,
            "user": self.user(comment.login),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": "NONE" if comment.login.endswith("[bot]") else "MEMBER",
            "reactions": self._reactions(f"{self.repo_api}/issues/comments/{comment.id}"),
        }

    def _reactions(self, url: str) -> dict[str, Any]:
        return {
            "url": f"{url}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        }

    def issue(self, issue: Issue) -> dict[str, Any]:
        url = f"{self.repo_api}/issues/{issue.number}"
        comments = sum(1 for c in self.state.comments.values() if c.issue_number == issue.number)
        data: dict[str, Any] = {
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "url": url,
            "repository_url": self.repo_api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "html_url": f"{self.repo_web}/{'pull' if issue.is_pull else 'issues'}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.login),
            "labels": [self.label(name) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": comments,
            "closed_at": iso(issue.closed_at) if issue.closed_at else None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": "MEMBER",
            "reactions": self._reactions(url),
        }
        if issue.is_pull:
            pull_url = f"{self.repo_api}/pulls/{issue.number}"
            web = f"{self.repo_web}/pull/{issue.number}"
            data["pull_request"] = {
                "url": pull_url,
                "html_url": web,
                "diff_url": f"{web}.diff",
                "patch_url": f"{web}.patch",
                "merged_at": None,
            }
        return data

    def pull(self, pull: Issue, *, full: bool) -> dict[str, Any]:
        s = self.state
        url = f"{self.repo_api}/pulls/{pull.number}"
        web = f"{self.repo_web}/pull/{pull.number}"
        repo = self.repository()
        owner = self.user(s.owner) | {"type": "Organization"}

        def branch(ref: str, sha: str) -> dict[str, Any]:
            return {
                "label": f"{s.owner}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": owner,
                "repo": repo,
            }

        data: dict[str, Any] = {
            "url": url,
            "id": pull.id,
            "node_id": node_id("PullRequest", pull.id),
            "html_url": web,
            "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch",
            "issue_url": f"{self.repo_api}/issues/{pull.number}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{self.repo_api}/pulls/comments{{/number}}",
            "comments_url": f"{self.repo_api}/issues/{pull.number}/comments",
            "statuses_url": f"{self.repo_api}/statuses/{pull.head_sha}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self.user(pull.login),
            "body": pull.body,
            "labels": [self.label(name) for name in pull.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pull.created_at),
            "updated_at": iso(pull.updated_at),
            "closed_at": iso(pull.closed_at) if pull.closed_at else None,
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": branch(pull.head_ref, pull.head_sha),
            "base": branch(pull.base_ref, s.branches.get(pull.base_ref, "a" * 40)),
            "_links": {
                "self": {"href": url},
                "html": {"href": web},
                "issue": {"href": f"{self.repo_api}/issues/{pull.number}"},
                "comments": {"href": f"{self.repo_api}/issues/{pull.number}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{self.repo_api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{self.repo_api}/statuses/{pull.head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "draft": False,
        }
        if full:
            data.update(
                {
                    "merged": False,
                    "mergeable": None,
                    "rebaseable": None,
                    "mergeable_state": "unknown",
                    "merged_by": None,
                    "comments": len(s.comments_on(pull.number)),
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 10,
                    "deletions": 2,
                    "changed_files": 2,
                }
            )
        return data

    def asset(self, asset: Asset) -> dict[str, Any]:
        release = self.state.releases[asset.release_id]
        return {
            "url": f"{self.repo_api}/releases/assets/{asset.id}",
            "id": asset.id,
            "node_id": node_id("ReleaseAsset", asset.id),
            "name": asset.name,
            "label": asset.label,
            "uploader": self.user(asset.login),
            "content_type": asset.content_type,
            "state": asset.state,
            "size": len(asset.data),
            "digest": asset.digest,
            "download_count": 0,
            "created_at": iso(asset.created_at),
            "updated_at": iso(asset.created_at),
            "browser_download_url": f"{self.repo_web}/releases/download/"
            f"{release.tag_name}/{asset.name}",
        }

    def release(self, release: Release) -> dict[str, Any]:
        url = f"{self.repo_api}/releases/{release.id}"
        tag_path = release.tag_name if not release.draft else f"untagged-{release.id:x}"
        uploads_repo = f"{self.uploads}/repos/{self.state.owner}/{self.state.name}"
        return {
            "url": url,
            "assets_url": f"{url}/assets",
            "upload_url": f"{uploads_repo}/releases/{release.id}/assets{{?name,label}}",
            "html_url": f"{self.repo_web}/releases/tag/{tag_path}",
            "id": release.id,
            "author": self.user(release.login),
            "node_id": node_id("Release", release.id),
            "tag_name": release.tag_name,
            "target_commitish": release.target_commitish,
            "name": release.name,
            "draft": release.draft,
            "immutable": False,
            "prerelease": release.prerelease,
            "created_at": iso(release.created_at),
            "updated_at": iso(release.created_at),
            "published_at": iso(release.published_at) if release.published_at else None,
            "assets": [self.asset(a) for a in self.state.release_assets(release)],
            "tarball_url": f"{self.repo_api}/tarball/{release.tag_name}",
            "zipball_url": f"{self.repo_api}/zipball/{release.tag_name}",
            "body": release.body,
        }

    def app(self) -> dict[str, Any]:
        return {
            "id": 15368,
            "slug": "github-actions",
            "node_id": node_id("Integration", 15368),
            "owner": self.user("github"),
            "name": "GitHub Actions",
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": f"{self.web}/apps/github-actions",
            "created_at": iso(EPOCH - timedelta(days=2000)),
            "updated_at": iso(EPOCH - timedelta(days=10)),
            "permissions": {"checks": "write", "contents": "write"},
            "events": ["check_run", "push"],
        }

    def check_run(self, run: CheckRun) -> dict[str, Any]:
        url = f"{self.repo_api}/check-runs/{run.id}"
        return {
            "id": run.id,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": url,
            "html_url": f"{self.repo_web}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at) if run.completed_at else None,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": 0,
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {"id": 9_000_000 + run.id % 1000},
            "app": self.app(),
            "pull_requests": [],
        }

    def status(self, status: Status) -> dict[str, Any]:
        return {
            "url": f"{self.repo_api}/statuses/{status.sha}",
            "avatar_url": self.user(status.login)["avatar_url"],
            "id": status.id,
            "node_id": node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
            "creator": self.user(status.login),
        }

    def deployment(self, deployment: Deployment) -> dict[str, Any]:
        url = f"{self.repo_api}/deployments/{deployment.id}"
        return {
            "url": url,
            "id": deployment.id,
            "node_id": node_id("Deployment", deployment.id),
            "sha": deployment.sha,
            "ref": deployment.ref,
            "task": deployment.task,
            "payload": deployment.payload,
            "original_environment": deployment.environment,
            "environment": deployment.environment,
            "description": deployment.description,
            "creator": self.user(deployment.login),
            "created_at": iso(deployment.created_at),
            "updated_at": iso(deployment.created_at),
            "statuses_url": f"{url}/statuses",
            "repository_url": self.repo_api,
            "transient_environment": False,
            "production_environment": deployment.environment == "production",
        }

    def deployment_status(self, status: DeploymentStatus) -> dict[str, Any]:
        deployment_url = f"{self.repo_api}/deployments/{status.deployment_id}"
        return {
            "url": f"{deployment_url}/statuses/{status.id}",
            "id": status.id,
            "node_id": node_id("DeploymentStatus", status.id),
            "state": status.state,
            "creator": self.user(status.login),
            "description": status.description,
            "environment": status.environment,
            "target_url": status.log_url,
            "log_url": status.log_url,
            "environment_url": status.environment_url,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.created_at),
            "deployment_url": deployment_url,
            "repository_url": self.repo_api,
        }
