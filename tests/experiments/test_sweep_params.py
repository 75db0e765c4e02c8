"""Writing one cell's values into params files: other keys, order and comments kept."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
import yaml

from mlops_ci.core.experiments import SweepError
from mlops_ci.services.sweep import apply_params, group_assignments

PARAMS = """\
# data split
prepare:
  test_size: 0.25   # a quarter for testing
  seed: 42
train:
  seed: 7
  model:
    n_estimators: 40
    max_depth: 3
    min_samples_leaf: 4
  note: 'quoted'
"""


def test_yaml_keeps_comments_order_quotes_and_other_keys() -> None:
    out = apply_params(
        PARAMS,
        "params.yaml",
        {"train.model.max_depth": 8, "train.model.n_estimators": 120, "train.optim.lr": 0.01},
    )
    assert "# data split" in out
    assert "# a quarter for testing" in out
    assert "note: 'quoted'" in out
    data = yaml.safe_load(out)
    assert data["prepare"] == {"test_size": 0.25, "seed": 42}
    assert data["train"]["model"] == {"n_estimators": 120, "max_depth": 8, "min_samples_leaf": 4}
    assert data["train"]["optim"] == {"lr": 0.01}
    assert list(data["train"]) == ["seed", "model", "note", "optim"]
    assert list(data["train"]["model"]) == ["n_estimators", "max_depth", "min_samples_leaf"]
    # Only the changed values differ, line by line.
    changed = [
        (a, b) for a, b in zip(PARAMS.splitlines(), out.splitlines(), strict=False) if a != b
    ]
    assert changed == [
        ("    n_estimators: 40", "    n_estimators: 120"),
        ("    max_depth: 3", "    max_depth: 8"),
    ]


def test_typed_values_land_typed() -> None:
    out = apply_params(
        PARAMS, "params.yaml", {"train.a": "5", "train.b": True, "train.c": None, "train.d": [1, 2]}
    )
    train = yaml.safe_load(out)["train"]
    assert train["a"] == "5"
    assert train["b"] is True
    assert train["c"] is None
    assert train["d"] == [1, 2]


def test_json_and_toml_params() -> None:
    text = json.dumps({"b": 1, "train": {"lr": 0.1, "epochs": 3}, "a": 2}, indent=4)
    out = json.loads(apply_params(text, "params.json", {"train.lr": 0.5}))
    assert out == {"b": 1, "train": {"lr": 0.5, "epochs": 3}, "a": 2}
    assert list(out) == ["b", "train", "a"]
    toml_text = "# top\n[train]\nlr = 0.1 # rate\nepochs = 3\n"
    toml_out = apply_params(toml_text, "params.toml", {"train.lr": 0.5})
    assert "# rate" in toml_out
    assert tomllib.loads(toml_out) == {"train": {"lr": 0.5, "epochs": 3}}


def test_an_empty_file_gets_the_keys() -> None:
    assert yaml.safe_load(apply_params("", "params.yaml", {"a.b": 1})) == {"a": {"b": 1}}


def test_descending_into_a_value_is_refused() -> None:
    with pytest.raises(SweepError, match=r"train\.seed is a value"):
        apply_params(PARAMS, "params.yaml", {"train.seed.x": 1})


def test_keys_are_grouped_by_file() -> None:
    grouped = group_assignments(
        {"train.lr": 1, "conf/extra.yaml:model.depth": 3, "params.yaml:train.seed": 2},
        "params.yaml",
    )
    assert grouped == {
        "params.yaml": {"train.lr": 1, "train.seed": 2},
        "conf/extra.yaml": {"model.depth": 3},
    }


def test_a_params_file_outside_the_repository_fails_the_run_and_writes_nothing(
    sample_project: Any, tmp_path: Any
) -> None:
    from mlops_ci.services.sweep import RunRequest, run_cell

    outside = sample_project.root.parent / "outside.yaml"
    outcome = run_cell(
        RunRequest(
            root=sample_project.root,
            assignments={"../outside.yaml:a": 1},
            cell_id="r01",
            output=tmp_path / "bundle",
        )
    )
    assert outcome.record.status == "failed"
    assert "inside the repository" in (outcome.record.error or "")
    assert not outside.exists()
    assert json.loads((tmp_path / "bundle" / "record.json").read_text())["status"] == "failed"
