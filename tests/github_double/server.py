"""A stateful GitHub REST double: a real HTTP server on 127.0.0.1.

It serves the operations of tests/data/github/openapi/github-subset.json that the
adapter uses, on the API host and (under a path prefix of the same server) on
the uploads host. Every request and every response is checked against the
description; a mismatch is kept in `violations` and fails the test that saw it.
A per-test fault plan fails chosen calls of an operation.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import validation
from .state import (
    Asset,
    CheckRun,
    Comment,
    Deployment,
    DeploymentStatus,
    Dispatch,
    Issue,
    Release,
    Renderer,
    RepoState,
    Status,
)

DOCS = "https://docs.github.com/rest"
JOB_TOKEN_LOGIN = "github-actions[bot]"

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "429",
    "secondary_rate_limit",
    "rate_limit",
    "drop",
    "422",
    "forbidden",
)


@dataclass
class Fault:
    """Fail calls `nth` .. `nth + times - 1` of `operation_id` with `kind`.

    With `after_effect`, the operation is carried out first and its answer is
    then replaced by the fault: what a proxy timeout after a successful write
    looks like to the client.
    """

    operation_id: str
    kind: str
    nth: int = 1
    times: int = 1
    after_effect: bool = False
    retry_after: int = 1

    def covers(self, call: int) -> bool:
        return self.nth <= call < self.nth + self.times


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoggedCall:
    method: str
    path: str
    operation_id: str
    status: int  # 0 for a dropped connection
    fault: str | None


class ApiError(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def not_found() -> ApiError:
    return ApiError(
        Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
    )


def validation_failed(resource: str, code: str, field_name: str, **extra: Any) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field_name, **extra}
    return ApiError(
        Reply(
            422,
            {
                "message": "Validation Failed",
                "errors": [error],
                "documentation_url": DOCS,
                "status": "422",
            },
        )
    )


Handler = Callable[["Call"], Reply]


@dataclass
class Call:
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    raw: bytes
    headers: dict[str, str]

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


class GitHubDouble:
    """A running double. Use `base_url` as PyGithub's base_url / GITHUB_API_URL."""

    def __init__(
        self,
        *,
        owner: str = "octo-org",
        repo: str = "mlops-demo",
        login: str = JOB_TOKEN_LOGIN,
        api_prefix: str = "",
        uploads_prefix: str = "/uploads",
        web_url: str = "https://github.com",
    ) -> None:
        self.login = login
        self.api_prefix = api_prefix.rstrip("/")
        self.uploads_prefix = uploads_prefix.rstrip("/")
        self.web_url = web_url
        self.state = RepoState(owner, repo)
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.log: list[LoggedCall] = []
        self.calls: Counter[str] = Counter()
        self.authorizations: set[str] = set()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> GitHubDouble:
        double = self

        class RequestHandler(_RequestHandler):
            owner = double

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "the double is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + self.api_prefix

    @property
    def uploads_url(self) -> str:
        return self.origin + self.uploads_prefix

    @property
    def repository(self) -> str:
        return f"{self.state.owner}/{self.state.name}"

    @property
    def render(self) -> Renderer:
        return Renderer(self.state, self.base_url, self.uploads_url, self.web_url)

    # --- fault plan ---------------------------------------------------------------------

    def fail(
        self,
        operation_id: str,
        kind: str,
        *,
        nth: int = 1,
        times: int = 1,
        after_effect: bool = False,
        retry_after: int = 1,
    ) -> Fault:
        assert kind in FAULT_KINDS, kind
        assert operation_id in self._operation_ids(), f"unknown operation {operation_id}"
        fault = Fault(operation_id, kind, nth, times, after_effect, retry_after)
        self.faults.append(fault)
        return fault

    def _operation_ids(self) -> set[str]:
        return {op for _, _, op, _ in self._routes}

    def calls_of(self, operation_id: str) -> list[LoggedCall]:
        return [c for c in self.log if c.operation_id == operation_id]

    # --- routing -----------------------------------------------------------------------

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        table: list[tuple[str, str, str, Handler]] = [
            ("GET", "/user", "users/get-authenticated", self._get_user),
            ("GET", "/repos/{owner}/{repo}", "repos/get", self._get_repo),
            ("GET", "/repos/{owner}/{repo}/issues/{issue_number}", "issues/get", self._get_issue),
            (
                "GET",
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                "issues/list-comments",
                self._list_comments,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                "issues/create-comment",
                self._create_comment,
            ),
            (
                "PATCH",
                "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                "issues/update-comment",
                self._update_comment,
            ),
            (
                "DELETE",
                "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                "issues/delete-comment",
                self._delete_comment,
            ),
            ("GET", "/repos/{owner}/{repo}/issues", "issues/list-for-repo", self._list_issues),
            ("POST", "/repos/{owner}/{repo}/issues", "issues/create", self._create_issue),
            (
                "PATCH",
                "/repos/{owner}/{repo}/issues/{issue_number}",
                "issues/update",
                self._update_issue,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/issues/{issue_number}/labels",
                "issues/add-labels",
                self._add_labels,
            ),
            ("POST", "/repos/{owner}/{repo}/check-runs", "checks/create", self._create_check),
            (
                "PATCH",
                "/repos/{owner}/{repo}/check-runs/{check_run_id}",
                "checks/update",
                self._update_check,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/check-runs/{check_run_id}",
                "checks/get",
                self._get_check,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/statuses/{sha}",
                "repos/create-commit-status",
                self._create_status,
            ),
            ("GET", "/repos/{owner}/{repo}/releases", "repos/list-releases", self._list_releases),
            (
                "POST",
                "/repos/{owner}/{repo}/releases",
                "repos/create-release",
                self._create_release,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/releases/tags/{tag}",
                "repos/get-release-by-tag",
                self._get_release_by_tag,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/releases/assets/{asset_id}",
                "repos/get-release-asset",
                self._get_asset,
            ),
            (
                "DELETE",
                "/repos/{owner}/{repo}/releases/assets/{asset_id}",
                "repos/delete-release-asset",
                self._delete_asset,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/releases/{release_id}",
                "repos/get-release",
                self._get_release,
            ),
            (
                "PATCH",
                "/repos/{owner}/{repo}/releases/{release_id}",
                "repos/update-release",
                self._update_release,
            ),
            (
                "DELETE",
                "/repos/{owner}/{repo}/releases/{release_id}",
                "repos/delete-release",
                self._delete_release,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/releases/{release_id}/assets",
                "repos/list-release-assets",
                self._list_assets,
            ),
            (
                "UPLOAD",
                "/repos/{owner}/{repo}/releases/{release_id}/assets",
                "repos/upload-release-asset",
                self._upload_asset,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/deployments",
                "repos/create-deployment",
                self._create_deployment,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/deployments",
                "repos/list-deployments",
                self._list_deployments,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
                "repos/create-deployment-status",
                self._create_deployment_status,
            ),
            (
                "GET",
                "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
                "repos/list-deployment-statuses",
                self._list_deployment_statuses,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
                "actions/create-workflow-dispatch",
                self._workflow_dispatch,
            ),
            (
                "POST",
                "/repos/{owner}/{repo}/dispatches",
                "repos/create-dispatch-event",
                self._repository_dispatch,
            ),
            ("GET", "/repos/{owner}/{repo}/pulls", "pulls/list", self._list_pulls),
            ("POST", "/repos/{owner}/{repo}/pulls", "pulls/create", self._create_pull),
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "pulls/get", self._get_pull),
        ]
        routes = []
        for method, template, op, handler in table:
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            routes.append((method, re.compile(f"^{pattern}$"), op, handler))
        return routes

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for route_method, pattern, op, handler in self._routes:
            if route_method != method:
                continue
            found = pattern.match(path)
            if found:
                params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                return op, handler, params
        return None

    # --- helpers -------------------------------------------------------------------------

    def _check_repo(self, call: Call) -> None:
        if (call.params.get("owner"), call.params.get("repo")) != (
            self.state.owner,
            self.state.name,
        ):
            raise not_found()

    def _int(self, call: Call, name: str) -> int:
        try:
            return int(call.params[name])
        except ValueError:
            raise not_found() from None

    def _paginate(self, call: Call, path: str, items: list[Any]) -> Reply:
        per_page = min(int(call.q("per_page", "30") or 30), 100)
        page = max(int(call.q("page", "1") or 1), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        base_query = [(k, v) for k, vs in call.query.items() for v in vs if k not in ("page",)]
        if "per_page" not in call.query:
            base_query.append(("per_page", str(per_page)))

        def link(number: int, rel: str) -> str:
            query = urllib.parse.urlencode([*base_query, ("page", str(number))])
            return f'<{self.base_url}{path}?{query}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, chunk, headers)

    def _issue(self, call: Call) -> Issue:
        self._check_repo(call)
        issue = self.state.issues.get(self._int(call, "issue_number"))
        if issue is None:
            raise not_found()
        return issue

    # --- handlers: users and repository ----------------------------------------------------

    def _get_user(self, call: Call) -> Reply:
        if self.login == JOB_TOKEN_LOGIN:
            return Reply(
                403,
                {
                    "message": "Resource not accessible by integration",
                    "documentation_url": f"{DOCS}/users/users#get-the-authenticated-user",
                    "status": "403",
                },
            )
        return Reply(200, self.render.user(self.login, detailed=True))

    def _get_repo(self, call: Call) -> Reply:
        self._check_repo(call)
        return Reply(200, self.render.repository(full=True))

    # --- issues and comments -------------------------------------------------------------

    def _get_issue(self, call: Call) -> Reply:
        return Reply(200, self.render.issue(self._issue(call)))

    def _list_comments(self, call: Call) -> Reply:
        issue = self._issue(call)
        comments = [self.render.comment(c) for c in self.state.comments_on(issue.number)]
        path = f"/repos/{self.state.owner}/{self.state.name}/issues/{issue.number}/comments"
        return self._paginate(call, path, comments)

    def _create_comment(self, call: Call) -> Reply:
        issue = self._issue(call)
        comment = self.state.add_comment(issue.number, call.body["body"], self.login)
        data = self.render.comment(comment)
        return Reply(201, data, {"Location": data["url"]})

    def _comment(self, call: Call) -> Comment:
        self._check_repo(call)
        comment = self.state.comments.get(self._int(call, "comment_id"))
        if comment is None:
            raise not_found()
        return comment

    def _update_comment(self, call: Call) -> Reply:
        comment = self._comment(call)
        comment.body = call.body["body"]
        comment.updated_at = self.state.now()
        return Reply(200, self.render.comment(comment))

    def _delete_comment(self, call: Call) -> Reply:
        comment = self._comment(call)
        del self.state.comments[comment.id]
        return Reply(204)

    def _list_issues(self, call: Call) -> Reply:
        self._check_repo(call)
        state = call.q("state", "open")
        wanted = [name for name in (call.q("labels") or "").split(",") if name]
        issues = [
            i
            for i in self.state.issues.values()
            if (state == "all" or i.state == state)
            and all(name.lower() in {x.lower() for x in i.labels} for name in wanted)
        ]
        reverse = call.q("direction", "desc") == "desc"
        issues.sort(key=lambda i: (i.created_at, i.number), reverse=reverse)
        path = f"/repos/{self.state.owner}/{self.state.name}/issues"
        return self._paginate(call, path, [self.render.issue(i) for i in issues])

    def _create_issue(self, call: Call) -> Reply:
        self._check_repo(call)
        title = call.body.get("title")
        if not title:
            raise validation_failed("Issue", "missing_field", "title")
        issue = self.state.add_issue(
            title=str(title),
            body=call.body.get("body"),
            labels=list(call.body.get("labels") or []),
            login=self.login,
        )
        data = self.render.issue(issue)
        return Reply(201, data, {"Location": data["url"]})

    def _update_issue(self, call: Call) -> Reply:
        issue = self._issue(call)
        body = call.body
        if "title" in body:
            issue.title = body["title"]
        if "body" in body:
            issue.body = body["body"]
        if "labels" in body:
            issue.labels = [x if isinstance(x, str) else x["name"] for x in body["labels"]]
        if "state" in body and body["state"] != issue.state:
            issue.state = body["state"]
            if issue.state == "closed":
                issue.closed_at = self.state.now()
                issue.state_reason = body.get("state_reason") or "completed"
            else:
                issue.closed_at = None
                issue.state_reason = "reopened"
        issue.updated_at = self.state.now()
        return Reply(200, self.render.issue(issue))

    def _add_labels(self, call: Call) -> Reply:
        issue = self._issue(call)
        body = call.body
        names = body.get("labels", []) if isinstance(body, dict) else body
        for entry in names:
            name = entry if isinstance(entry, str) else entry["name"]
            if name not in issue.labels:
                issue.labels.append(name)
        return Reply(200, [self.render.label(name) for name in issue.labels])

    # --- checks and statuses ------------------------------------------------------------

    def _create_check(self, call: Call) -> Reply:
        self._check_repo(call)
        body = call.body
        conclusion = body.get("conclusion")
        status = "completed" if conclusion else body.get("status", "queued")
        moment = self.state.now()
        output = body.get("output") or {}
        run = CheckRun(
            id=self.state.next_id(),
            name=body["name"],
            head_sha=body["head_sha"],
            status=status,
            conclusion=conclusion,
            started_at=moment,
            completed_at=moment if status == "completed" else None,
            details_url=body.get("details_url"),
            external_id=body.get("external_id", ""),
            title=output.get("title"),
            summary=output.get("summary"),
            text=output.get("text"),
        )
        self._check_output_limits(output)
        self.state.check_runs[run.id] = run
        return Reply(201, self.render.check_run(run))

    @staticmethod
    def _check_output_limits(output: dict[str, Any]) -> None:
        for key in ("summary", "text"):
            value = output.get(key)
            if isinstance(value, str) and len(value) > 65_535:
                raise validation_failed(
                    "CheckRun",
                    "custom",
                    f"output.{key}",
                    message=f"Only 65535 characters are allowed; {len(value)} were supplied.",
                )

    def _run(self, call: Call) -> CheckRun:
        self._check_repo(call)
        run = self.state.check_runs.get(self._int(call, "check_run_id"))
        if run is None:
            raise not_found()
        return run

    def _update_check(self, call: Call) -> Reply:
        run = self._run(call)
        body = call.body
        output = body.get("output") or {}
        self._check_output_limits(output)
        if "conclusion" in body:
            run.conclusion = body["conclusion"]
            run.status = "completed"
        elif "status" in body:
            run.status = body["status"]
        if run.status == "completed" and run.completed_at is None:
            run.completed_at = self.state.now()
        if output:
            run.title = output.get("title", run.title)
            run.summary = output.get("summary", run.summary)
            run.text = output.get("text", run.text)
        if "details_url" in body:
            run.details_url = body["details_url"]
        return Reply(200, self.render.check_run(run))

    def _get_check(self, call: Call) -> Reply:
        return Reply(200, self.render.check_run(self._run(call)))

    def _create_status(self, call: Call) -> Reply:
        self._check_repo(call)
        body = call.body
        description = body.get("description")
        if description is not None and len(description) > 140:
            raise validation_failed("Status", "custom", "description")
        status = Status(
            id=self.state.next_id(),
            sha=call.params["sha"],
            state=body["state"],
            context=body.get("context", "default"),
            description=description,
            target_url=body.get("target_url"),
            login=self.login,
            created_at=self.state.now(),
        )
        self.state.statuses.append(status)
        data = self.render.status(status)
        return Reply(201, data, {"Location": data["url"]})

    # --- releases and assets -----------------------------------------------------------------

    def _release(self, call: Call) -> Release:
        self._check_repo(call)
        release = self.state.releases.get(self._int(call, "release_id"))
        if release is None:
            raise not_found()
        return release

    def _list_releases(self, call: Call) -> Reply:
        self._check_repo(call)
        releases = sorted(self.state.releases.values(), key=lambda r: r.created_at, reverse=True)
        path = f"/repos/{self.state.owner}/{self.state.name}/releases"
        return self._paginate(call, path, [self.render.release(r) for r in releases])

    def _create_release(self, call: Call) -> Reply:
        self._check_repo(call)
        body = call.body
        tag = body["tag_name"]
        if any(not r.draft for r in self.state.releases_for_tag(tag)):
            raise validation_failed("Release", "already_exists", "tag_name")
        moment = self.state.now()
        draft = bool(body.get("draft", False))
        release = Release(
            id=self.state.next_id(),
            tag_name=tag,
            name=body.get("name"),
            body=body.get("body"),
            draft=draft,
            prerelease=bool(body.get("prerelease", False)),
            target_commitish=body.get("target_commitish", self.state.default_branch),
            login=self.login,
            created_at=moment,
            published_at=None if draft else moment,
        )
        self.state.releases[release.id] = release
        data = self.render.release(release)
        return Reply(201, data, {"Location": data["url"]})

    def _get_release_by_tag(self, call: Call) -> Reply:
        self._check_repo(call)
        for release in self.state.releases_for_tag(call.params["tag"]):
            if not release.draft:  # drafts are invisible here, as on GitHub
                return Reply(200, self.render.release(release))
        raise not_found()

    def _get_release(self, call: Call) -> Reply:
        return Reply(200, self.render.release(self._release(call)))

    def _update_release(self, call: Call) -> Reply:
        release = self._release(call)
        body = call.body
        if "tag_name" in body:
            release.tag_name = body["tag_name"]
        for key in ("name", "body", "target_commitish", "prerelease"):
            if key in body:
                setattr(release, key, body[key])
        if "draft" in body:
            if release.draft and not body["draft"]:
                if any(
                    not other.draft and other.id != release.id
                    for other in self.state.releases_for_tag(release.tag_name)
                ):
                    raise validation_failed("Release", "already_exists", "tag_name")
                release.published_at = self.state.now()
            release.draft = bool(body["draft"])
        return Reply(200, self.render.release(release))

    def _delete_release(self, call: Call) -> Reply:
        release = self._release(call)
        for asset_id in release.asset_ids:
            self.state.assets.pop(asset_id, None)
        del self.state.releases[release.id]
        return Reply(204)

    def _list_assets(self, call: Call) -> Reply:
        release = self._release(call)
        assets = [self.render.asset(a) for a in self.state.release_assets(release)]
        path = f"/repos/{self.state.owner}/{self.state.name}/releases/{release.id}/assets"
        return self._paginate(call, path, assets)

    def _upload_asset(self, call: Call) -> Reply:
        release = self._release(call)
        name = call.q("name")
        if not name:
            raise validation_failed("ReleaseAsset", "missing_field", "name")
        if any(a.name == name for a in self.state.release_assets(release)):
            raise ApiError(
                Reply(
                    422,
                    {
                        "message": "Validation Failed",
                        "request_id": "0000:00000:0000000:0000000:00000000",
                        "documentation_url": DOCS,
                        "errors": [
                            {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
                        ],
                    },
                )
            )
        asset = Asset(
            id=self.state.next_id(),
            release_id=release.id,
            name=name,
            label=call.q("label", "") or "",
            content_type=call.headers.get("content-type", "application/octet-stream"),
            data=call.raw,
            login=self.login,
            created_at=self.state.now(),
        )
        self.state.assets[asset.id] = asset
        release.asset_ids.append(asset.id)
        return Reply(201, self.render.asset(asset))

    def _asset(self, call: Call) -> Asset:
        self._check_repo(call)
        asset = self.state.assets.get(self._int(call, "asset_id"))
        if asset is None:
            raise not_found()
        return asset

    def _get_asset(self, call: Call) -> Reply:
        return Reply(200, self.render.asset(self._asset(call)))

    def _delete_asset(self, call: Call) -> Reply:
        asset = self._asset(call)
        del self.state.assets[asset.id]
        self.state.releases[asset.release_id].asset_ids.remove(asset.id)
        return Reply(204)

    # --- deployments ----------------------------------------------------------------------

    def _create_deployment(self, call: Call) -> Reply:
        self._check_repo(call)
        body = call.body
        ref = body["ref"]
        sha = self.state.branches.get(ref) or (ref if re.fullmatch(r"[0-9a-f]{40}", ref) else None)
        if sha is None:
            raise ApiError(
                Reply(422, {"message": f"No ref found for: {ref}", "documentation_url": DOCS})
            )
        deployment = Deployment(
            id=self.state.next_id(),
            sha=sha,
            ref=ref,
            task=body.get("task", "deploy"),
            environment=body.get("environment", "production"),
            payload=body.get("payload", {}),
            description=body.get("description"),
            login=self.login,
            created_at=self.state.now(),
            auto_merge=body.get("auto_merge", True),
            required_contexts=body.get("required_contexts"),
        )
        self.state.deployments[deployment.id] = deployment
        return Reply(201, self.render.deployment(deployment))

    def _list_deployments(self, call: Call) -> Reply:
        self._check_repo(call)
        found = [
            d
            for d in self.state.deployments.values()
            if all(
                call.q(key) in (None, getattr(d, key))
                for key in ("sha", "ref", "task", "environment")
            )
        ]
        found.sort(key=lambda d: d.id, reverse=True)
        path = f"/repos/{self.state.owner}/{self.state.name}/deployments"
        return self._paginate(call, path, [self.render.deployment(d) for d in found])

    def _deployment(self, call: Call) -> Deployment:
        self._check_repo(call)
        deployment = self.state.deployments.get(self._int(call, "deployment_id"))
        if deployment is None:
            raise not_found()
        return deployment

    def _create_deployment_status(self, call: Call) -> Reply:
        deployment = self._deployment(call)
        body = call.body
        log_url = body.get("log_url") or body.get("target_url", "")
        status = DeploymentStatus(
            id=self.state.next_id(),
            deployment_id=deployment.id,
            state=body["state"],
            description=body.get("description", ""),
            environment=body.get("environment", deployment.environment),
            environment_url=body.get("environment_url", ""),
            log_url=log_url,
            login=self.login,
            created_at=self.state.now(),
        )
        self.state.deployment_statuses[status.id] = status
        if status.state == "success" and body.get("auto_inactive", True):
            # GitHub marks earlier deployments of the environment inactive.
            for other in self.state.deployments.values():
                if other.environment == deployment.environment and other.id != deployment.id:
                    latest = self.latest_deployment_status(other.id)
                    if latest is not None and latest.state == "success":
                        self.state.deployment_statuses[self.state.next_id()] = DeploymentStatus(
                            id=self.state.next_id(),
                            deployment_id=other.id,
                            state="inactive",
                            description="",
                            environment=other.environment,
                            environment_url=latest.environment_url,
                            log_url=latest.log_url,
                            login=self.login,
                            created_at=self.state.now(),
                        )
        return Reply(201, self.render.deployment_status(status))

    def deployment_statuses_of(self, deployment_id: int) -> list[DeploymentStatus]:
        return sorted(
            (
                s
                for s in self.state.deployment_statuses.values()
                if s.deployment_id == deployment_id
            ),
            key=lambda s: s.id,
        )

    def latest_deployment_status(self, deployment_id: int) -> DeploymentStatus | None:
        statuses = self.deployment_statuses_of(deployment_id)
        return statuses[-1] if statuses else None

    def _list_deployment_statuses(self, call: Call) -> Reply:
        deployment = self._deployment(call)
        statuses = list(reversed(self.deployment_statuses_of(deployment.id)))
        path = f"/repos/{self.state.owner}/{self.state.name}/deployments/{deployment.id}/statuses"
        return self._paginate(call, path, [self.render.deployment_status(s) for s in statuses])

    # --- dispatch ------------------------------------------------------------------------

    def _workflow_dispatch(self, call: Call) -> Reply:
        self._check_repo(call)
        ref = call.body["ref"]
        if ref not in self.state.branches and not ref.startswith("refs/"):
            raise ApiError(
                Reply(422, {"message": f"No ref found for: {ref}", "documentation_url": DOCS})
            )
        self.state.dispatches.append(
            Dispatch(
                kind="workflow",
                workflow_id=call.params["workflow_id"],
                ref=ref,
                inputs=call.body.get("inputs"),
                event_type=None,
                client_payload=None,
            )
        )
        return Reply(204)

    def _repository_dispatch(self, call: Call) -> Reply:
        self._check_repo(call)
        self.state.dispatches.append(
            Dispatch(
                kind="repository",
                workflow_id=None,
                ref=None,
                inputs=None,
                event_type=call.body["event_type"],
                client_payload=call.body.get("client_payload"),
            )
        )
        return Reply(204)

    # --- pulls ------------------------------------------------------------------------------

    def _list_pulls(self, call: Call) -> Reply:
        self._check_repo(call)
        state = call.q("state", "open")
        head = call.q("head")
        base = call.q("base")
        pulls = [
            p
            for p in self.state.pulls()
            if (state == "all" or p.state == state)
            and (head is None or head == f"{self.state.owner}:{p.head_ref}")
            and (base is None or base == p.base_ref)
        ]
        pulls.sort(key=lambda p: p.number, reverse=True)
        path = f"/repos/{self.state.owner}/{self.state.name}/pulls"
        return self._paginate(call, path, [self.render.pull(p, full=False) for p in pulls])

    def _create_pull(self, call: Call) -> Reply:
        self._check_repo(call)
        body = call.body
        head = body["head"].split(":", 1)[-1]
        if head not in self.state.branches:
            raise validation_failed("PullRequest", "invalid", "head")
        for pull in self.state.pulls():
            if pull.state == "open" and pull.head_ref == head and pull.base_ref == body["base"]:
                raise validation_failed(
                    "PullRequest",
                    "custom",
                    "head",
                    message=f"A pull request already exists for {self.state.owner}:{head}.",
                )
        pull = self.state.add_pull(
            head=head,
            base=body["base"],
            title=body.get("title", head),
            login=self.login,
            head_sha=self.state.branches[head],
        )
        pull.body = body.get("body")
        data = self.render.pull(pull, full=True)
        return Reply(201, data, {"Location": data["url"]})

    def _get_pull(self, call: Call) -> Reply:
        self._check_repo(call)
        pull = self.state.issues.get(self._int(call, "pull_number"))
        if pull is None or not pull.is_pull:
            raise not_found()
        return Reply(200, self.render.pull(pull, full=True))

    # --- faults ----------------------------------------------------------------------------

    def fault_reply(self, fault: Fault) -> Reply | None:
        """The answer for a fault; None means drop the connection."""
        kind = fault.kind
        if kind == "drop":
            return None
        if kind in ("500", "502", "503"):
            messages = {"500": "Server Error", "502": "Bad Gateway", "503": "Service Unavailable"}
            return Reply(int(kind), {"message": messages[kind], "documentation_url": DOCS})
        if kind == "429":
            return Reply(
                429,
                {"message": "Too Many Requests", "documentation_url": DOCS},
                {"Retry-After": str(fault.retry_after)},
            )
        if kind == "secondary_rate_limit":
            return Reply(
                403,
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                    "minutes before you try again.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                },
                {"Retry-After": str(fault.retry_after)},
            )
        if kind == "rate_limit":
            reset = int(time.time()) + fault.retry_after
            return Reply(
                403,
                {
                    "message": "API rate limit exceeded for installation ID 1.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                },
                {
                    "X-RateLimit-Limit": "1000",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Used": "1000",
                    "X-RateLimit-Reset": str(reset),
                    "X-RateLimit-Resource": "core",
                },
            )
        if kind == "422":
            return Reply(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "invalid", "field": "body"}],
                    "documentation_url": DOCS,
                },
            )
        if kind == "forbidden":
            return Reply(
                403,
                {"message": "Resource not accessible by integration", "documentation_url": DOCS},
            )
        raise AssertionError(kind)

    def next_fault(self, operation_id: str, call_number: int) -> Fault | None:
        for fault in self.faults:
            if fault.operation_id == operation_id and fault.covers(call_number):
                return fault
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    owner: GitHubDouble
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    # Headers and body leave in one write (no Nagle/delayed-ACK stalls).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet; the double keeps its own log

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        double = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query_pairs = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        authorization = headers.pop("authorization", None)
        if authorization:
            double.authorizations.add(authorization)

        upload = False
        if double.uploads_prefix and path.startswith(double.uploads_prefix + "/"):
            upload = True
            path = path[len(double.uploads_prefix) :]
        elif double.api_prefix:
            if not path.startswith(double.api_prefix + "/"):
                self._send(Reply(404, {"message": "Not Found", "documentation_url": DOCS}))
                return
            path = path[len(double.api_prefix) :]
        # GitHub's own Link headers may use /repositories/{id}/...: same repository.
        alias = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if alias and int(alias.group(1)) == double.state.repo_id:
            path = f"/repos/{double.state.owner}/{double.state.name}{alias.group(2) or ''}"

        content_type = headers.get("content-type", "")
        exchange = validation.Exchange(
            method=method,
            path=path,
            upload=upload,
            query=query_pairs,
            request_headers=headers,
            request_body=raw if raw or method in ("POST", "PATCH", "PUT") else None,
            request_content_type=content_type or "application/json",
        )

        route_method = "UPLOAD" if upload and method == "POST" else method
        with double.lock:
            matched = double.match(route_method, path)
            if matched is None:
                double.violations.append(f"{method} {path}: not an operation the double serves")
                double.log.append(LoggedCall(method, path, "?", 404, None))
                self._send(Reply(404, {"message": "Not Found", "documentation_url": DOCS}))
                return
            operation_id, handler, params = matched
            double.calls[operation_id] += 1
            fault = double.next_fault(operation_id, double.calls[operation_id])

            problem = validation.validate_request(exchange)
            if problem:
                double.violations.append(f"request {method} {path} ({operation_id}): {problem}")

            body: Any = None
            if raw and not upload:
                try:
                    body = json.loads(raw)
                except ValueError:
                    double.violations.append(f"request {method} {path}: body is not JSON")
            call = Call(
                params=params,
                query={k: [v for kk, v in query_pairs if kk == k] for k, _ in query_pairs},
                body=body if body is not None else {},
                raw=raw,
                headers=headers,
            )

            if fault is not None and not fault.after_effect:
                reply: Reply | None = double.fault_reply(fault)
            else:
                try:
                    reply = handler(call)
                except ApiError as err:
                    reply = err.reply
                if fault is not None:
                    reply = double.fault_reply(fault)

            if reply is None:
                double.log.append(LoggedCall(method, path, operation_id, 0, fault and fault.kind))
                self._drop()
                return

            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            exchange.status = reply.status
            exchange.response_headers = dict(reply.headers)
            exchange.response_body = data or None
            exchange.response_content_type = "application/json; charset=utf-8"
            if fault is not None:
                problem = validation.validate_error_body(reply.body)
            else:
                problem = validation.validate_response(exchange)
            if problem:
                double.violations.append(
                    f"response {reply.status} to {method} {path} ({operation_id}): {problem}"
                )
            double.log.append(
                LoggedCall(method, path, operation_id, reply.status, fault and fault.kind)
            )
        self._send(reply, data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: Reply, data: bytes | None = None) -> None:
        if data is None:
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        self.send_header("X-GitHub-Request-Id", "0000:00000:0000000:0000000:00000000")
        if not any(k.lower() == "x-ratelimit-remaining" for k in reply.headers):
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", "4999")
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            self.send_header("X-RateLimit-Resource", "core")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)
