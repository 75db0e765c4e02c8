"""Releases and their assets, completed across runs: a run that dies half-way
leaves a draft that the next run finds (by its tag) and finishes."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.errors import GitHubError
from mlops_ci.report.budget import fit

from .client import RELEASE_BODY_LIMIT, GitHubClient
from .failures import classify
from .results import AssetResult, ReleaseResult

if TYPE_CHECKING:
    from github.GitRelease import GitRelease
    from github.GitReleaseAsset import GitReleaseAsset


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class _LocalAsset:
    """The file to upload, under the name it takes on the release."""

    path: Path
    name: str
    size: int
    digest: str
    content_type: str

    @classmethod
    def of(cls, path: Path, name: str) -> _LocalAsset:
        return cls(
            path=path,
            name=name,
            size=path.stat().st_size,
            digest=_sha256(path),
            content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        )

    def matches(self, asset: GitReleaseAsset) -> bool:
        """Whether `asset` is this file, fully uploaded (GitHub may not report a digest)."""
        if asset.state != "uploaded" or asset.size != self.size:
            return False
        remote = asset.digest
        return remote is None or remote == self.digest


def _asset_result(
    asset: GitReleaseAsset, action: Literal["uploaded", "reused", "replaced"]
) -> AssetResult:
    return AssetResult(asset.id, asset.name, asset.size, asset.browser_download_url, action)


class ReleasesMixin(GitHubClient):
    """Releases by tag, their notes and their assets."""

    def _find_release(self, tag: str) -> GitRelease | None:
        from github.GithubException import GithubException

        repo = self._repo()

        def by_tag() -> GitRelease | None:
            try:
                return repo.get_release(tag)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise

        published = self._call("release", by_tag, idempotent=True)
        if published is not None:
            return published

        def scan() -> GitRelease | None:
            # A draft is invisible to GET /releases/tags/{tag}: list and match.
            for release in repo.get_releases():
                if release.tag_name == tag:
                    return release
            return None

        return self._call("release", scan, idempotent=True)

    def find_release(self, tag: str) -> ReleaseResult | None:
        """The release for `tag`, draft or published, or None."""
        release = self._find_release(tag)
        return None if release is None else self._release_result(release)

    def ensure_draft_release(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        target_commitish: str | None = None,
        prerelease: bool = False,
    ) -> ReleaseResult:
        """The release for `tag`: the existing one (draft or published) or a new draft."""
        return self._release_result(
            self._ensure_release(
                tag,
                name=name,
                body=body,
                target_commitish=target_commitish,
                prerelease=prerelease,
            )
        )

    def _ensure_release(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        target_commitish: str | None,
        prerelease: bool,
    ) -> GitRelease:
        existing = self._find_release(tag)
        if existing is not None:
            return existing
        repo = self._repo()
        extra: dict[str, Any] = {}
        if target_commitish:
            extra["target_commitish"] = target_commitish
        return self._call(
            "release",
            lambda: repo.create_git_release(
                tag=tag,
                name=name,
                message=fit(body, limit=RELEASE_BODY_LIMIT),
                draft=True,
                prerelease=prerelease,
                **extra,
            ),
            idempotent=False,
            recheck=lambda: self._find_release(tag),
        )

    def _get_release(self, release_id: int) -> GitRelease:
        repo = self._repo()

        def get() -> GitRelease:
            release = repo.get_release(release_id)
            release.tag_name  # noqa: B018 -- completes the lazy object inside the retry loop
            return release

        return self._call("release", get, idempotent=True)

    def _assets(self, release: GitRelease) -> list[GitReleaseAsset]:
        return self._call("release", lambda: list(release.get_assets()), idempotent=True)

    def upload_asset(self, release_id: int, path: Path, *, name: str | None = None) -> AssetResult:
        """Upload `path` to the release, once: an equal asset is reused, a different one
        with the same name is replaced."""
        return self._upload(self._get_release(release_id), Path(path), name or Path(path).name)

    def _upload(self, release: GitRelease, path: Path, name: str) -> AssetResult:
        local = _LocalAsset.of(path, name)
        action: Literal["uploaded", "replaced"] = "uploaded"
        current = self._named_asset(release, name)
        if current is not None:
            if local.matches(current):
                return _asset_result(current, "reused")
            self._delete_asset(current)
            action = "replaced"
        uploaded = self._send_asset(release, local)
        if uploaded is None:
            return self._upload_over_conflict(release, local)
        return _asset_result(uploaded, action)

    def _named_asset(self, release: GitRelease, name: str) -> GitReleaseAsset | None:
        return next((a for a in self._assets(release) if a.name == name), None)

    def _send_asset(self, release: GitRelease, local: _LocalAsset) -> GitReleaseAsset | None:
        """Upload once; None when GitHub says an asset of that name already exists."""
        from github.GithubException import GithubException

        def send() -> GitReleaseAsset | None:
            try:
                return release.upload_asset(
                    str(local.path),
                    label=local.name,
                    content_type=local.content_type,
                    name=local.name,
                )
            except GithubException as exc:
                failure = classify(exc)
                if failure is not None and "already_exists" in failure.codes:
                    return None  # someone (an earlier attempt) got there first
                raise

        def recheck() -> GitReleaseAsset | None:
            found = self._named_asset(release, local.name)
            if found is None:
                return None
            if local.matches(found):
                return found
            self._delete_asset(found)  # a broken half-upload: clear it and retry
            return None

        return self._call("release", send, idempotent=False, recheck=recheck)

    def _upload_over_conflict(self, release: GitRelease, local: _LocalAsset) -> AssetResult:
        """GitHub said the asset exists: reuse it if it is this file, else replace it."""
        found = self._named_asset(release, local.name)
        if found is not None and local.matches(found):
            return _asset_result(found, "reused")
        if found is not None:
            self._delete_asset(found)
        uploaded = self._send_asset(release, local)
        if uploaded is None:
            raise GitHubError(
                f"GitHub keeps reporting asset {local.name!r} as already present on release "
                f"{release.tag_name} in {self.repository}, but it cannot be found.",
                hint="Delete the asset in the release page and re-run.",
            )
        return _asset_result(uploaded, "replaced")

    def _delete_asset(self, asset: GitReleaseAsset) -> None:
        self._call(
            "release",
            lambda: self._delete_quietly(asset.delete_asset),
            idempotent=True,
        )

    def publish_release(self, release_id: int) -> ReleaseResult:
        """Publish a draft (a no-op on a published release)."""
        release = self._get_release(release_id)
        if release.draft:
            release = self._call(
                "release",
                lambda: release.update_release(
                    name=release.name or release.tag_name,
                    message=release.body or "",
                    draft=False,
                    prerelease=release.prerelease,
                ),
                idempotent=True,
            )
        return self._release_result(release)

    def update_release_notes(self, release_id: int, body: str) -> ReleaseResult:
        """Replace the release notes (the release keeps its draft/published state)."""
        release = self._get_release(release_id)
        updated = self._call(
            "release",
            lambda: release.update_release(
                name=release.name or release.tag_name,
                message=fit(body, limit=RELEASE_BODY_LIMIT),
                draft=release.draft,
                prerelease=release.prerelease,
            ),
            idempotent=True,
        )
        return self._release_result(updated)

    def publish(
        self,
        tag: str,
        *,
        name: str,
        body: str,
        assets: Sequence[Path] = (),
        target_commitish: str | None = None,
        prerelease: bool = False,
        draft: bool = False,
    ) -> ReleaseResult:
        """Release `tag` with `assets`, completing whatever an earlier run left.

        The order (draft, assets, notes, publish) means a run that dies half-way
        leaves a draft that the next run finds and completes.
        """
        release = self._ensure_release(
            tag, name=name, body=body, target_commitish=target_commitish, prerelease=prerelease
        )
        uploaded = tuple(self._upload(release, Path(p), Path(p).name) for p in assets)
        if (release.body or "") != fit(body, limit=RELEASE_BODY_LIMIT):
            self.update_release_notes(release.id, body)
        result = (
            self._release_result(self._get_release(release.id))
            if draft
            else self.publish_release(release.id)
        )
        return ReleaseResult(result.id, result.tag, result.url, result.draft, uploaded)

    @staticmethod
    def _release_result(release: GitRelease) -> ReleaseResult:
        return ReleaseResult(release.id, release.tag_name, release.html_url, release.draft)
