"""The mlops-ci release this package was built from: the commit and the tag that
`mlops-ci init` pins the reusable workflows to (`...@<RELEASE_COMMIT> # <RELEASE_TAG>`).

Both are None in the source tree. The release job of tag vX.Y.Z stamps them into its
build checkout right before it builds the wheel and the sdist (docs/workflows.md,
"Pinning the reusable workflows"); a commit cannot hold its own SHA, so the stamp is
never committed. Keep each assignment on one line: the stamp rewrites these lines.
"""

RELEASE_COMMIT: str | None = None
RELEASE_TAG: str | None = None
