"""The tag grammar: round trips, GTO's own parser as a cross-check, bumps and counters."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.core.tags import (
    Action,
    RegistryTag,
    SemVer,
    format_tag,
    is_valid_artifact,
    next_counter,
    next_version,
    parse_tag,
)

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
names = st.builds(
    lambda first, middle, last: first + middle + last if middle or last else first,
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + "-/_", max_size=8),
    st.text(alphabet=_ALNUM, max_size=1),
).filter(lambda n: re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?", n) is not None)
dirnames = st.text(alphabet=_ALNUM + "-_./", min_size=1, max_size=8)
artifacts = st.one_of(names, st.builds(lambda d, n: f"{d}:{n}", dirnames, names))
numbers = st.integers(min_value=0, max_value=10_000)
pre_ids = st.one_of(
    numbers.map(str),
    st.text(alphabet=_ALNUM + "-", min_size=1, max_size=6).filter(lambda s: not s.isdigit()),
)
build_ids = st.text(alphabet=_ALNUM + "-", min_size=1, max_size=6)
semvers = st.builds(
    SemVer,
    numbers,
    numbers,
    numbers,
    st.lists(pre_ids, max_size=3).map(tuple),
    st.lists(build_ids, max_size=2).map(tuple),
)
counters = st.one_of(st.none(), st.integers(min_value=0, max_value=10**6))


@st.composite
def registry_tags(draw: st.DrawFn) -> RegistryTag:
    action = draw(st.sampled_from(list(Action)))
    artifact = draw(artifacts)
    counter = draw(counters)
    if action in (Action.REGISTER, Action.DEREGISTER):
        return RegistryTag(artifact, action, version=str(draw(semvers)), counter=counter)
    if action in (Action.ASSIGN, Action.UNASSIGN):
        return RegistryTag(artifact, action, stage=draw(names), counter=counter)
    return RegistryTag(artifact, action, counter=counter)


@settings(max_examples=400, deadline=None)
@given(registry_tags())
def test_format_then_parse_round_trips(tag: RegistryTag) -> None:
    text = tag.format()
    parsed = parse_tag(text)
    assert parsed == tag
    assert parsed is not None
    assert parsed.format() == text


@settings(max_examples=300, deadline=None)
@given(registry_tags())
def test_gto_parses_our_tags_the_same_way(tag: RegistryTag) -> None:
    from gto.tag import parse_name

    gto = parse_name(tag.format())
    assert gto["name"] == tag.artifact
    assert gto["action"].value == tag.action.value
    assert gto.get("version") == tag.version
    assert gto.get("stage") == tag.stage
    assert gto.get("counter") == tag.counter


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALNUM + "-/_=@#!.+:v ", max_size=24))
def test_any_string_parses_like_gto(text: str) -> None:
    from gto.tag import parse_name

    ours = parse_tag(text)
    theirs = parse_name(text, raise_on_fail=False)
    if ours is None:
        # GTO matches `name@created` but records no action for it; we ignore it.
        assert not theirs or "action" not in theirs
    else:
        assert theirs["name"] == ours.artifact
        assert theirs["action"].value == ours.action.value


@settings(max_examples=300, deadline=None)
@given(semvers)
def test_semver_round_trip_and_precedence_match_python_semver(v: SemVer) -> None:
    import semver

    assert SemVer.parse(str(v)) == v
    other = semver.VersionInfo.parse(str(v)[1:])
    assert (other.major, other.minor, other.patch) == (v.major, v.minor, v.patch)


@settings(max_examples=300, deadline=None)
@given(semvers, semvers)
def test_precedence_agrees_with_semver_library(a: SemVer, b: SemVer) -> None:
    import semver

    ours = (a.precedence() > b.precedence()) - (a.precedence() < b.precedence())
    theirs = semver.VersionInfo.parse(str(a)[1:]).compare(str(b)[1:])
    assert ours == theirs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("model@v1.2.0", RegistryTag("model", Action.REGISTER, version="v1.2.0")),
        ("model@v1.2.0!", RegistryTag("model", Action.DEREGISTER, version="v1.2.0")),
        ("model@v1.2.0-rc.1+b.7", RegistryTag("model", Action.REGISTER, version="v1.2.0-rc.1+b.7")),
        ("model#prod#3", RegistryTag("model", Action.ASSIGN, stage="prod", counter=3)),
        ("model#prod!#4", RegistryTag("model", Action.UNASSIGN, stage="prod", counter=4)),
        ("model#prod", RegistryTag("model", Action.ASSIGN, stage="prod")),
        ("model@deprecated", RegistryTag("model", Action.DEPRECATE)),
        (
            "dir/sub.x=my/model@v0.1.0",
            RegistryTag("dir/sub.x:my/model", Action.REGISTER, version="v0.1.0"),
        ),
    ],
)
def test_known_tags(text: str, expected: RegistryTag) -> None:
    assert parse_tag(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "v1.0.0",
        "model@1.0.0",
        "model@v1.0",
        "model@v01.0.0",
        "-model@v1.0.0",
        "model-@v1.0.0",
        "model#prod#x",
        "model@deprecated!",
        "model@created",
        "model@v1.0.0-",
        "model#-prod#1",
        "release-2024",
        "model@latest",
    ],
)
def test_not_registry_tags(text: str) -> None:
    assert parse_tag(text) is None


def test_format_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="artifact"):
        format_tag("-bad", Action.DEPRECATE)
    with pytest.raises(ValueError, match="version"):
        format_tag("m", Action.REGISTER, version="1.0.0")
    with pytest.raises(ValueError, match="stage"):
        format_tag("m", Action.ASSIGN, stage="pro d")
    assert is_valid_artifact("a")
    assert is_valid_artifact("dir.x/y:m-1")
    assert not is_valid_artifact("m:")


def test_next_counter_is_shared_across_stages_and_ignores_other_artifacts() -> None:
    tags = ["m#prod#3", "m#staging!#7", "m@v1.0.0", "other#prod#40", "m@deprecated#2", "junk#9"]
    assert next_counter("m", tags) == 8
    assert next_counter("other", tags) == 41
    assert next_counter("new", tags) == 1


def test_bumps() -> None:
    assert SemVer.parse("v1.2.3-rc.1+x").bump("major") == SemVer(2, 0, 0)
    assert str(SemVer.parse("v1.2.3").bump("minor")) == "v1.3.0"
    assert str(SemVer.parse("v1.2.3").bump("patch")) == "v1.2.4"
    assert next_version([], "patch") == "v0.0.1"
    assert next_version(["v1.9.0", "v1.10.0", "v2.0.0-rc.1", "sha"], "minor") == "v2.1.0"
    with pytest.raises(ValueError, match="bump"):
        SemVer(1, 0, 0).bump("huge")  # type: ignore[arg-type]
