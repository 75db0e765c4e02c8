"""Deployments and their statuses, through the REST endpoints (PyGithub's objects
cannot create a deployment without auto-merge and required contexts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .client import STATUS_DESCRIPTION_LIMIT, GitHubClient
from .results import DeploymentResult


class DeploymentsMixin(GitHubClient):
    """Deployments of a ref to an environment."""

    def _deployments(self, environment: str, ref: str | None = None) -> list[dict[str, Any]]:
        query = {"environment": environment, "per_page": "100"}
        if ref is not None:
            query["ref"] = ref

        def fetch() -> list[dict[str, Any]]:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET", f"{self._path}/deployments", parameters=query
            )
            return list(data or [])

        return self._call("deployment", fetch, idempotent=True)

    @staticmethod
    def _deployment_result(data: Mapping[str, Any], state: str | None = None) -> DeploymentResult:
        return DeploymentResult(
            id=int(data["id"]),
            ref=str(data["ref"]),
            sha=str(data["sha"]),
            environment=str(data["environment"]),
            url=str(data["url"]),
            state=state,
        )

    def create_deployment(
        self,
        ref: str,
        environment: str,
        *,
        payload: Mapping[str, Any] | None = None,
        description: str = "",
        task: str = "deploy",
    ) -> DeploymentResult:
        """Create a deployment of `ref` to `environment` (no auto-merge, no required contexts)."""
        before = {d["id"] for d in self._deployments(environment, ref)}
        body = {
            "ref": ref,
            "environment": environment,
            "task": task,
            "payload": dict(payload or {}),
            "description": description,
            "auto_merge": False,
            "required_contexts": [],
        }

        def recheck() -> Any:
            for data in self._deployments(environment, ref):
                if data["id"] not in before and data.get("payload") == body["payload"]:
                    return data
            return None

        data = self._post_json(
            "deployment", f"{self._path}/deployments", body, idempotent=False, recheck=recheck
        )
        return self._deployment_result(data)

    def set_deployment_status(
        self,
        deployment_id: int,
        state: Literal[
            "error", "failure", "inactive", "in_progress", "queued", "pending", "success"
        ],
        *,
        environment_url: str | None = None,
        log_url: str | None = None,
        description: str = "",
    ) -> None:
        """Add a status to a deployment (the latest wins: safe to repeat)."""
        body: dict[str, Any] = {
            "state": state,
            "description": description[:STATUS_DESCRIPTION_LIMIT],
        }
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        self._post_json(
            "deployment",
            f"{self._path}/deployments/{deployment_id}/statuses",
            body,
            idempotent=True,
        )

    def latest_deployment(self, environment: str) -> DeploymentResult | None:
        """The newest deployment to `environment`, with its latest status."""
        deployments = self._deployments(environment)
        if not deployments:
            return None
        newest = deployments[0]

        def statuses() -> list[dict[str, Any]]:
            _, data = self._gh.requester.requestJsonAndCheck(
                "GET",
                f"{self._path}/deployments/{newest['id']}/statuses",
                parameters={"per_page": "1"},
            )
            return list(data or [])

        found = self._call("deployment", statuses, idempotent=True)
        return self._deployment_result(newest, found[0]["state"] if found else None)

    def mark_deployment_inactive(self, deployment_id: int, description: str = "") -> None:
        """Mark a deployment inactive (what GitHub shows for one that was replaced)."""
        self.set_deployment_status(deployment_id, "inactive", description=description)
