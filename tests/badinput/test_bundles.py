"""Fork bundles `mlops-ci post` must reject: over the size cap, not regular files,
symlinks, the wrong schema or schema version, for another repository, pull request,
commit or run, and report data crafted to inject Markdown/HTML into the comment.

The valid bundle they are made from is a real one: `mlops-ci report --publish artifact`
on a fork pull request of a tiny repository (checked to post fine, as the control).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github_data import github_data

from mlops_ci.services.report import ReportRequest, generate_report
from mlops_ci.services.shared.job import Job

from .harness import run_case
from .repos import commit, config_yaml, git, make_repo

PAYLOADS = github_data("payloads")
REPOSITORY = "octo-org/octo-repo"
FORK = "forker/octo-repo"
RUN_ID = 9191
PR_NUMBER = 12


@pytest.fixture(scope="session")
def fork_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real bundle from a fork PR's report, and the commits it is about."""
    payloads_dir = PAYLOADS
    base = tmp_path_factory.mktemp("badinput-bundle")
    root = make_repo(
        base / "repo",
        {"metrics.json": '{"accuracy": 0.91}\n', "mlops-ci.yaml": config_yaml()},
    )
    main_sha = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "tune")
    head_sha = commit(root, {"metrics.json": '{"accuracy": 0.93}\n'}, "tune")
    payload = json.loads((payloads_dir / "pull_request.synchronize.json").read_text())
    pr = payload["pull_request"]
    payload["number"] = pr["number"] = PR_NUMBER
    payload["repository"]["full_name"] = pr["base"]["repo"]["full_name"] = REPOSITORY
    pr["head"]["repo"]["full_name"] = FORK
    pr["base"].update(ref="main", sha=main_sha)
    pr["head"].update(ref="tune", sha=head_sha)
    event = base / "event.json"
    event.write_text(json.dumps(payload))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_RUN_ID": str(RUN_ID),
    }
    outcome = generate_report(
        ReportRequest(root=root, run=False, publish="auto", output=base / "out"),
        Job.from_environ(env),
    )
    assert outcome.bundle_dir is not None
    return {
        "trusted": base / "trusted",
        "metadata": json.loads((outcome.bundle_dir / "metadata.json").read_text()),
        "report": json.loads((outcome.bundle_dir / "report.json").read_text()),
        "head_sha": head_sha,
    }


def _trusted(fork_bundle: dict[str, Any]) -> Path:
    trusted: Path = fork_bundle["trusted"]
    if not trusted.exists():
        trusted.mkdir()
        (trusted / "mlops-ci.yaml").write_text(config_yaml())
    return trusted


def _workflow_run_env(
    tmp_path: Path, payloads_dir: Path, head_sha: str, pulls: list[int] | None = None
) -> dict[str, str]:
    payload = json.loads((payloads_dir / "workflow_run.completed.json").read_text())
    payload["repository"]["full_name"] = REPOSITORY
    run = payload["workflow_run"]
    run.update(id=RUN_ID, head_sha=head_sha, event="pull_request", name="PR report")
    run["pull_requests"] = [
        {"number": n, "id": n, "url": f"https://api.github.com/repos/{REPOSITORY}/pulls/{n}",
         "head": {"ref": "tune", "sha": head_sha, "repo": {"id": 1, "url": "", "name": "x"}},
         "base": {"ref": "main", "sha": "0" * 40, "repo": {"id": 1, "url": "", "name": "x"}}}
        for n in (pulls if pulls is not None else [PR_NUMBER])
    ]  # fmt: skip
    event = tmp_path / "workflow_run.json"
    event.write_text(json.dumps(payload))
    return {
        "GITHUB_EVENT_NAME": "workflow_run",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": REPOSITORY,
    }


