"""Check requests and responses against GitHub's OpenAPI description (the subset).

The description is kept in the repository in ``tests/data/github/openapi/``. It
is loaded once per process with openapi-core. The few places where GitHub's real
traffic and its own description disagree are relaxed here, each by name (see
``tests/data/github/README.md``); nothing else is relaxed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from github_data import GITHUB_DATA, github_data

SPEC_PATH = GITHUB_DATA / "openapi" / "github-subset.json"
RECORDED_DIR = GITHUB_DATA / "recorded"

API_HOST = "https://api.github.com"
UPLOADS_HOST = "https://uploads.github.com"


def require_spec() -> Path:
    """The OpenAPI subset; a missing file fails the test (it never skips)."""
    return github_data("openapi", "github-subset.json")


# --- Known gaps between the description and GitHub's real traffic ---------------


def _drop_required(schema: str, prop: str) -> Callable[[dict[str, Any]], None]:
    def patch(spec: dict[str, Any]) -> None:
        required = spec["components"]["schemas"][schema]["required"]
        assert prop in required, f"gap {schema}.{prop} no longer exists in the description"
        required.remove(prop)

    return patch


def _allow_null_in_enum(schema: str, prop: str) -> Callable[[dict[str, Any]], None]:
    def patch(spec: dict[str, Any]) -> None:
        node = spec["components"]["schemas"][schema]["properties"][prop]
        assert node.get("nullable"), f"gap {schema}.{prop} changed"
        assert None not in node["enum"], f"gap {schema}.{prop} is fixed in the description"
        node["enum"] = [*node["enum"], None]

    return patch


def _any_upload_content_type(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/repos/{owner}/{repo}/releases/{release_id}/assets"]["post"][
        "requestBody"
    ]
    schema = body["content"]["application/octet-stream"]["schema"]
    body["content"]["*/*"] = {"schema": copy.deepcopy(schema)}


#: Every relaxation, by name. Add one only for a documented spec/reality gap.
KNOWN_GAPS: dict[str, Callable[[dict[str, Any]], None]] = {
    # Recordings predate the field; the description made it required later.
    "release-asset.digest required later": _drop_required("release-asset", "digest"),
    "full-repository.has_discussions required later": _drop_required(
        "full-repository", "has_discussions"
    ),
    # Marked nullable, but the enum lacks null, and GitHub sends null.
    "issue.state_reason null": _allow_null_in_enum("issue", "state_reason"),
    "check-run.conclusion null while in progress": _allow_null_in_enum("check-run", "conclusion"),
    # The description lists only application/octet-stream; clients (PyGithub
    # included) send the asset's own media type, and GitHub stores it.
    "upload-release-asset content type": _any_upload_content_type,
}


@cache
def raw_spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(require_spec().read_text(encoding="utf-8"))
    return data


@cache
def _openapi(relaxed: bool) -> Any:
    from openapi_core import OpenAPI

    spec = copy.deepcopy(raw_spec())
    if relaxed:
        for patch in KNOWN_GAPS.values():
            patch(spec)
    return OpenAPI.from_dict(spec)


# --- openapi-core request/response adapters ------------------------------------


class _Request:
    def __init__(
        self,
        *,
        host_url: str,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
        content_type: str,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host_url
        self.method = method.lower()
        self.path = path
        self.body = body
        self.content_type = content_type.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(
        self, *, status: int, headers: Mapping[str, str], body: bytes | None, content_type: str
    ) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = status
        self.headers = Headers(list(headers.items()))
        self.data = body
        self.content_type = content_type.lower()


@dataclass
class Exchange:
    """One request and its response, as the validator sees them."""

    method: str
    path: str  # without the api/uploads prefix
    upload: bool
    query: list[tuple[str, str]]
    request_headers: dict[str, str]
    request_body: bytes | None
    request_content_type: str
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes | None = None
    response_content_type: str = "application/json; charset=utf-8"

    def _request(self) -> _Request:
        return _Request(
            host_url=UPLOADS_HOST if self.upload else API_HOST,
            method=self.method,
            path=self.path,
            query=self.query,
            headers=self.request_headers,
            body=self.request_body,
            content_type=self.request_content_type,
        )

    def _response(self) -> _Response:
        return _Response(
            status=self.status,
            headers=self.response_headers,
            body=self.response_body,
            content_type=self.response_content_type,
        )


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None) or getattr(exc, "schema_errors", None)
    if errors:
        parts.extend(
            f"  - {getattr(e, 'json_path', '')}: {getattr(e, 'message', e)}" for e in errors
        )
    elif cause is not None:
        parts.append(f"  caused by {type(cause).__name__}: {cause}")
    return "\n".join(parts)


def validate_request(exchange: Exchange, *, relaxed: bool = True) -> str | None:
    """Return a description of what is wrong with the request, or None."""
    try:
        _openapi(relaxed).validate_request(exchange._request())
    except Exception as exc:
        return _describe(exc)
    return None


def validate_response(exchange: Exchange, *, relaxed: bool = True) -> str | None:
    """Return a description of what is wrong with the response, or None."""
    try:
        _openapi(relaxed).validate_response(exchange._request(), exchange._response())
    except Exception as exc:
        return _describe(exc)
    return None


def validate_error_body(body: Any) -> str | None:
    """Injected faults answer with GitHub's error shape (`basic-error`)."""
    if not isinstance(body, dict):
        return f"error body is not an object: {body!r}"
    if not isinstance(body.get("message"), str):
        return "error body has no string `message`"
    if "documentation_url" in body and not isinstance(body["documentation_url"], str):
        return "error body `documentation_url` is not a string"
    return None
