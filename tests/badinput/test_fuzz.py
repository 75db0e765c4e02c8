"""Hypothesis against every parser of untrusted input: each either returns what it
promises or raises our own error type, never anything else.

The round trip of valid registry tags is tests/registry/test_tags.py's; here the
rejecting side is fuzzed. Examples are bounded so that the file runs in seconds.
"""

from __future__ import annotations

import json
import string
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlops_ci.config import Config, parse_config
from mlops_ci.context import RunContext, pull_request_problem
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.core.tags import SemVer, format_tag, parse_tag
from mlops_ci.errors import ConfigError, InputError, MlopsCIError

T = TypeVar("T")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- values: JSON-like trees with the edge cases parsers trip on ---------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
CONFIG_WORDS = [
    "version", "pipeline", "run", "pull", "lock", "push", "timeout_minutes", "baseline",
    "metrics", "files", "gates", "accuracy", "direction", "min", "max", "max_drop",
    "max_drop_pct", "required", "params", "plots", "enabled", "max_points", "data",
    "models", "clf", "path", "stages", "environments", "promotion", "order", "card",
    "register", "bump", "report", "template", "comment", "marker", "precision",
    "monitor", "reference", "current", "features", "tests", "test", "threshold",
    "drift_share", "on_drift", "experiments", "grid", "sets", "max_runs", "default_branch",
]  # fmt: skip
keys = st.one_of(st.sampled_from(CONFIG_WORDS), st.text(max_size=8))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


def attempt(call: Callable[[], T], error: type[MlopsCIError]) -> T | MlopsCIError:
    """The call's value, or the error of our family it raised (anything else propagates)."""
    try:
        return call()
    except error as exc:
        return exc


def one_line(outcome: object, *names: str) -> bool:
    """True when `outcome` is our error with a one-line message naming `names`."""
    if not isinstance(outcome, MlopsCIError):
        return False
    assert "\n" not in outcome.message, outcome.message
    assert all(name in outcome.message for name in names), outcome.message
    return True


# --- tags: the rejecting side ---------------------------------------------------------

FORBIDDEN = " ~^:?*[\\\t\n\r\x00\x7fé✓"


@FAST
@given(st.text(max_size=60))
def test_parse_tag_on_any_text_returns_a_tag_or_none(text: str) -> None:
    parsed = parse_tag(text)
    if parsed is not None:
        assert parse_tag(parsed.format()) == parsed


valid_tags = st.sampled_from(
    ["clf@v1.0.0", "clf#prod#3", "clf@v1.2.3-rc.1+b.5", "dir=clf@v0.0.1!", "clf@deprecated#2",
     "a/b#staging!#10"]
)  # fmt: skip


@FAST
@given(valid_tags, st.integers(min_value=0, max_value=40), st.sampled_from(list(FORBIDDEN)))
def test_a_forbidden_character_anywhere_makes_a_tag_no_registry_tag(
    tag: str, where: int, char: str
) -> None:
    where = min(where, len(tag))
    spoiled = tag[:where] + char + tag[where:]
    assume(not (char == ":" and "=" not in spoiled[:where]))  # `dir:` is not a tag form
    assert parse_tag(spoiled) is None


@FAST
@given(valid_tags, st.integers(min_value=1, max_value=12))
def test_a_truncated_tag_is_none_or_a_shorter_valid_tag(tag: str, cut: int) -> None:
    parsed = parse_tag(tag[: max(len(tag) - cut, 0)])
    if parsed is not None:
        assert parsed.format() in tag


@FAST
@given(st.text(max_size=30))
def test_semver_parse_raises_only_value_error(text: str) -> None:
    try:
        version = SemVer.parse(text)
    except ValueError:
        assert not SemVer.is_valid(text)
    else:
        assert str(version) == text


@FAST
@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
def test_format_tag_refuses_bad_parts_with_value_error(
    artifact: str, version: str, stage: str
) -> None:
    from mlops_ci.core.tags import Action

    for action in Action:
        try:
            text = format_tag(artifact, action, version=version, stage=stage)
        except ValueError:
            continue
        assert parse_tag(text) is not None


# --- config -----------------------------------------------------------------------------

yamlish = st.text(
    alphabet=string.ascii_letters[:12] + string.digits[:4] + " :-[]{},#&*!|>'\"\n\t.%@`?",
    max_size=120,
)


def _config_or_error(text: str | bytes) -> None:
    outcome = attempt(lambda: parse_config(text, "fuzz.yaml"), ConfigError)
    assert one_line(outcome, "fuzz.yaml") or isinstance(outcome, Config)