def _write_bundle(directory: Path, metadata: Any, report: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in (("metadata.json", metadata), ("report.json", report)):
        if isinstance(value, bytes):
            (directory / name).write_bytes(value)
        elif value is not None:
            (directory / name).write_text(json.dumps(value))
    return directory


def test_the_real_bundle_posts(
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control: the unmodified bundle passes every check (dry run)."""
    from mlops_ci.cli import main

    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], fork_bundle["report"])
    for key, value in _workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as info:
        main(["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run"])
    out = capsys.readouterr().out
    assert info.value.code == 0, out
    assert "accuracy" in out
    assert "Verdict: pass" in out


Mutation = Callable[[dict[str, Any], dict[str, Any]], tuple[Any, Any]]


def _meta(**changes: Any) -> Mutation:
    def mutate(metadata: dict[str, Any], report: dict[str, Any]) -> tuple[Any, Any]:
        return {**metadata, **changes}, report

    return mutate


def _report(change: Callable[[dict[str, Any]], Any]) -> Mutation:
    def mutate(metadata: dict[str, Any], report: dict[str, Any]) -> tuple[Any, Any]:
        return metadata, change(copy.deepcopy(report))

    return mutate


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(report: dict[str, Any]) -> Any:
        report[key] = value
        return report

    return change


def _metric(**fields: Any) -> Callable[[dict[str, Any]], Any]:
    def change(report: dict[str, Any]) -> Any:
        report["metrics"][0].update(fields)
        return report

    return change


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "schema_version_2": (_meta(schema_version=2), "schema_version"),
    "metadata_unknown_field": (_meta(artifact_url="https://evil.example"), "artifact_url"),
    "another_repository": (_meta(repository="someone/else"), "someone/else"),
    "repository_traversal": (_meta(repository="../../etc"), "repository"),
    "another_pull_request": (_meta(pr_number=PR_NUMBER + 1), "not a pull request"),
    "pr_number_zero": (_meta(pr_number=0), "pr_number"),
    "pr_number_huge": (_meta(pr_number=10**30), "pr_number"),
    "pr_number_text": (_meta(pr_number="12; drop"), "pr_number"),
    "another_commit": (_meta(head_sha="b" * 40), "head commit"),
    "short_sha": (_meta(head_sha="abc123"), "head_sha"),
    "uppercase_sha": (_meta(head_sha="A" * 40), "head_sha"),
    "another_run": (_meta(run_id=RUN_ID + 1), "run"),
    # A null, missing, boolean or empty run id once skipped the check of the run.
    "run_id_null": (_meta(run_id=None), "run_id"),
    "run_id_missing": (lambda m, r: ({k: v for k, v in m.items() if k != "run_id"}, r),
                       "run_id"),
    "run_id_true": (_meta(run_id=True), "run_id"),
    "run_id_empty": (_meta(run_id=""), "run_id"),
    "run_id_zero": (_meta(run_id=0), "run_id"),
    # `true` was PR #1, `12.0` and `"12"` were PR #12.
    "pr_number_true": (_meta(pr_number=True), "pr_number"),
    "pr_number_float": (_meta(pr_number=float(PR_NUMBER)), "pr_number"),
    "pr_number_string": (_meta(pr_number=str(PR_NUMBER)), "pr_number"),
    "schema_version_true": (_meta(schema_version=True), "schema_version"),
    # A key given twice: one parser reads the first, another the last. Refused.
    "metadata_duplicate_key": (
        lambda m, r: (json.dumps(m)[:-1].encode() + b', "pr_number": 1}', r), "duplicate key"),
    "report_duplicate_key": (
        lambda m, r: (m, json.dumps(r)[:-1].encode() + b', "verdict": "pass"}'), "duplicate key"),
    "report_nested_duplicate_key": (
        lambda m, r: (m, json.dumps(r).replace('"key": ', '"key": "x", "key": ', 1).encode()),
        "duplicate key"),
    # JSON has no NaN token (the report writes the string "NaN"): refused, not guessed.
    "report_bare_nan": (
        lambda m, r: (m, json.dumps(r).replace('"mlops-ci"', "NaN", 1).encode()), "NaN"),
    "metadata_is_a_list": (lambda m, r: ([m], r), "metadata.json"),
    "metadata_truncated": (lambda m, r: (json.dumps(m)[:40].encode(), r), "metadata.json"),
    "metadata_not_utf8": (lambda m, r: (b'{"repository": "\xff\xfe"}', r), "metadata.json"),
    "report_schema_version_2": (_report(_set("schema_version", 2)), "schema_version"),
    "report_unknown_field": (_report(_set("markdown", "<script>x</script>")), "markdown"),
    "report_metrics_not_a_list": (_report(_set("metrics", {"accuracy": 1})), "metrics"),
    "report_bad_status": (_report(_metric(status="exploded")), "status"),
    "report_key_too_long": (_report(_metric(key="k" * 5000)), "key"),
    "report_truncated": (lambda m, r: (m, json.dumps(r)[:100].encode()), "report.json"),
    "report_deeply_nested": (
        lambda m, r: (m, b'{"trend": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001),
        "report.json",
    ),
    "report_not_json": (lambda m, r: (m, b"# Report\n<img src=x onerror=alert(1)>\n"),
                        "report.json"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_bundle_with_bad_content(
    name: str,
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mutate, names = MUTATIONS[name]
    metadata, report = mutate(fork_bundle["metadata"], fork_bundle["report"])
    bundle = _write_bundle(tmp_path / "bundle", metadata, report)
    run_case(
        "bundle",
        name,
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[bundle, _trusted(fork_bundle)], expect=[1], message=names,
    )  # fmt: skip


def _oversized_report(bundle: Path) -> None:
    with (bundle / "report.json").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk


def _oversized_metadata(bundle: Path) -> None:
    (bundle / "metadata.json").write_bytes(b" " * (5 * 1024 * 1024))


def _symlinked_report(bundle: Path) -> None:
    target = bundle.parent / "elsewhere.json"
    (bundle / "report.json").rename(target)
    (bundle / "report.json").symlink_to(target)


def _symlinked_metadata_to_system_file(bundle: Path) -> None:
    (bundle / "metadata.json").unlink()
    (bundle / "metadata.json").symlink_to("/etc/passwd")


def _report_is_a_directory(bundle: Path) -> None:
    (bundle / "report.json").unlink()
    (bundle / "report.json").mkdir()


def _missing_report(bundle: Path) -> None:
    (bundle / "report.json").unlink()


def _missing_metadata(bundle: Path) -> None:
    (bundle / "metadata.json").unlink()


def _no_bundle(bundle: Path) -> None:
    for child in bundle.iterdir():
        child.unlink()
    bundle.rmdir()


SHAPES: dict[str, tuple[Callable[[Path], None], str]] = {
    "oversized_report_50MB": (_oversized_report, "larger than 4 MiB"),
    "oversized_metadata": (_oversized_metadata, "larger than 4 MiB"),
    "symlinked_report": (_symlinked_report, "report.json"),
    "symlink_to_system_file": (_symlinked_metadata_to_system_file, "metadata.json"),
    "report_is_a_directory": (_report_is_a_directory, "report.json"),
    "missing_report": (_missing_report, "report.json"),
    "missing_metadata": (_missing_metadata, "metadata.json"),
    "no_bundle_directory": (_no_bundle, "no such bundle directory"),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_bundle_with_bad_shape(
    name: str,
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shape, names = SHAPES[name]
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], fork_bundle["report"])
    shape(bundle)
    run_case(
        "bundle",
        name,
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[tmp_path / "bundle", _trusted(fork_bundle)], expect=[1], message=names,
    )  # fmt: skip


def test_metric_beyond_the_float_range_fails_the_trusted_gate(
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 400-digit accuracy is no number: the gate fails (it used to overflow, exit 3)."""
    report = copy.deepcopy(fork_bundle["report"])
    report["metrics"][0].update(key="accuracy", head=10**400, base=0.9, status="changed")
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], report)
    run_case(
        "bundle",
        "metric_beyond_float_range",
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run",
         "--fail-on-gate"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[bundle, _trusted(fork_bundle)], expect=[2], message="not a number",
    )  # fmt: skip


