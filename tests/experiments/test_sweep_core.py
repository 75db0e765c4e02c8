"""Sweep planning, cell text and ranking: pure functions, no repository."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_ci.config import parse_config
from mlops_ci.core import experiments as exp
from mlops_ci.errors import ConfigError


def test_grid_expands_in_key_order_last_key_fastest_then_sets_without_duplicates() -> None:
    cells = exp.expand(
        {"a.x": [1, 2], "b": ["p", "q"]},
        [{"a.x": 9}, {"a.x": 1, "b": "p"}],  # the second repeats a grid cell
    )
    assert cells == [
        {"a.x": 1, "b": "p"},
        {"a.x": 1, "b": "q"},
        {"a.x": 2, "b": "p"},
        {"a.x": 2, "b": "q"},
        {"a.x": 9},
    ]


def test_plan_numbers_cells_and_builds_the_matrix() -> None:
    sweep = exp.plan(
        {"train.model.max_depth": [3, 5], "train.model.n_estimators": [40, 80]}, max_runs=4
    )
    assert [c.id for c in sweep.cells] == ["r01", "r02", "r03", "r04"]
    assert sweep.keys == ["train.model.max_depth", "train.model.n_estimators"]
    assert sweep.matrix()["include"][0] == {
        "id": "r01",
        "set": "train.model.max_depth=3 train.model.n_estimators=40",
    }


def test_ids_widen_past_99_cells() -> None:
    sweep = exp.plan({"k": list(range(120))}, max_runs=200)
    assert sweep.cells[0].id == "r001"
    assert sweep.cells[-1].id == "r120"
    assert all(exp.CELL_ID.match(c.id) for c in sweep.cells)


def test_a_plan_over_max_runs_is_refused_with_the_numbers() -> None:
    with pytest.raises(exp.SweepError, match=r"has 9 runs, more than max_runs \(8\)"):
        exp.plan({"a": [1, 2, 3], "b": [1, 2, 3]}, max_runs=8)


def test_a_huge_product_is_refused_without_expanding_it() -> None:
    grid = {f"k{i}": list(range(10)) for i in range(9)}  # 10**9 cells
    with pytest.raises(exp.SweepError, match="more than max_runs"):
        exp.plan(grid, max_runs=256)


def test_an_empty_sweep_is_refused() -> None:
    with pytest.raises(exp.SweepError, match="empty"):
        exp.plan({}, [], max_runs=5)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("0.5", 0.5),
        ("1.0e-3", 0.001),
        ("true", True),
        ("false", False),
        ("null", None),
        ("gini", "gini"),
        ('"5"', "5"),
        ("yes", "yes"),  # YAML 1.2, as DVC reads params: not a boolean
        ("[1, 2]", [1, 2]),
        ("", ""),
        ("#not a comment", "#not a comment"),
    ],
)
def test_values_read_as_yaml_scalars(text: str, value: Any) -> None:
    assert exp.parse_value(text) == value
    assert type(exp.parse_value(text)) is type(value)


scalars = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
)
values = st.one_of(
    scalars,
    st.lists(st.one_of(st.integers(), st.text(max_size=10), st.booleans()), max_size=4),
)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}(\.[a-z][a-z0-9_]{0,8}){0,3}", fullmatch=True)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and bool(a == b)


@given(values)
def test_every_value_survives_the_trip_through_text(value: Any) -> None:
    assert _same(exp.parse_value(exp.format_value(value)), value)


@given(st.dictionaries(keys, values, min_size=1, max_size=5))
def test_a_cell_survives_the_matrix_and_the_environment(cell: dict[str, Any]) -> None:
    line = exp.format_set(cell)
    # What the workflow does: the matrix JSON, then one env variable, then shell-like words.
    carried = json.loads(json.dumps({"set": line}, ensure_ascii=True))["set"]
    back = exp.parse_set(carried)
    assert list(back) == list(cell)
    assert all(_same(back[k], cell[k]) for k in cell)


def test_a_cell_line_is_never_expanded() -> None:
    cell = {"a": "$(rm -rf /)", "b": "`id`", "c": "x; echo y", "d": "it's"}
    assert exp.parse_set(exp.format_set(cell)) == cell


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("train.lr", (None, "train.lr")),
        ("params.yaml:train.lr", ("params.yaml", "train.lr")),
        ("conf/train.json:model.depth", ("conf/train.json", "model.depth")),
    ],
)
def test_keys_may_name_their_params_file(key: str, expected: tuple[str | None, str]) -> None:
    assert exp.split_key(key) == expected


@pytest.mark.parametrize("key", ["", "a..b", "a b", "a=b", ".a", "a.", "x:'y'"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(exp.SweepError):
        exp.split_key(key)


def test_bad_assignments_are_refused() -> None:
    with pytest.raises(exp.SweepError, match="KEY=VALUE"):
        exp.parse_assignment("train.lr")
    with pytest.raises(exp.SweepError, match="cannot split"):
        exp.parse_set("a='unterminated")


def test_set_nested_creates_mappings_keeps_order_and_refuses_to_descend_into_a_value() -> None:
    data: dict[str, Any] = {"train": {"seed": 1, "model": {"depth": 3}}, "z": 1}
    exp.set_nested(data, "train.model.depth", 5)
    exp.set_nested(data, "train.optim.lr", 0.1)
    assert data == {"train": {"seed": 1, "model": {"depth": 5}, "optim": {"lr": 0.1}}, "z": 1}
    assert list(data["train"]) == ["seed", "model", "optim"]
    with pytest.raises(exp.SweepError, match=r"train\.seed is a value"):
        exp.set_nested(data, "train.seed.x", 1)


def test_rank_orders_by_direction_with_competition_ranks() -> None:
    runs = [
        ("r1", True, 0.90),
        ("r2", True, 0.95),
        ("r3", False, None),
        ("r4", True, 0.95),
        ("r5", True, math.nan),
        ("r6", True, 0.80),
    ]
    higher = exp.rank(runs, "higher")
    assert [(r.id, r.rank, r.best, r.status) for r in higher] == [
        ("r2", 1, True, "ok"),
        ("r4", 1, True, "ok"),
        ("r1", 3, False, "ok"),
        ("r6", 4, False, "ok"),
        ("r5", None, False, "no_metric"),
        ("r3", None, False, "failed"),
    ]
    lower = exp.rank(runs, "lower")
    assert [r.id for r in lower][:4] == ["r6", "r1", "r2", "r4"]
    assert lower[0].best
    assert not lower[1].best


def test_param_effects_give_best_and_mean_per_value() -> None:
    runs = [
        ({"d": 3, "n": 40}, 0.90),
        ({"d": 3, "n": 80}, 0.94),
        ({"d": 5, "n": 40}, 0.92),
        ({"d": 5, "n": 80}, 0.96),
        ({"d": 8, "n": 80}, 0.91),
    ]
    effects = exp.param_effects(runs, ["d", "n", "missing"], "higher")
    by_key = {e.key: e for e in effects}
    assert set(by_key) == {"d", "n"}
    assert by_key["d"].labels == ["3", "5", "8"]
    assert by_key["d"].best == [0.94, 0.96, 0.91]
    assert by_key["d"].mean == pytest.approx([0.92, 0.94, 0.91])
    lower = exp.param_effects(runs, ["n"], "lower")[0]
    assert lower.best == [0.90, 0.91]


# --- the config section ---------------------------------------------------------------


def test_experiments_config_reads_and_defaults() -> None:
    config = parse_config(
        "experiments:\n"
        "  grid:\n"
        "    train.model.max_depth: [3, 5]\n"
        "  sets:\n"
        "    - {train.model.criterion: entropy}\n"
        "  metric: accuracy\n"
        "  direction: higher\n"
        "  max_runs: 3\n"
    )
    assert config.experiments.grid == {"train.model.max_depth": [3, 5]}
    assert config.experiments.sets == [{"train.model.criterion": "entropy"}]
    assert parse_config("version: 1\n").experiments.max_runs == 20


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "experiments:\n  max_runs: 2\n  grid:\n    a: [1, 2]\n    b: [1, 2]\n",
            "mlops-ci.yaml:1: experiments: the sweep has 4 runs, more than max_runs (2)",
        ),
        ("experiments:\n  grid:\n    a: []\n", "grid key 'a' has no values"),
        ("experiments:\n  grid:\n    a: [1, 1]\n", "grid key 'a' lists a value twice"),
        ("experiments:\n  grid:\n    a: 3\n", "experiments.grid.a"),
        ("experiments:\n  sets: [{}]\n", "set 0 is empty"),
        ("experiments:\n  grid:\n    'a b': [1]\n", "is not a parameter key"),
        ("experiments:\n  max_runs: 300\n", "experiments.max_runs"),
        ("experiments:\n  direction: up\n", "experiments.direction"),
        ("experiments:\n  params_file: ../x.yaml\n", "escapes the repository"),
        ("experiments:\n  grids: {}\n", "did you mean 'grid'"),
    ],
)
def test_bad_experiments_config_is_one_clear_line(yaml_text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml_text)
    assert message in str(info.value)
