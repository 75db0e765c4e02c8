"""Pure parts of the report: parsing, flattening, diffing and gates (no repository)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from dvc.utils.flatten import flatten as dvc_flatten
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.config import Gate
from mlops_ci.core.formats import parse_metrics, parse_params
from mlops_ci.core.gates import evaluate
from mlops_ci.core.metrics import diff, flatten, format_delta, format_value
from mlops_ci.errors import InputError


def test_flatten_matches_dvc() -> None:
    data = {"a": {"b": {"c": 1}, "d": [1, {"x": 2}]}, "e": 3, "f": {}}
    assert flatten(data) == dvc_flatten(data)


keys = st.text(alphabet="abcxyz_", min_size=1, max_size=4)
leaves = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=3),
)
trees = st.recursive(
    leaves, lambda children: st.dictionaries(keys, children, max_size=4), max_leaves=20
)


dvc_flatten({"warm": {"up": 1}})  # import flatten_dict before hypothesis times examples


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(keys, trees, max_size=5))
def test_flatten_matches_dvc_on_random_trees(data: dict[str, object]) -> None:
    assert flatten(data) == dvc_flatten(data)


def test_diff_statuses_and_deltas() -> None:
    base = {"m.json": {"acc": 0.9, "loss": 0.3, "gone": 1, "same": 5, "name": "a", "z": 0}}
    head = {"m.json": {"acc": 0.879, "loss": 0.3, "new": 2, "same": 5, "name": "b", "z": 1}}
    rows = {r.key: r for r in diff(base, head).rows}
    assert rows["acc"].status == "changed"
    assert rows["acc"].delta == pytest.approx(-0.021)
    assert rows["acc"].delta_pct == pytest.approx(-2.3333333)
    assert rows["loss"].status == "unchanged"
    assert rows["gone"].status == "removed"
    assert rows["gone"].head is None
    assert rows["new"].status == "added"
    assert rows["new"].base is None
    assert rows["name"].status == "changed"
    assert rows["name"].delta is None
    assert rows["z"].delta == 1
    assert rows["z"].delta_pct is None


def test_nan_and_inf_are_values_not_crashes() -> None:
    base = {"m": {"a": math.nan, "b": 1.0, "c": math.inf, "d": 2.0}}
    head = {"m": {"a": math.nan, "b": math.nan, "c": math.inf, "d": -math.inf}}
    rows = {r.key: r for r in diff(base, head).rows}
    assert rows["a"].status == "unchanged"
    assert rows["b"].status == "changed"
    assert math.isnan(rows["b"].delta or 0)
    assert rows["c"].status == "unchanged"
    assert rows["d"].delta == -math.inf
    assert format_value(math.nan) == "NaN"
    assert format_value(-math.inf) == "-inf"
    assert format_delta(math.inf) == "+inf"


def test_no_baseline_and_missing_head_file() -> None:
    result = diff({}, {"m.json": {"a": 1}, "gone.json": None}, no_base={"m.json": "not in git"})
    rows = {(r.file, r.key): r for r in result.rows}
    assert rows[("m.json", "a")].status == "no_base"
    assert result.no_base == {"m.json": "not in git"}


def test_formats_like_dvc() -> None:
    assert parse_metrics('{"a": {"b": 1, "l": [1, 2], "n": null}, "s": "x"}', "m.json") == {
        "a": {"b": 1},
        "s": "x",
    }
    assert parse_params("a: 1e-3\nb: yes\nc: [1, 2]\n", "p.yaml") == {
        "a": 0.001,
        "b": "yes",
        "c": [1, 2],
    }  # YAML 1.2 like DVC's ruamel loader
    assert parse_metrics("[m]\nacc = 0.5\n", "m.toml") == {"m": {"acc": 0.5}}
    assert parse_metrics("acc,loss\n0.9,0.1\n", "m.csv") == {"acc": 0.9, "loss": 0.1}
    assert parse_metrics("acc\tloss\n0.9\t0.1\n0.8\t0.2\n", "m.tsv") == {
        "0": {"acc": 0.9, "loss": 0.1},
        "1": {"acc": 0.8, "loss": 0.2},
    }
    assert math.isnan(parse_metrics('{"a": NaN}', "m.json")["a"])


def test_bad_file_names_the_file_and_line() -> None:
    with pytest.raises(InputError, match=r"metrics\.json:2: cannot parse JSON"):
        parse_metrics('{\n "a": }', "metrics.json")
    with pytest.raises(InputError, match=r"params\.yaml"):
        parse_params("a: [1\n", "params.yaml")


def gates_for(**gates: Gate) -> dict[str, Gate]:
    return gates


def test_gates_reasons_in_words() -> None:
    result = diff(
        {"m.json": {"accuracy": 0.9, "loss": 0.2, "f1": 0.8}},
        {"m.json": {"accuracy": 0.879, "loss": 0.3, "f1": 0.85}},
    )
    summary = evaluate(
        result,
        {
            "accuracy": Gate(direction="higher", max_drop=0.01),
            "loss": Gate(direction="lower", max_drop_pct=10),
            "f1": Gate(min=0.9),
            "m.json:f1": Gate(max=0.95),
            "recall": Gate(required=True),
            "precision": Gate(required=False),
        },
    )
    by_gate = {r.gate: r for r in summary.results}
    assert by_gate["accuracy"].verdict == "fail"
    assert by_gate["accuracy"].reason == "accuracy fell 0.021, allowed 0.01"
    assert by_gate["loss"].reason == "loss rose 50%, allowed 10%"
    assert by_gate["f1"].reason == "f1 is 0.85, below the minimum 0.9"
    assert by_gate["m.json:f1"].verdict == "pass"
    assert by_gate["recall"].verdict == "fail"
    assert "missing" in by_gate["recall"].reason
    assert by_gate["precision"].verdict == "skip"
    assert summary.verdict == "fail"


def test_gate_without_baseline_is_skipped_not_failed() -> None:
    result = diff({}, {"m.json": {"acc": 0.9}}, no_base={"m.json": "baseline: none"})
    summary = evaluate(result, {"acc": Gate(max_drop=0.01)})
    assert summary.results[0].verdict == "skip"
    assert "no baseline" in summary.results[0].reason
    summary = evaluate(result, {"acc": Gate(min=0.95, max_drop=0.01)})
    assert summary.results[0].verdict == "fail"


def test_gate_on_nan_or_text_fails() -> None:
    result = diff({"m": {"a": 1.0, "b": 1}}, {"m": {"a": math.nan, "b": "oops"}})
    summary = evaluate(result, {"a": Gate(min=0), "b": Gate()})
    assert [r.verdict for r in summary.results] == ["fail", "fail"]
    assert summary.results[0].reason == "a is NaN"


def test_gate_removed_metric_fails_when_required() -> None:
    result = diff({"m": {"a": 1.0}}, {"m": {}})
    summary = evaluate(result, {"a": Gate()})
    assert summary.results[0].verdict == "fail"
    assert "missing from the head" in summary.results[0].reason


YAML_EDGE_CASES = """\
a: 1e-3
b: yes
c: 010
d: 0o17
e: 0x1F
f: .inf
g: -.Inf
h: .NaN
i: 1_000
j: ~
k:
l: 2024-01-02
m: True
n: on
o: +5
p: 1.
q: .5
r: "1"
s: [1, 2.5, null]
t: 2001-12-14t21:59:43.10-05:00
u: 0b101
v: 1:20
w: -0
x: 1e5
y: Null
z: {<<: {q: 1}, r: 2}
"""


def _same_yaml(ours: object, theirs: object) -> bool:
    if isinstance(theirs, float) and math.isnan(theirs):
        return isinstance(ours, float) and math.isnan(ours)
    return type(ours) is type(theirs) and ours == theirs


def _parse_yaml_ruamel(text: str, path: str) -> Any:
    """DVC's own reader (ruamel's safe loader), the oracle for ours."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe").load(text)
    except (ValueError, OverflowError, YAMLError) as exc:
        raise InputError(f"{path}: {exc}") from None


