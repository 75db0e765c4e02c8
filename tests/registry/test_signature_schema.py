"""`core.signature`: the schema as data, its JSON round trip, inference and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlops_ci.core.signature import (
    Feature,
    Signature,
    SignatureError,
    infer_labels,
    infer_numeric,
    plain,
)

SIGNATURE = Signature(
    (
        Feature("age", "integer"),
        Feature("income", "float", nullable=True),
        Feature("member", "boolean"),
        Feature("plan", "category", ("basic", "pro")),
        Feature("note", "string"),
    ),
    Feature("churned", "integer"),
    ("data/train.csv",),
)
GOOD = {"age": 41, "income": 5.5, "member": True, "plan": "pro", "note": "x"}


def test_json_round_trip_keeps_everything() -> None:
    text = json.dumps(SIGNATURE.to_dict())
    assert Signature.from_dict(json.loads(text)) == SIGNATURE


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"age": "41"}, "row 1, field 'age': expected an integer, got '41'"),
        ({"age": 4.5}, "row 1, field 'age': expected an integer, got 4.5"),
        ({"age": True}, "row 1, field 'age': expected an integer, got True"),
        ({"income": float("inf")}, "row 1, field 'income': expected a finite number, got inf"),
        ({"member": 1}, "row 1, field 'member': expected true or false, got 1"),
        ({"plan": "gold"}, "row 1, field 'plan': expected one of basic, pro, got 'gold'"),
        ({"note": 3}, "row 1, field 'note': expected a string, got 3"),
        ({"age": None}, "row 1, field 'age': expected a value, got nothing"),
        ({"extra": 1}, "row 1, field 'extra': not an input of the model"),
    ],
)
def test_validate_names_the_first_wrong_field(change: dict[str, object], problem: str) -> None:
    assert SIGNATURE.validate([GOOD, {**GOOD, **change}]) == problem


def test_validate_accepts_good_rows_and_declared_missing_values() -> None:
    assert SIGNATURE.validate([GOOD, {**GOOD, "income": None, "age": 3.0}]) is None
    missing = {k: v for k, v in GOOD.items() if k != "plan"}
    assert SIGNATURE.validate([missing]) == "row 0, field 'plan': missing"
    assert SIGNATURE.validate(["not a row"]) == "row 0: expected an object of features"  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "signature: expected a mapping"),
        ({"schema_version": 2, "features": []}, "schema_version: expected 1"),
        ({"schema_version": 1, "features": []}, "features: expected a non-empty list"),
        (
            {"schema_version": 1, "features": [{"name": "a", "dtype": "decimal"}]},
            "features[0].dtype: expected one of integer, float, boolean, string, category",
        ),
        (
            {"schema_version": 1, "features": [{"name": "a", "dtype": "float"}] * 2},
            "features: names must be unique",
        ),
    ],
)
def test_a_bad_document_is_one_line(document: object, problem: str) -> None:
    with pytest.raises(SignatureError) as caught:
        Signature.from_dict(document)
    assert str(caught.value) == problem


def test_inference_from_columns() -> None:
    assert infer_numeric("n", np.array([1.0, 2.0, np.nan])) == Feature("n", "integer", (), True)
    assert infer_numeric("x", np.array([1.0, 2.5])) == Feature("x", "float")
    assert infer_labels("b", ("False", "True"), np.array([0, 1])) == Feature("b", "boolean")
    assert infer_labels("c", ("b", "a"), np.array([0, -1])) == Feature(
        "c", "category", ("a", "b"), True
    )
    many = tuple(f"id{i}" for i in range(51))
    assert infer_labels("s", many, np.arange(51)) == Feature("s", "string")


def test_outputs_are_plain_and_exact() -> None:
    values = np.array([[0.1 + 0.2, 1 / 3]])
    out = plain(values)
    assert out == [[0.30000000000000004, 1 / 3]]
    assert json.loads(json.dumps(out)) == values.tolist()
    assert plain(np.int64(3)) == 3
    assert type(plain(np.int64(3))) is int