def test_run_id_argument_of_another_run(
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], fork_bundle["report"])
    run_case(
        "bundle",
        "run_id_argument_mismatch",
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run",
         "--run-id", "1"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[bundle, _trusted(fork_bundle)], expect=[1], message="--run-id 1",
    )  # fmt: skip


def test_pull_request_not_listed_and_no_token_to_ask(
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub lists no PRs for a fork's run; without a token the PR cannot be verified."""
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], fork_bundle["report"])
    run_case(
        "bundle",
        "unverifiable_pull_request",
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"], pulls=[]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[bundle, _trusted(fork_bundle)], expect=[1], message="cannot verify",
    )  # fmt: skip


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</details><script>alert(1)</script>",
    "[click me](https://evil.example)",
    "| injected | row |",
    "<!-- mlops-ci:PR report:pr-report -->",
    "@octo-org/security",
    "`rm -rf /`",
]


def test_crafted_names_are_escaped_and_the_gate_still_refuses(
    fork_bundle: dict[str, Any],
    payloads_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fork whose report.json names metrics and files with Markdown/HTML, and whose
    accuracy fails the trusted gate: refused (exit 2), and nothing of it renders raw."""
    report = copy.deepcopy(fork_bundle["report"])
    template = report["metrics"][0]
    report["metrics"] = [
        {**template, "key": "accuracy", "head": 0.1, "base": 0.9, "status": "changed"},
        *({**template, "key": name, "file": name + ".json"} for name in HOSTILE),
    ]
    report["notes"] = HOSTILE
    report["head"]["ref"] = HOSTILE[1]
    report["trend"] = {
        "branch": HOSTILE[0], "ref": HOSTILE[1], "files": [HOSTILE[2]], "metrics": HOSTILE[:2],
        "commits": [
            {"sha": name, "time": "2026-01-0" + str(i), "subject": name,
             "values": {HOSTILE[0]: 0.5 + i / 10, HOSTILE[1]: i}}
            for i, name in enumerate(HOSTILE[:3])
        ],
        "missing": {HOSTILE[3]: HOSTILE[4]},
    }  # fmt: skip
    bundle = _write_bundle(tmp_path / "bundle", fork_bundle["metadata"], report)
    run_case(
        "bundle",
        "crafted_markdown_html_names",
        ["post", "--bundle", str(bundle), "--root", str(_trusted(fork_bundle)), "--dry-run",
         "--fail-on-gate"],
        env=_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"]),
        capsys=capsys, monkeypatch=monkeypatch, tmp_path=tmp_path,
        watch=[bundle, _trusted(fork_bundle)], expect=[2], message="accuracy",
    )  # fmt: skip
    # run_case consumed the output; render again to look at the comment itself.
    from mlops_ci.services.post import post_bundle

    env = {**_workflow_run_env(tmp_path, payloads_dir, fork_bundle["head_sha"])}
    markdown = post_bundle(
        bundle, Job.from_environ(env), root=_trusted(fork_bundle), dry_run=True
    ).markdown
    # As a CommonMark renderer with raw HTML and tables on (GitHub's behaviour) sees it.
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    for raw in ("<img", "<script", 'href="https://evil', "<td>injected</td>"):
        assert raw not in html, raw
    assert html.count("<details>") == html.count("</details>")
    assert markdown.count("<!-- mlops-ci:") == 1
    assert "@octo-org/security" not in markdown  # a mention would notify the team
    assert "Trend on" not in markdown  # the bundle's own trend data is never shown
    assert "accuracy" in markdown


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_branch_name_in_the_trend_renders_as_text(name: str) -> None:
    """The trend's folded table names the branch inside an HTML block, where a code
    span is no protection: the name must arrive as text (it once arrived as raw HTML)."""
    from markdown_it import MarkdownIt

    from mlops_ci.core.metric_history import history_from_json
    from mlops_ci.report.history import render_history_markdown

    trend = {
        "branch": name, "ref": "r", "files": ["m.json"], "metrics": ["accuracy"],
        "commits": [
            {"sha": f"{i:040d}", "time": f"2026-01-0{i + 1}", "subject": "s",
             "values": {"accuracy": 0.5 + i / 10}}
            for i in range(3)
        ],
    }  # fmt: skip
    markdown = render_history_markdown(history_from_json(trend), precision=4)
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    for raw in ("<img", "<script", 'href="https://evil', "<td>injected</td>"):
        assert raw not in html, raw
    assert html.count("<details>") == html.count("</details>") == 1
    assert "@octo-org/security" not in markdown