def test_fast_yaml_reads_like_dvcs_ruamel() -> None:
    from mlops_ci.core.formats import _parse_yaml

    ours = _parse_yaml(YAML_EDGE_CASES, "p.yaml")
    theirs = _parse_yaml_ruamel(YAML_EDGE_CASES, "p.yaml")
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert _same_yaml(ours[key], theirs[key]), (key, ours[key], theirs[key])


scalars = st.one_of(
    st.from_regex(r"[-+]?[0-9_]{1,6}(\.[0-9_]{0,4})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"0[box][0-9a-fA-F_]{1,5}", fullmatch=True),
    st.sampled_from(
        ["yes", "No", "on", "TRUE", "null", "~", ".inf", "-.INF", ".nan", "2024-02-30"]
    ),
    st.text(alphabet="abc019.-_:", min_size=1, max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(scalars)
def test_fast_yaml_scalars_match_ruamel(text: str) -> None:
    from mlops_ci.core.formats import _parse_yaml

    document = f"key: {text}\n"
    try:
        theirs = _parse_yaml_ruamel(document, "p.yaml")
    except InputError:  # e.g. an impossible date: both refuse it, with one clear line
        with pytest.raises(InputError):
            _parse_yaml(document, "p.yaml")
        return
    assert _same_yaml(_parse_yaml(document, "p.yaml")["key"], theirs["key"])


def test_duplicate_yaml_keys_are_an_error_as_in_dvc() -> None:
    with pytest.raises(InputError, match=r"params\.yaml:2: cannot parse YAML: duplicate key 'a'"):
        parse_params("a: 1\na: 2\n", "params.yaml")
