"""`mlops-ci on-tag`: act on a registry tag someone pushed, as the registry's guard.

A tag arrives by `push`, `create` or `release: published` (or `--tag`). The tags are
fetched again first with `git fetch --force --tags origin`, because actions/checkout
turns the triggering annotated tag into a lightweight copy. Then the tag is parsed
with the GTO grammar (`core.tags`) and dispatched:

- a version tag → the release (`services.release.release`);
- a stage assign tag → the promotion policy (`core.promotion.plan_promotion`, with
  facts from `services.promote.gather_facts`) judged against the registry *without*
  this tag (nor earlier assigns of the same stage to the same version, so a repeated
  bad tag is refused again), then a Deployment to the stage's environment and fresh
  release notes;
- an unassign, deregister or deprecate tag → the environment's latest deployment of
  that version marked inactive and the release notes refreshed;
- anything else (not in the grammar, or a lightweight tag) → ignored, said plainly.

A pushed tag cannot be taken back by us, and a tag that breaks the policy must not
pass quietly: the run is refused (exit 2) with the reason, nothing is deployed, and
one issue per model (found by a hidden marker) says which tag broke which rule and
how to roll back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlops_ci.adapters.git import Git
from mlops_ci.core.promotion import plan_promotion
from mlops_ci.core.registry import ArtifactState, GitTagRecord, build_state
from mlops_ci.core.tags import Action, RegistryTag, SemVer, format_tag, next_counter, parse_tag
from mlops_ci.errors import GitError, GitHubError, InputError, PolicyRefused, RefusedError
from mlops_ci.services.shared.registry import Registry, TagOutcome, open_registry

ISSUE_LABELS = ("mlops-ci", "registry")

Kind = Literal["ignored", "release", "promotion", "retirement"]


@dataclass
class OnTagResult:
    """What `on-tag` did with one tag."""

    tag: str
    kind: Kind
    model: str | None = None
    version: str | None = None
    stage: str | None = None
    reason: str = ""
    lines: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "kind": self.kind,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "reason": self.reason,
            **self.details,
        }


def issue_marker(model: str) -> str:
    """The hidden marker that finds a model's registry-policy issue again."""
    safe = re.sub(r"[^A-Za-z0-9_.\-/:=]", "_", model)[:100] or "model"
    return f"<!-- mlops-ci:registry-policy model={safe} -->"


def fetch_tags(git: Git) -> bool:
    """`git fetch --force --tags origin` when there is an origin; True when it ran.

    `--force` lets the remote's annotated tag replace the lightweight copy that
    actions/checkout made of the triggering tag.
    """
    if not git.has_remote():
        return False
    proc = git.run("fetch", "--quiet", "--force", "--tags", "origin", check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"cannot fetch tags from origin: {detail[-1] if detail else proc.returncode}",
            hint="the job needs `contents: read` and a checkout with fetch-depth: 0",
        )
    return True