@FAST
@given(yamlish)
def test_config_from_yamlish_text(text: str) -> None:
    _config_or_error(text)


@FAST
@given(st.dictionaries(keys, trees, max_size=5))
def test_config_from_random_nested_mappings(data: dict[str, Any]) -> None:
    _config_or_error(yaml.safe_dump(data, allow_unicode=True))


@FAST
@given(st.binary(max_size=200))
def test_config_from_random_bytes(raw: bytes) -> None:
    _config_or_error(raw)


# --- metrics and params -------------------------------------------------------------------

SUFFIXES = ["m.json", "m.yaml", "m.yml", "m.toml", "m.csv", "m.tsv", "metrics"]


def _mapping_or_input_error(raw: bytes | str, path: str) -> None:
    for parse in (parse_metrics, parse_params):
        outcome = attempt(lambda parse=parse: parse(raw, path), InputError)  # type: ignore[misc]
        assert one_line(outcome, path) or isinstance(outcome, dict)


@FAST
@given(st.binary(max_size=300), st.sampled_from(SUFFIXES))
def test_metrics_and_params_from_random_bytes(raw: bytes, path: str) -> None:
    _mapping_or_input_error(raw, path)


@FAST
@given(trees, st.sampled_from(["m.json", "m.yaml"]))
def test_metrics_and_params_from_random_trees(tree: Any, path: str) -> None:
    text = json.dumps(tree) if path.endswith(".json") else yaml.safe_dump(tree)
    _mapping_or_input_error(text, path)


toml_lines = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k} = {v}", st.text(string.ascii_letters + "._-\"' ", max_size=8),
                  st.sampled_from(["1", "1.5", "nan", "inf", "true", '"x"', "[1, 2", "{a = 1}",
                                   "1979-05-27", "0x1F", "1e999", "9" * 30, "'''", ""])),
        st.builds(lambda t: f"[{t}]", st.text(string.ascii_letters + ".[]", max_size=8)),
        st.text(max_size=10),
    ),
    max_size=6,
)  # fmt: skip


@FAST
@given(toml_lines)
def test_metrics_and_params_from_random_toml(lines: list[str]) -> None:
    _mapping_or_input_error("\n".join(lines), "m.toml")


cells = st.one_of(
    st.sampled_from(["1", "0.5", "NaN", "inf", "-Infinity", "1e999", "", '"', '"a,b"']),
    st.text(max_size=6),
)


@FAST
@given(st.lists(st.lists(cells, max_size=5), max_size=5), st.sampled_from([",", "\t"]))
def test_metrics_from_random_tables(rows: list[list[str]], delimiter: str) -> None:
    text = "\n".join(delimiter.join(row) for row in rows)
    _mapping_or_input_error(text, "m.csv" if delimiter == "," else "m.tsv")


# --- event payloads -------------------------------------------------------------------------

EVENTS = ["pull_request", "pull_request_target", "push", "workflow_run", "release", "create",
          "issue_comment", ""]  # fmt: skip
PR_WORDS = ["pull_request", "head", "base", "sha", "ref", "repo", "full_name", "number",
            "workflow_run", "release", "tag_name", "ref_type", "repository", "issue"]  # fmt: skip
payload_keys = st.one_of(st.sampled_from(PR_WORDS), st.text(max_size=5))
payloads = st.recursive(
    scalars,
    lambda children: st.dictionaries(payload_keys, children, max_size=4),
    max_leaves=20,
)


@FAST
@given(st.one_of(st.binary(max_size=200), payloads.map(lambda p: json.dumps(p).encode())),
       st.sampled_from(EVENTS))  # fmt: skip