def on_tag(
    root: Path,
    tag: str | None = None,
    *,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> OnTagResult:
    """Handle the pushed registry tag ``tag`` (default: the one that triggered the run)."""
    from mlops_ci.context import RunContext

    env = os.environ if env is None else env
    context = RunContext.from_environ(env)
    tag = tag or context.tag
    if not tag:
        raise InputError(
            "pass --tag TAG (no tag push, tag creation or published release triggered this run)"
        )
    git = Git(root)
    if not git.is_repo():
        raise InputError(f"{root}: not a git repository", hint="run inside your project's clone")
    fetched = fetch_tags(git)
    parsed = parse_tag(tag)
    if parsed is None:
        return OnTagResult(
            tag, "ignored", reason=f"{tag!r} is not a registry tag (GTO grammar): nothing to do"
        )
    reg = open_registry(root)
    record = next((r for r in reg.records if r.name == tag), None)
    if record is None:
        raise InputError(
            f"tag {tag!r} does not exist in this clone",
            hint="check out with fetch-tags: true, or fetch tags from origin",
        )
    if record.object_type != "tag" or record.target_type != "commit" or record.time is None:
        return OnTagResult(
            tag,
            "ignored",
            model=parsed.artifact,
            reason=f"{tag!r} is a lightweight tag, not a registry tag "
            "(registry tags are annotated; GTO ignores lightweight ones): nothing to do",
        )
    handler = _Handler(reg, record, parsed, context, dry_run=dry_run, env=env)
    result = handler.run()
    if fetched:
        result.lines.insert(0, "fetched tags from origin (git fetch --force --tags)")
    return result


class _Handler:
    """One annotated registry tag, with the registry around it."""

    def __init__(
        self,
        reg: Registry,
        record: GitTagRecord,
        parsed: RegistryTag,
        context: Any,
        *,
        dry_run: bool,
        env: Mapping[str, str],
    ) -> None:
        self.reg = reg
        self.record = record
        self.parsed = parsed
        self.context = context
        self.dry_run = dry_run
        self.env = env
        self.model = parsed.artifact
        self.tag = record.name
        # The registry as it was before this tag: what the tag is judged against.
        self.before: ArtifactState | None = build_state(
            r for r in reg.records if r.name != self.tag
        ).artifact(self.model)
        event = next(
            (e for e in (reg.artifact(self.model) or _empty()).events if e.tag == self.tag), None
        )
        self.version = event.version if event is not None else parsed.version

    @property
    def can_post(self) -> bool:
        return not self.dry_run and self.context.token is not None and bool(self.context.repository)

    def github(self) -> Any:
        from mlops_ci.adapters.github import GitHubRepo

        return GitHubRepo(
            self.context.token.get_secret_value(), self.context.repository, self.context.api_url
        )

    def run(self) -> OnTagResult:
        action = self.parsed.action
        if action is Action.REGISTER:
            return self.release()
        if action is Action.ASSIGN:
            return self.promotion()
        return self.retirement()

    # --- version tags -------------------------------------------------------------------

    def release(self) -> OnTagResult:
        from mlops_ci.services.shared.release import release

        try:
            data = release(self.reg.root, self.tag, dry_run=self.dry_run, env=self.env)
        except RefusedError as exc:
            raise self.refuse([exc.message], exc) from None
        return OnTagResult(
            self.tag,
            "release",
            model=self.model,
            version=self.version,
            reason=f"version tag: released {self.tag}",
            lines=list(data.get("lines", [])),
            details={"release": {k: v for k, v in data.items() if k != "lines"}},
        )

    # --- stage tags -----------------------------------------------------------------------

    def promotion(self) -> OnTagResult:
        from mlops_ci.services.shared.promote import gather_facts
        from mlops_ci.services.shared.verify import verify

        stage = self.parsed.stage or ""
        commit = self.record.commit
        # Judged as if this version had never been given this stage: a repeat of a refused
        # tag is refused again, not waved through as "already holds the stage".
        same = {
            e.tag
            for e in (self.reg.artifact(self.model) or _empty()).events
            if e.action is Action.ASSIGN and e.stage == stage and e.version == self.version
        }
        judged = build_state(r for r in self.reg.records if r.name not in same).artifact(self.model)
        state = judged.versions.get(self.version or "") if judged else None
        registered = state is not None and state.registered
        refusals: list[str] = []
        if registered:
            check = verify(self.reg.root, self.tag)
            if not check.ok:
                refusals.append(check.summary())
        facts, gates = gather_facts(self.reg, self.model, commit if registered else None, self.env)
        plan = plan_promotion(
            judged,
            self.model,
            stage,
            version=self.version,
            facts=facts,
            counter=self.parsed.counter or 0,
        )
        refusals += plan.refusals
        if refusals:
            raise self.refuse(refusals)
        details: dict[str, Any] = {
            "previous": plan.previous,
            "noop": plan.noop,
            "gates": gates.results if gates else [],
        }
        lines = [
            f"stage tag: {self.model} {self.version} assigned {stage} by {self.tag} at "
            f"{commit[:12]}; the promotion policy allows it"
        ]
        if self.can_post:
            from mlops_ci.services.shared.release import record_stage_on_github

            outcome = TagOutcome(self.model, "promote", self.tag, commit, self.version, stage)
            environment = self.reg.model_config(self.model).environment_for(stage)
            details["github"] = record_stage_on_github(self.reg, self.context, outcome, environment)
            lines.append(
                f"deployment to environment {environment}: {details['github']['deployment']}"
            )
            if details["github"].get("release_notes"):
                lines.append(f"release notes updated: {details['github']['release_notes']}")
        else:
            lines.append(self._local_only())
        return OnTagResult(
            self.tag,
            "promotion",
            model=self.model,
            version=self.version,
            stage=stage,
            reason="stage tag: the promotion policy allows it",
            lines=lines,
            details=details,
        )

    # --- unassign, deregister, deprecate --------------------------------------------------

    def _left_stages(self) -> list[tuple[str, str, str]]:
        """(stage, version, commit) of every stage this tag takes away."""
        before = self.before
        if before is None:
            return []
        action = self.parsed.action
        left = []
        for stage, holder in before.stages.items():
            if action is Action.UNASSIGN and (
                stage != self.parsed.stage or holder.version != self.version
            ):
                continue
            if action is Action.DEREGISTER and holder.version != self.version:
                continue
            left.append((stage, holder.version, holder.commit))
        return left

    def retirement(self) -> OnTagResult:
        action = self.parsed.action
        stage = self.parsed.stage
        what = {
            Action.UNASSIGN: f"unassign tag: {self.model} {self.version} leaves {stage}",
            Action.DEREGISTER: f"deregister tag: {self.model} {self.version} is withdrawn",
            Action.DEPRECATE: f"deprecation tag: {self.model} is deprecated",
        }[action]
        left = self._left_stages()
        lines = [what]
        if not left:
            lines.append("it held no stage before this tag: no deployment to retire")
        details: dict[str, Any] = {"stages": [s for s, _, _ in left], "deployments": []}
        if not self.can_post:
            lines.append(self._local_only())
            return self._retired(lines, details)
        gh = self.github()
        self.reg.refresh()
        config = self.reg.model_config(self.model)
        for stage, version, commit in left:
            environment = config.environment_for(stage)
            latest = gh.latest_deployment(environment)
            entry: dict[str, Any] = {"stage": stage, "environment": environment}
            if latest is None or latest.sha != commit:
                entry["deployment"] = "none of this version"
                lines.append(
                    f"{environment}: its latest deployment is not {self.model} {version}; "
                    "left as it is"
                )
            elif latest.state == "inactive":
                entry.update(deployment="already inactive", deployment_id=latest.id)
                lines.append(f"{environment}: deployment {latest.id} is already inactive")
            else:
                gh.mark_deployment_inactive(
                    latest.id, description=f"{self.model} {version} left {stage} ({self.tag})"
                )
                entry.update(deployment="inactive", deployment_id=latest.id)
                lines.append(f"{environment}: deployment {latest.id} marked inactive")
            details["deployments"].append(entry)
        details["release_notes"] = self._refresh_notes(gh, {v: c for _, v, c in left})
        lines += [f"release notes updated: {url}" for url in details["release_notes"]]
        return self._retired(lines, details)

    def _refresh_notes(self, gh: Any, versions: Mapping[str, str]) -> list[str]:
        from mlops_ci.services.shared.release import refresh_release_notes

        targets = dict(versions)
        if self.version and self.version not in targets:
            current = self.reg.artifact(self.model)
            state = current.versions.get(self.version) if current else None
            if state is not None and state.registered:
                targets[self.version] = state.commit
        urls = []
        for version, commit in targets.items():
            url = refresh_release_notes(gh, self.reg, self.model, version, commit)
            if url is not None:
                urls.append(url)
        return urls

    def _retired(self, lines: list[str], details: dict[str, Any]) -> OnTagResult:
        return OnTagResult(
            self.tag,
            "retirement",
            model=self.model,
            version=self.version,
            stage=self.parsed.stage,
            reason=lines[0],
            lines=lines,
            details=details,
        )

    def _local_only(self) -> str:
        if self.dry_run:
            return "dry run: nothing was posted to GitHub"
        return "no GitHub token and repository: nothing was recorded on GitHub"

    # --- refusal ----------------------------------------------------------------------------

    def refuse(self, reasons: list[str], cause: RefusedError | None = None) -> RefusedError:
        """The refusal to raise, after opening or updating the model's issue."""
        kind = "version tag" if self.parsed.action is Action.REGISTER else "stage tag"
        message = f"{kind} {self.tag} breaks the registry policy: " + "; ".join(reasons)
        hint = self.undo_hint()
        if self.can_post:
            title, body = self.issue_text(reasons)
            try:
                issue = self.github().upsert_issue(
                    marker=issue_marker(self.model), title=title, body=body, labels=ISSUE_LABELS
                )
            except GitHubError as exc:
                # The refusal is the news; a failed issue must not turn it into exit 1.
                why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
                message += f" (the issue could not be opened: {why})"
            else:
                message += f" (issue #{issue.number} {issue.action}: {issue.url})"
        elif not self.dry_run:
            message += " (no GitHub token and repository: no issue opened)"
        error: RefusedError = (
            type(cause)(message, hint=hint) if cause is not None else PolicyRefused(message, hint)
        )
        return error

    def undo_hint(self) -> str:
        model = self.model
        if self.parsed.action is Action.REGISTER:
            return (
                f"withdraw the version: `gto deprecate {model} {self.version} --push` "
                f"(tag {self.tag}!), or fix what is missing and re-run this workflow"
            )
        stage = self.parsed.stage
        return (
            f"roll back: `mlops-ci rollback {model} --stage {stage} --push`, or push an "
            f"unassign tag: {self.unassign_command()}"
        )

    def unassign_command(self) -> str:
        """How to push the unassign tag that cancels this stage tag."""
        stage = self.parsed.stage or ""
        if self.version and SemVer.is_valid(self.version):
            return f"`gto deprecate {self.model} {self.version} {stage} --push`"
        # No registered version at the commit: gto cannot name it; git can.
        name = format_tag(
            self.model,
            Action.UNASSIGN,
            stage=stage,
            counter=next_counter(self.model, self.reg.tag_names()),
        )
        return (
            f"`git tag -a '{name}' -m 'Unassign {stage}' {self.record.commit[:12]} && "
            f"git push origin 'refs/tags/{name}'`"
        )

    def issue_text(self, reasons: list[str]) -> tuple[str, str]:
        from mlops_ci.report.escape import md_code, md_text

        model = self.model
        record = self.record
        tagger = f"{record.tagger_name} <{record.tagger_email}>".strip()
        when = record.time.isoformat() if record.time else ""
        run = self.context.run_url
        lines = [
            issue_marker(model),
            f"## A registry tag of {md_code(model)} broke the policy",
            "",
            f"The tag {md_code(self.tag)} at commit {md_code(record.commit[:12])}, "
            f"made by {md_text(tagger)} at {md_text(when)}, was **refused**"
            + (f" by [this run]({run})." if run else "."),
            "",
            "Rules it broke:",
            "",
            *[f"- {md_text(reason, 1000)}" for reason in reasons],
            "",
            "A pushed tag cannot be taken back by mlops-ci, so the registry now records "
            "something the policy does not allow. Nothing was deployed for it.",
            "",
            "**How to roll back**",
            "",
        ]
        if self.parsed.action is Action.REGISTER:
            lines += [
                f"- withdraw the version: `gto deprecate {model} {self.version} --push` "
                f"(pushes {md_code(self.tag + '!')}), or",
                "- fix what is missing (push the outputs with `dvc push`, or fix the "
                "metrics) and re-run the release workflow.",
            ]
        else:
            stage = self.parsed.stage
            lines += [
                f"- give the stage back to its previous holder: "
                f"`mlops-ci rollback {model} --stage {stage} --push`, or",
                f"- push an unassign tag: {self.unassign_command()} "
                f"(a tag `{model.replace(':', '=')}#{stage}!#N`).",
            ]
        lines += [
            "",
            "To keep this from happening, protect stage tags with a repository ruleset "
            "(see docs/registry.md, *Protecting registry tags*).",
            "",
            f"This issue is updated whenever another tag of {md_code(model)} is refused; "
            "close it when the registry is in order again.",
        ]
        title = f"Registry policy: tag {self.tag} of {model} was refused"
        return title, "\n".join(lines) + "\n"


def _empty() -> ArtifactState:
    return ArtifactState(name="", events=[], versions={}, deprecated=False, latest=None, stages={})