def test_run_context_from_random_payloads(raw: bytes, event_name: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "event.json"
        path.write_bytes(raw)
        env = {"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(path)}
        ctx = attempt(lambda: RunContext.from_environ(env), InputError)
        if one_line(ctx, str(path)):
            return
    assert isinstance(ctx, RunContext)
    problem = pull_request_problem(ctx.event_name, ctx.event)
    assert problem is None or isinstance(problem, str)
    assert ctx.tag is None or isinstance(ctx.tag, str)
    assert ctx.pr_number is None or isinstance(ctx.pr_number, int)


# --- fork bundles -----------------------------------------------------------------------------

SHA = "c" * 40
METADATA_WORDS = ["schema_version", "repository", "pr_number", "head_sha", "run_id"]
REPORT_WORDS = ["schema_version", "metrics", "params", "gates", "verdict", "head", "base",
                "file", "key", "status", "delta", "notes", "plots", "data", "trend"]  # fmt: skip
metadata_values = st.one_of(
    scalars, st.sampled_from(["octo/repo", "other/repo", SHA, "C" * 40, 7, 1, 2])
)
metadata = st.one_of(
    st.fixed_dictionaries(
        {"repository": st.sampled_from(["octo/repo", "other/repo", "octo/repo/x", ""]),
         "pr_number": st.one_of(st.integers(min_value=-2, max_value=10), st.just(10**12)),
         "head_sha": st.sampled_from([SHA, "d" * 40, "C" * 40, "abc"])},
        optional={"schema_version": st.integers(0, 3), "run_id": st.one_of(
            st.none(), st.integers(0, 100), st.text(max_size=4))},
    ),
    st.dictionaries(st.one_of(st.sampled_from(METADATA_WORDS), st.text(max_size=4)),
                    metadata_values, max_size=6),
    trees,
)  # fmt: skip
report_trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(REPORT_WORDS), st.text(max_size=4)), children,
                        max_size=4),
    ),
    max_leaves=20,
)  # fmt: skip
runs = st.fixed_dictionaries(
    {"id": st.sampled_from([5, "5", None]), "head_sha": st.sampled_from([SHA, "", None])},
    optional={"pull_requests": st.lists(
        st.one_of(st.fixed_dictionaries({"number": st.integers(-1, 8)}), scalars), max_size=3)},
)  # fmt: skip


@SLOW
@given(metadata, st.one_of(report_trees, st.just({})), st.one_of(runs, scalars),
       st.sampled_from([None, "5", "6"]))  # fmt: skip
def test_bundle_reader_and_verifier_raise_only_our_errors(
    meta: Any, report: Any, run: Any, run_id: str | None
) -> None:
    from mlops_ci.services.post import read_bundle, verify_bundle

    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch)
        (bundle / "metadata.json").write_text(json.dumps(meta))
        (bundle / "report.json").write_text(json.dumps(report))
        read = attempt(lambda: read_bundle(bundle), InputError)
        if one_line(read):
            return
    assert isinstance(read, tuple)
    parsed = read[0]
    ctx = RunContext(event_name="workflow_run", event={"workflow_run": run},
                     repository="octo/repo")  # fmt: skip
    verified = attempt(
        lambda: verify_bundle(parsed, ctx, run_id, pull_head=lambda n: SHA if n == 7 else None),
        InputError,
    )
    if one_line(verified):
        return
    assert isinstance(verified, Mapping)
    assert verified["head_sha"] == parsed.head_sha
    assert parsed.repository == "octo/repo"


# --- monitoring data ------------------------------------------------------------------------------


@SLOW
@given(st.one_of(st.binary(max_size=300),
                 st.lists(st.lists(cells, min_size=1, max_size=4), max_size=6).map(
                     lambda rows: "\n".join(",".join(r) for r in rows).encode())),
       st.sampled_from(["d.csv", "d.tsv", "d.parquet", "d.csv.gz"]))  # fmt: skip
def test_table_reader_raises_only_input_errors(raw: bytes, name: str) -> None:
    from mlops_ci.adapters.tables import Table, read_table

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(raw)
        table = attempt(lambda: read_table(str(path), root=Path(scratch)), InputError)
        if one_line(table):
            return
    assert isinstance(table, Table)
    assert all(isinstance(name, str) for name in table.columns)


# --- the command line, end to end ---------------------------------------------------------------


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlops_ci.services.shared import registry as registry_service

    from .repos import GOOD_METRICS, config_yaml, make_repo

    root = make_repo(
        tmp_path_factory.mktemp("fuzz-release") / "repo",
        {"metrics.json": GOOD_METRICS, "mlops-ci.yaml": config_yaml(metrics="metrics.json")},
    )
    registry_service.register(root, "clf", version="v1.0.0")
    return root


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.one_of(st.text(max_size=40), valid_tags,
                 valid_tags.map(lambda t: t.replace("clf", "other"))))  # fmt: skip
def test_release_with_any_tag_text_is_one_clear_line(
    text: str, registered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_ci.cli import main

    assume(text != "clf@v1.0.0" and not text.startswith("-") and "\x00" not in text)
    with pytest.raises(SystemExit) as info:
        main(["release", "--tag", text, "--dry-run", "--root", str(registered)])
    err = capsys.readouterr().err
    assert info.value.code in (1, 2), err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines
    assert lines[0].startswith(("error: ", "refused: "))
    assert all(line.startswith("hint: ") for line in lines[1:])
    assert len(lines) <= 2


def test_our_errors_are_one_family() -> None:
    """What the properties above accept as 'our error' is the CLI's one-line family."""
    assert issubclass(InputError, MlopsCIError)
    assert issubclass(ConfigError, MlopsCIError)
